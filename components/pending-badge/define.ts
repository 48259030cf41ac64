// Registers <pending-badge>.
import { PendingBadgeElement } from './pending-badge.component.ts';

if (!customElements.get('pending-badge')) customElements.define('pending-badge', PendingBadgeElement);

declare global {
  interface HTMLElementTagNameMap {
    'pending-badge': PendingBadgeElement;
  }
}
