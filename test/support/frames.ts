// Same-origin iframes as extra tabs: each has its own realm and its own client, like a second tab.
import type * as Syncline from '../../src/index.ts';
import type { SyncClient, SyncClientOptions } from '../../src/index.ts';

export interface Frame {
  element: HTMLIFrameElement;
  syncline: typeof Syncline;
  client(options: SyncClientOptions): SyncClient;
  /** Removes the iframe: its document, its client and its locks go, as when a tab closes. */
  remove(): void;
}

export async function openFrame(): Promise<Frame> {
  const element = document.createElement('iframe');
  element.src = '/test/fixtures/frame.html';
  const ready = new Promise<void>((resolve) => {
    element.addEventListener('load', () => {
      const win = element.contentWindow as Window & { syncline?: typeof Syncline };
      if (win.syncline) resolve();
      else win.addEventListener('syncline-ready', () => resolve());
    });
  });
  document.body.append(element);
  await ready;
  const syncline = (element.contentWindow as Window & { syncline: typeof Syncline }).syncline;
  return {
    element,
    syncline,
    client: (options) => syncline.createSyncClient(options),
    remove: () => element.remove(),
  };
}

/** Latest value of an observable, kept up to date, with a way to stop. */
export function follow<T>(source: { subscribe(next: (v: T) => void): { unsubscribe(): void } }): {
  readonly value: T | undefined;
  values: T[];
  stop(): void;
} {
  const values: T[] = [];
  const sub = source.subscribe((v) => values.push(v));
  return {
    get value() {
      return values[values.length - 1];
    },
    values,
    stop: () => sub.unsubscribe(),
  };
}
