// Types of scripts/ensure-chromium.mjs, for the TypeScript tools that import it.
export const CHROMIUM_ARGS: string[];
export function findChromium(): string | undefined;
export function ensureChromium(): string;
