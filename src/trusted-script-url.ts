// Worker script URLs under Trusted Types: pages with `require-trusted-types-for 'script'` refuse a plain string.

/** The subset of the Trusted Types API used here (not in TypeScript's DOM lib yet). */
interface TrustedTypesLike {
  createPolicy(
    name: string,
    rules: { createScriptURL(input: string): string },
  ): { createScriptURL(input: string): unknown };
}

let policy: { createScriptURL(input: string): unknown } | null | undefined;

/**
 * Passes a worker URL through syncline's Trusted Types policy, named `syncline`, where the browser has Trusted
 * Types; returns it unchanged elsewhere. The policy accepts same-origin URLs only: a SharedWorker script must be
 * same-origin anyway, so nothing else is ever legitimate here. A page whose CSP lists allowed policies with
 * `trusted-types` must name `syncline` there.
 */
export function trustedScriptUrl(url: string | URL): string | URL {
  const tt = (globalThis as { trustedTypes?: TrustedTypesLike }).trustedTypes;
  if (!tt) return url;
  policy ??= tt.createPolicy('syncline', {
    createScriptURL(input) {
      const resolved = new URL(input, document.baseURI);
      if (resolved.origin !== location.origin)
        throw new TypeError(`syncline: a worker script must be same-origin, not ${resolved.origin}`);
      return resolved.href;
    },
  });
  // The TrustedScriptURL object is what the SharedWorker constructor accepts; TypeScript's lib types only strings.
  return policy.createScriptURL(String(url)) as string;
}
