// One @lit/context ContextRoot per document, so a provider defined (upgraded) late still reaches consumers that asked before it existed.
import { ContextRoot } from '@lit/context';

// A global key, so two copies of syncline on one page share one root instead of re-dispatching twice.
const ATTACHED = Symbol.for('syncline-context-root');

/**
 * Attaches a ContextRoot to the document element of `doc` once. Consumers call it before their first
 * context request: a root attached after a request was made would not know about it.
 */
export function ensureContextRoot(doc: Document): void {
  const root = doc.documentElement as HTMLElement & { [ATTACHED]?: ContextRoot };
  if (!root || root[ATTACHED]) return;
  const contextRoot = new ContextRoot();
  contextRoot.attach(root);
  root[ATTACHED] = contextRoot;
}
