// Helpers for the element tests: an in-page client per test against the reference server, fault switches, a subscription counter.
import { Observable } from 'rxjs';
import {
  createSyncClient,
  type Collection,
  type Conflict,
  type Operation,
  type OperationInput,
  type SyncClient,
  type SyncClientOptions,
  type SyncStatus,
} from '../../src/index.ts';
import { deleteSynclineDB } from '../../src/testing.ts';
import { API, addFault, clearFaults, eventually, serverItems, uniqueName } from '../../test/support/server.ts';

/** A same-origin iframe from `html`, loaded: srcdoc, or a blob: URL of this origin (`blob`: a real document URL). */
export async function frame(html: string, head = '', blob = false): Promise<HTMLIFrameElement> {
  const iframe = document.createElement('iframe');
  const markup = `<!doctype html><html lang="en"><head><meta charset="utf-8">${head}</head><body>${html}</body></html>`;
  if (blob) iframe.src = URL.createObjectURL(new Blob([markup], { type: 'text/html' }));
  else iframe.srcdoc = markup;
  const loaded = new Promise((r) => iframe.addEventListener('load', r, { once: true }));
  document.body.append(iframe);
  await loaded;
  return iframe;
}

/** An operation as the engine shows it, for stand-in clients: `extra` sets what a test is about. */
export function fakeOperation(extra: Partial<Operation> = {}): Operation {
  return {
    id: 'op-1',
    seq: 1,
    lane: 'default',
    kind: 'task.rename',
    label: 'Rename task',
    request: { method: 'PUT', url: 'tasks/42', body: {} },
    entity: { type: 'tasks', id: '42' },
    entityKey: 'tasks/42',
    status: 'pending',
    attempts: 0,
    strikes: 0,
    nextAttemptAt: 0,
    createdAt: 1,
    updatedAt: 1,
    ...extra,
  } as Operation;
}

/** A conflict as the engine makes them, for tests that need no server round trip. */
export function fakeConflict(id: string, extra: Partial<Conflict> = {}): Conflict {
  return {
    id: `k-${id}`,
    collection: 'tasks',
    entityId: id,
    base: { title: 'base', done: false, count: 1 },
    mine: { title: 'mine', done: false, count: 1 },
    mineRev: 1,
    theirs: { title: 'theirs', done: true, count: 1 },
    theirsVersion: 2,
    fields: ['title'],
    detectedBy: '412',
    detectedAt: 1,
    ...extra,
  };
}

/** A status for stand-in clients: online, in-page, nothing queued; `over` sets what a test is about. */
export function fakeStatus(over: Partial<SyncStatus> = {}): SyncStatus {
  return {
    connectivity: 'online',
    syncing: false,
    paused: null,
    counts: { pending: 0, sending: 0, failed: 0, conflict: 0 },
    lastSyncAt: null,
    storage: 'ok',
    clients: 1,
    runtime: 'in-page',
    hostedHere: true,
    continuesAfterClose: false,
    connected: true,
    engineError: null,
    entities: { dirty: 0, conflicts: 0, failed: 0 },
    updateRequired: false,
    unavailable: null,
    ...over,
  };
}

export interface TestClient {
  client: SyncClient;
  namespace: string;
  collection: string;
  /** An operation on this test's collection. */
  op(id: string, extra?: Partial<OperationInput>): OperationInput;
  /** Makes the server unreachable for this collection (and its health probe): operations stay pending. */
  offline(): Promise<void>;
  /** Makes requests to this collection answer `status` (400: failed, 409: conflict). */
  failWith(status: number): Promise<void>;
  dispose(): Promise<void>;
}

export function testClient(prefix: string, options: Partial<SyncClientOptions> = {}): TestClient {
  const namespace = uniqueName(`el-${prefix}`);
  const collection = uniqueName('c');
  const client = createSyncClient({
    endpoint: '/api',
    namespace,
    mode: 'in-page',
    heartbeatMs: 200,
    healthUrl: `/api/health/${collection}`,
    ...options,
  });
  return {
    client,
    namespace,
    collection,
    op: (id, extra = {}) => ({
      kind: 'item.create',
      label: `Create ${id}`,
      request: { method: 'POST', url: collection, body: { id } },
      entity: { type: collection, id },
      ...extra,
    }),
    offline: async () => {
      await addFault({ pathPrefix: `/api/${collection}`, offline: true });
      await addFault({ pathPrefix: `/api/health/${collection}`, offline: true });
    },
    failWith: async (status) => {
      await addFault({ pathPrefix: `/api/${collection}`, status });
    },
    dispose: async () => {
      client.close();
      await clearFaults(`/api/${collection}`);
      await clearFaults(`/api/health/${collection}`);
      await Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]);
    },
  };
}

/** A client whose streams count their open subscriptions: what an element leaves open after removal is a leak. */
export function countingClient(client: SyncClient): { client: SyncClient; readonly active: number } {
  let active = 0;
  const counted = new WeakMap<Observable<unknown>, Observable<unknown>>();
  const wrap = <T>(source: Observable<T>): Observable<T> => {
    let wrapped = counted.get(source) as Observable<T> | undefined;
    if (!wrapped) {
      wrapped = new Observable<T>((subscriber) => {
        active++;
        const subscription = source.subscribe(subscriber);
        return () => {
          active--;
          subscription.unsubscribe();
        };
      });
      counted.set(source, wrapped);
    }
    return wrapped;
  };
  const proxy = new Proxy(client, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown;
      if (value instanceof Observable) return wrap(value);
      if (typeof value === 'function') {
        return (...args: unknown[]) => {
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          return result instanceof Observable ? wrap(result) : result;
        };
      }
      return value;
    },
  });
  return {
    client: proxy,
    get active() {
      return active;
    },
  };
}

/**
 * A real client whose named commands answer as given instead (a rejection, or a refusal such as `discard` → false):
 * what an element does when the engine cannot carry out what the user asked, while its lists stay live.
 */
export function refusingClient(
  client: SyncClient,
  answers: Partial<Record<'retry' | 'retryAll' | 'discard' | 'syncNow', () => Promise<unknown>>>,
): SyncClient {
  return new Proxy(client, {
    get(target, key) {
      const answer = answers[key as keyof typeof answers];
      if (answer) return () => answer();
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Waits for `check` on each animation frame; for engine round trips. */
export async function until(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The text of an element's shadow root, whitespace collapsed. */
export function shadowText(element: Element): string {
  return (element.shadowRoot?.textContent ?? '').replace(/\s+/g, ' ').trim();
}

/** The latest value of a stream that has one at once (a live query's snapshot arrives after a round trip). */
function latest<T>(source: Observable<T>): Promise<T> {
  return new Promise<T>((resolve) => {
    const sub = source.subscribe((value) => {
      resolve(value);
      queueMicrotask(() => sub.unsubscribe());
    });
  });
}

/**
 * A real Background Sync conflict on the test's collection: `base` pushed, then changed on the server (or deleted,
 * for null) behind the client's back, then edited here to `mine`, whose push meets a 412. The collection must use
 * the 'manual' strategy for the conflict to stay open.
 */
export async function entityConflict<T extends object>(
  t: TestClient,
  items: Collection<T>,
  id: string,
  base: T,
  theirs: T | null,
  mine: T,
): Promise<void> {
  await items.put(id, base);
  await eventually(async () => (await serverItems(t.collection)).some((i) => i.id === id), 10_000, `${id} pushed`);
  await eventually(
    async () => !(await latest(t.client.dirtyEntities$)).some((e) => e.id === id),
    10_000,
    `${id} clean`,
  );
  const answer = await fetch(`${API}/${t.collection}/${id}`, {
    method: theirs ? 'PUT' : 'DELETE',
    headers: { 'Content-Type': 'application/json', 'If-Match': '"1"' },
    ...(theirs ? { body: JSON.stringify(theirs) } : {}),
  });
  if (!answer.ok) throw new Error(`the server-side edit of ${id} failed: ${answer.status}`);
  await items.put(id, mine);
}
