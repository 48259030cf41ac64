// Registers <conflict-resolver>.
import { ConflictResolverElement } from './conflict-resolver.component.ts';

if (!customElements.get('conflict-resolver')) customElements.define('conflict-resolver', ConflictResolverElement);

declare global {
  interface HTMLElementTagNameMap {
    'conflict-resolver': ConflictResolverElement;
  }
}
