// Registers <conflict-resolver>.
import { ConflictResolver } from './conflict-resolver.component.ts';

if (!customElements.get('conflict-resolver')) customElements.define('conflict-resolver', ConflictResolver);

declare global {
  interface HTMLElementTagNameMap {
    'conflict-resolver': ConflictResolver;
  }
}
