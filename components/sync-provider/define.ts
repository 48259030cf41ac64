// Registers <sync-provider>.
import { SyncProviderElement } from './sync-provider.component.ts';

if (!customElements.get('sync-provider')) customElements.define('sync-provider', SyncProviderElement);

declare global {
  interface HTMLElementTagNameMap {
    'sync-provider': SyncProviderElement;
  }
}
