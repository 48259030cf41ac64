// Registers <sync-provider>.
import { SyncProvider } from './sync-provider.component.ts';

if (!customElements.get('sync-provider')) customElements.define('sync-provider', SyncProvider);

declare global {
  interface HTMLElementTagNameMap {
    'sync-provider': SyncProvider;
  }
}
