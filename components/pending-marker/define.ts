// Registers <pending-marker>.
import { PendingMarker } from './pending-marker.component.ts';

if (!customElements.get('pending-marker')) customElements.define('pending-marker', PendingMarker);

declare global {
  interface HTMLElementTagNameMap {
    'pending-marker': PendingMarker;
  }
}
