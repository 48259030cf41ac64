// Registers <pending-badge>.
import { PendingBadge } from './pending-badge.component.ts';

if (!customElements.get('pending-badge')) customElements.define('pending-badge', PendingBadge);

declare global {
  interface HTMLElementTagNameMap {
    'pending-badge': PendingBadge;
  }
}
