// The context key every syncline element uses to find its client, across shadow roots and micro-frontends.
import { createContext } from '@lit/context';
import type { SyncClient } from '../src/index.ts';

/**
 * The client provided by `<sync-provider>`. A global symbol, so two copies of the library on one page
 * (two micro-frontends bundling their own) still find the same provider.
 */
export const syncClientContext = createContext<SyncClient | undefined>(Symbol.for('syncline-client'));
