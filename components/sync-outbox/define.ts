// Registers <sync-outbox>.
import { SyncOutboxElement } from './sync-outbox.component.ts';

if (!customElements.get('sync-outbox')) customElements.define('sync-outbox', SyncOutboxElement);

declare global {
  interface HTMLElementTagNameMap {
    'sync-outbox': SyncOutboxElement;
  }
}
