// The context keys every syncline element uses to find its client and the page-wide strings, across shadow roots and micro-frontends.
import { createContext } from '@lit/context';
import type { SyncClient } from '../src/index.ts';
import type { SynclineStrings } from './strings.ts';

/**
 * The client provided by `<sync-provider>`. A global symbol, so two copies of the library on one page
 * (two micro-frontends bundling their own) still find the same provider.
 */
export const syncClientContext = createContext<SyncClient | undefined>(Symbol.for('syncline-client'));

/**
 * Strings provided page-wide by `<sync-provider>`'s `strings` (over any provider's above it): overrides under each
 * element's own `strings`, over the table of the element's language.
 */
export const stringsContext = createContext<Partial<SynclineStrings> | undefined>(Symbol.for('syncline-strings'));
