// Defines syncline's elements on first use: a tag's module is loaded when the tag first appears in a watched root.
// The tags on HTMLElementTagNameMap and their events on GlobalEventHandlersEventMap, for an app whose only import is
// this one: a reference kept in autoload.d.ts (preserve; `import type {}` would be dropped from it), and only a comment
// in the JS, which stays lazy: no element module is imported up front.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- the import style is what the .d.ts would lose
/// <reference path="define.ts" preserve="true" />

/** Each tag's define module, loaded on demand (bundlers split each into its own chunk). */
const loaders: Record<string, () => Promise<unknown>> = {
  'sync-provider': () => import('./sync-provider/define.ts'),
  'pending-badge': () => import('./pending-badge/define.ts'),
  'pending-marker': () => import('./pending-marker/define.ts'),
  'sync-status': () => import('./sync-status/define.ts'),
  'sync-outbox': () => import('./sync-outbox/define.ts'),
  'conflict-resolver': () => import('./conflict-resolver/define.ts'),
};
const tags = Object.keys(loaders);

/** Tags whose module has been asked for (a failed load leaves the set, so the next sighting tries again). */
const requested = new Set<string>();
/** Stops the watch of every root still watched; each watch ends by itself once every tag is requested. */
const watches = new Set<() => void>();

const settled = (tag: string) => requested.has(tag) || customElements.get(tag) !== undefined;

function load(tag: string): void {
  if (settled(tag)) return;
  requested.add(tag);
  loaders[tag]!().then(
    () => {
      if (tags.every(settled)) for (const stop of [...watches]) stop();
    },
    (error: unknown) => {
      requested.delete(tag);
      console.error(`syncline: could not load <${tag}>`, error);
    },
  );
}

/** Loads the module of every syncline tag in `node` or below it (not inside shadow roots: those are watched apart). */
function discover(node: ParentNode): void {
  for (const tag of tags) {
    if (settled(tag)) continue;
    if ((node instanceof Element && node.localName === tag) || node.querySelector(tag)) load(tag);
  }
}

/**
 * Watches `root` (the document by default) and defines each syncline tag the first time it appears there: the
 * page loads an element's code (and Lit) only once it uses the element. A tag inside a shadow root is not seen
 * from the document: call `autoload(shadowRoot)` for each root that holds syncline tags, or import
 * `syncline/define` to define every tag at once. Code that needs an element's properties (such as the
 * provider's `client`) awaits `customElements.whenDefined(tag)` first. Returns a function that stops the watch.
 */
export function autoload(root: Document | ShadowRoot | Element = document): () => void {
  if (tags.every(settled)) return () => {};
  const observer = new MutationObserver((records) => {
    for (const record of records) for (const node of record.addedNodes) if (node instanceof Element) discover(node);
  });
  const stop = () => {
    observer.disconnect();
    watches.delete(stop);
  };
  watches.add(stop);
  observer.observe(root, { childList: true, subtree: true });
  discover(root);
  return stop;
}
