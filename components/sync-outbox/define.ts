// Registers <sync-outbox>.
import { SyncOutbox } from './sync-outbox.component.ts';

if (!customElements.get('sync-outbox')) customElements.define('sync-outbox', SyncOutbox);

declare global {
  interface HTMLElementTagNameMap {
    'sync-outbox': SyncOutbox;
  }
}
