// Registers <pending-marker>.
import { PendingMarkerElement } from './pending-marker.component.ts';

if (!customElements.get('pending-marker')) customElements.define('pending-marker', PendingMarkerElement);

declare global {
  interface HTMLElementTagNameMap {
    'pending-marker': PendingMarkerElement;
  }
}
