// Worker script URLs under Trusted Types: pages with `require-trusted-types-for 'script'` refuse a plain string.

/** A Trusted Types policy, as far as it is used here. */
type Policy = { createScriptURL(input: string): unknown };

/** The subset of the Trusted Types API used here (not in TypeScript's DOM lib yet). */
interface TrustedTypesLike {
  createPolicy(name: string, rules: { createScriptURL(input: string): string }): Policy;
}

/**
 * The policy, shared by every copy of syncline on the page (the no-build bundle beside an npm build, two
 * micro-frontends): a second `createPolicy('syncline')` throws under a CSP that lists it once.
 */
const POLICY = Symbol.for('syncline.trusted-types-policy');
const shared = globalThis as { [POLICY]?: Policy };

/**
 * Passes a worker URL through syncline's Trusted Types policy, named `syncline`, where the browser has Trusted
 * Types; returns it unchanged elsewhere. The policy accepts same-origin URLs only: a SharedWorker script must be
 * same-origin anyway, so nothing else is ever legitimate here. A page whose CSP lists allowed policies with
 * `trusted-types` must name `syncline` there.
 */
export function trustedScriptUrl(url: string | URL): string | URL {
  const tt = (globalThis as { trustedTypes?: TrustedTypesLike }).trustedTypes;
  if (!tt) return url;
  const policy = (shared[POLICY] ??= tt.createPolicy('syncline', {
    createScriptURL(input) {
      const resolved = new URL(input, document.baseURI);
      // The document's origin: `location.origin` is "null" in an about:blank or srcdoc frame of the same origin. An
      // opaque origin ("null": a sandboxed frame) is the same origin as nothing, a data: URL's "null" included.
      if (globalThis.origin === 'null' || resolved.origin !== globalThis.origin)
        throw new TypeError(`syncline: a worker script must be same-origin, not ${resolved.origin}`);
      return resolved.href;
    },
  }));
  // The TrustedScriptURL object is what the SharedWorker constructor accepts; TypeScript's lib types only strings.
  return policy.createScriptURL(String(url)) as string;
}
