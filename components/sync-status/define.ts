// Registers <sync-status>.
import { SyncStatusElement } from './sync-status.component.ts';

if (!customElements.get('sync-status')) customElements.define('sync-status', SyncStatusElement);

declare global {
  interface HTMLElementTagNameMap {
    'sync-status': SyncStatusElement;
  }
}
