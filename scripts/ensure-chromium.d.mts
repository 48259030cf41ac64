// Types of scripts/ensure-chromium.mjs, for the TypeScript tools that import it.
export function findChromium(): string | undefined;
export function ensureChromium(): string;
