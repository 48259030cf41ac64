// In-page half of `npm run bench -- --peers`: the enqueue + drain of 1,000 PUTs and the after-a-reload check through syncline, TanStack offline-transactions and redux-offline, and the raw loops, exposed as window.peers for bench/peers.ts.
import { createCollection } from '@tanstack/db';
import {
  IndexedDBAdapter,
  NonRetriableError,
  startOfflineExecutor,
  type OnlineDetector,
} from '@tanstack/offline-transactions';
import { offline as reduxOffline } from '@redux-offline/redux-offline';
import { legacy_createStore, type Reducer, type StoreEnhancer } from 'redux';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { createSyncClient, type Operation, type OperationInput, type SyncClient } from '../src/index.ts';
import { openSynclineDB, operationId } from '../src/testing.ts';
import { fetchLoops } from './fetch-loops.ts';

/** Wall-clock milliseconds with sub-ms resolution. */
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const API = `${location.origin}/api`;

/** What every library queues, op i of a run: create-or-replace one item with a JSON PUT. */
interface Item {
  id: string;
  title: string;
  done: boolean;
}
const item = (i: number): Item => ({ id: `n${i}`, title: `Item number ${i}`, done: false });

/**
 * Every peer sends the same request per op: `PUT /api/<collection>/n<i>`, JSON body, the op's own Idempotency-Key
 * (quoted, as the contract asks), reused on every retry. A PUT repeated under a new key would be applied twice,
 * which the server's change log shows.
 */
async function sendPut(collection: string, body: Item, key: string): Promise<Response> {
  return fetch(`${API}/${collection}/${body.id}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': `"${key}"` },
    body: JSON.stringify(body),
    credentials: 'same-origin',
  });
}

/** Statuses the contract says to retry (docs/server-contract.md §6); any other non-2xx is final. */
const retryable = (response: Response) =>
  response.status >= 500 ||
  response.status === 408 ||
  response.status === 425 ||
  response.status === 429 ||
  (response.status === 409 && response.headers.has('retry-after'));

async function admin(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${API}/_admin/${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`admin ${method} ${path}: ${response.status}`);
  return response.json();
}
/** The server unreachable for this run's paths: connections cut, as in the syncline bench (bench/page.ts). */
const serverDown = async (collection: string) => {
  await admin('POST', 'faults', { pathPrefix: `/api/${collection}`, offline: true });
  await admin('POST', 'faults', { pathPrefix: `/api/health/${collection}`, offline: true });
};
const serverUp = async (collection: string) => {
  await admin('DELETE', `faults?pathPrefix=${encodeURIComponent(`/api/${collection}`)}`);
  await admin('DELETE', `faults?pathPrefix=${encodeURIComponent(`/api/health/${collection}`)}`);
};

/** Times a sequential loop of n acknowledged steps, and each tenth of it. */
async function timed(n: number, step: (i: number) => Promise<void>): Promise<PeerRun['enqueue']> {
  const marks: number[] = [];
  const t0 = now();
  for (let i = 0; i < n; i++) {
    if (i % Math.ceil(n / 10) === 0) marks.push(now());
    await step(i);
  }
  const end = now();
  marks.push(end);
  const ms = end - t0;
  return { ms, opsPerSec: (n * 1000) / ms, tenths: marks.slice(1).map((t, k) => t - marks[k]!) };
}

/** Resolves when `check()` holds; `wake()` re-checks (called by whoever changes what it reads). */
function waiter() {
  let waiting: { check: () => boolean; resolve: () => void }[] = [];
  return {
    until(check: () => boolean, ms = 120_000, what = 'condition'): Promise<void> {
      if (check()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
        waiting.push({
          check,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    wake() {
      waiting = waiting.filter((w) => (w.check() ? (w.resolve(), false) : true));
    },
  };
}

/** One library's run: n sequential acknowledged enqueues with the server unreachable, then the drain once it is back. */
export interface PeerRun {
  /** `tenths`: ms taken by each tenth of the ops, in order (does an enqueue get slower as the queue grows?). */
  enqueue: { ms: number; opsPerSec: number; tenths: number[] };
  drain: { ms: number; opsPerSec: number };
  /** Ops the library gave up on (rolled back, discarded), by its own account. */
  failed: number;
  notes?: string[];
}

// ---- raw SharedWorker for the fetch loop in a worker context (syncline sends from its SharedWorker) ----

function rawWorkerFetch(url: string, n: number): Promise<{ ms: number; opsPerSec: number; failed: number }> {
  const worker = new SharedWorker(new URL('./raw-worker.ts', import.meta.url), {
    type: 'module',
    name: `peers-raw-${Math.random().toString(36).slice(2)}`,
  });
  return new Promise((resolve, reject) => {
    worker.onerror = () => reject(new Error('raw worker failed to start'));
    worker.port.onmessage = (e) => (e.data.error ? reject(new Error(e.data.error)) : resolve(e.data));
    worker.port.postMessage({ cmd: 'fetch', url, n, conc: 1, method: 'PUT', id: 1 });
  });
}

const peers = {
  ready: true,

  /** Raw enqueue limit: one IndexedDB put per op in its own strict transaction (what syncline's ack waits for), as bench (a). */
  async rawPut(namespace: string, collection: string, n: number) {
    const db = await openSynclineDB(namespace);
    const put = async (i: number) => {
      const t = Date.now();
      const tx = db.transaction('operations', 'readwrite', { durability: 'strict' });
      tx.store
        .put({
          id: operationId(t),
          seq: i + 1,
          lane: 'default',
          kind: 'item.put',
          label: `Put n${i}`,
          request: { method: 'PUT', url: `${API}/${collection}/n${i}`, body: item(i) },
          status: 'pending',
          attempts: 0,
          strikes: 0,
          nextAttemptAt: 0,
          createdAt: t,
          updatedAt: t,
        } as Operation)
        .catch(() => {});
      await tx.done;
    };
    const t0 = now();
    for (let i = 0; i < n; i++) await put(i);
    const ms = now() - t0;
    db.close();
    return { ms, opsPerSec: (n * 1000) / ms };
  },
  /** Raw drain limit: one loop of sequential PUTs, from this page (where the peers send) or a SharedWorker (where syncline sends). */
  async rawFetch(collection: string, n: number, where: 'page' | 'worker') {
    const url = `${API}/${collection}`;
    return where === 'worker' ? rawWorkerFetch(url, n) : fetchLoops(url, n, 1, 'PUT');
  },

  /**
   * syncline through its public client, as bench (a) and (d) use it: the engine in its SharedWorker learns by itself
   * that the server is unreachable (a failed send, then its probe), and `syncNow()` tells it the server is back.
   * Ack: `enqueue()` resolves once the op is in IndexedDB under a strict-durability transaction (`durability` option:
   * 'relaxed' commits without waiting for the disk, as the peers' own writes do).
   */
  async syncline(
    namespace: string,
    collection: string,
    n: number,
    durability: 'strict' | 'relaxed' = 'strict',
  ): Promise<PeerRun> {
    await serverDown(collection);
    const client = synclineClient(namespace, collection, durability);
    try {
      await client.ready(20_000);
      // Park: one op (to another collection, so the count below sees only the n) makes the engine find the server gone.
      await client.enqueue({
        kind: 'park',
        label: 'park',
        request: { method: 'PUT', url: `${collection}-park/p`, body: { id: 'p' } },
      });
      await firstValueFrom(
        client.status$.pipe(
          filter((s) => s.connectivity === 'offline' && !s.syncing),
          timeout(20_000),
        ),
      );
      const enqueue = await timed(n, async (i) => {
        await client.enqueue(synclineInput(collection, i));
      });

      let pending = -1;
      const count = waiter();
      let zeroAt = 0;
      const sub = client.pendingCount$.subscribe((v) => {
        pending = v;
        if (v === 0 && !zeroAt) zeroAt = now();
        count.wake();
      });
      await count.until(() => pending === n + 1, 20_000, `pendingCount ${n + 1}`);
      await serverUp(collection);
      await sleep(20);
      const t1 = now();
      zeroAt = 0;
      await client.syncNow();
      await count.until(() => pending === 0, 300_000, 'pendingCount 0');
      sub.unsubscribe();
      const drainMs = zeroAt - t1;
      const failed = await firstValueFrom(client.count$({ status: ['failed', 'conflict'] }));
      return {
        enqueue,
        drain: { ms: drainMs, opsPerSec: (n * 1000) / drainMs },
        failed,
        notes: [
          'one extra op queued first (to another collection) so the engine learns the server is unreachable: the drain sends n + 1',
        ],
      };
    } finally {
      client.close();
    }
  },

  /**
   * syncline set to `durability: 'relaxed'`: the same enqueue + drain, its ack still after the commit, but the commit
   * does not wait for the disk, as TanStack's outbox writes (default durability, relaxed in Chromium) do not.
   */
  async synclineRelaxed(namespace: string, collection: string, n: number): Promise<PeerRun> {
    return this.syncline(namespace, collection, n, 'relaxed');
  },

  /**
   * @tanstack/offline-transactions as its README sets it up (see `tanstackSetup` for what it cannot do and how it is
   * measured anyway). Ack measured: the library's own outbox `set()` resolved.
   */
  async tanstack(dbName: string, collection: string, n: number): Promise<PeerRun> {
    await serverDown(collection);
    const { executor, items, detector, outbox } = await tanstackSetup(dbName, collection, false);
    try {
      const commits: Promise<unknown>[] = [];
      let failed = 0;
      let settled = 0;
      let lastSettledAt = 0;
      const drained = waiter();
      const enqueue = await timed(n, async (i) => {
        const tx = executor.createOfflineTransaction({ mutationFnName: 'putItems', autoCommit: false });
        tx.mutate(() => {
          items.insert(item(i));
        });
        commits.push(
          tx.commit().then(
            () => {
              settled++;
              lastSettledAt = now();
              drained.wake();
            },
            () => {
              failed++;
              settled++;
              lastSettledAt = now();
              drained.wake();
            },
          ),
        );
        await outbox.until(() => outbox.written.has(`tx:${tx.id}`), 20_000, `outbox write of op ${i}`);
      });
      await serverUp(collection);
      await sleep(20);
      const t1 = now();
      detector.setOnline(true);
      await drained.until(() => settled === n, 300_000, `${n} commits`);
      const drainMs = lastSettledAt - t1;
      return { enqueue, drain: { ms: drainMs, opsPerSec: (n * 1000) / drainMs }, failed };
    } finally {
      executor.dispose();
    }
  },

  /**
   * @redux-offline/redux-offline as its README sets it up (see `reduxSetup` for what it cannot do and how it is
   * measured anyway). Ack measured: a localStorage write of the outbox holding the op happened.
   */
  async reduxOffline(prefix: string, collection: string, n: number): Promise<PeerRun> {
    await serverDown(collection);
    const redux = await reduxSetup(prefix, collection, false);
    const { store } = redux;
    try {
      const enqueue = await timed(n, async (i) => {
        store.dispatch(reduxPut(collection, i));
        const transaction = store.getState().offline!.lastTransaction;
        await redux.persisted.until(
          () => redux.persistedTransaction() >= transaction,
          20_000,
          `localStorage write of op ${i}`,
        );
      });
      await serverUp(collection);
      await sleep(20);
      const drained = waiter();
      let emptyAt = 0;
      const unsubscribe = store.subscribe(() => {
        if (!emptyAt && store.getState().offline!.outbox.length === 0) emptyAt = now();
        drained.wake();
      });
      const t1 = now();
      redux.setOnline(true);
      await drained.until(() => emptyAt > 0, 300_000, 'an empty outbox');
      unsubscribe();
      const drainMs = emptyAt - t1;
      return { enqueue, drain: { ms: drainMs, opsPerSec: (n * 1000) / drainMs }, failed: store.getState().rolledBack };
    } finally {
      await redux.forget();
    }
  },

  // ---- after a reload: ops queued in a burst while the server is unreachable, the page closed, a fresh page replays ----
  // Correctness only (nothing timed). A burst is how an app queues a bulk action; TanStack's commit() cannot be
  // awaited offline (it waits for the server) and redux-offline's dispatch() returns at once, so neither paces it.

  /** Fills syncline's queue with n enqueue() calls issued back to back, and returns once every one resolved. */
  async synclineFill(namespace: string, collection: string, n: number) {
    await serverDown(collection);
    const client = synclineClient(namespace, collection);
    await client.ready(20_000);
    await Promise.all(Array.from({ length: n }, (_, i) => client.enqueue(synclineInput(collection, i))));
    client.close();
    return true;
  },
  /** A fresh page's client over the same namespace, the server back: resolves when the queue is empty. */
  async synclineReplay(namespace: string, collection: string) {
    await serverUp(collection);
    const client = synclineClient(namespace, collection);
    try {
      await client.ready(20_000);
      await client.syncNow();
      await firstValueFrom(
        client.pendingCount$.pipe(
          filter((v) => v === 0),
          timeout(300_000),
        ),
      );
      return true;
    } finally {
      client.close();
    }
  },
  /** n offline transactions created and committed back to back; returns once the outbox holds all n. */
  async tanstackFill(dbName: string, collection: string, n: number) {
    await serverDown(collection);
    const { executor, items, outbox } = await tanstackSetup(dbName, collection, false);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const tx = executor.createOfflineTransaction({ mutationFnName: 'putItems', autoCommit: false });
      tx.mutate(() => {
        items.insert(item(i));
      });
      tx.commit().catch(() => {});
      ids.push(`tx:${tx.id}`);
    }
    await outbox.until(() => ids.every((id) => outbox.written.has(id)), 60_000, `${n} outbox writes`);
    executor.dispose();
    return true;
  },
  /** A fresh page's executor over the same outbox, the server back: resolves when the outbox is empty. */
  async tanstackReplay(dbName: string, collection: string) {
    await serverUp(collection);
    const { executor } = await tanstackSetup(dbName, collection, true);
    try {
      for (const deadline = Date.now() + 300_000; (await executor.peekOutbox()).length > 0;) {
        if (Date.now() > deadline) throw new Error('the outbox did not empty');
        await sleep(100);
      }
      return true;
    } finally {
      executor.dispose();
    }
  },
  /** n actions dispatched back to back; returns once a localStorage write holds them all. */
  async reduxFill(prefix: string, collection: string, n: number) {
    await serverDown(collection);
    const redux = await reduxSetup(prefix, collection, false);
    for (let i = 0; i < n; i++) redux.store.dispatch(reduxPut(collection, i));
    const last = redux.store.getState().offline!.lastTransaction;
    await redux.persisted.until(() => redux.persistedTransaction() >= last, 60_000, 'the outbox in localStorage');
    return true;
  },
  /** A fresh page's store rehydrated from the same localStorage keys, the server back: resolves when the outbox is empty. */
  async reduxReplay(prefix: string, collection: string) {
    await serverUp(collection);
    const redux = await reduxSetup(prefix, collection, true);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the outbox did not empty')), 300_000);
        const check = () => {
          if (redux.store.getState().offline!.outbox.length === 0) {
            clearTimeout(timer);
            unsubscribe();
            resolve();
          }
        };
        const unsubscribe = redux.store.subscribe(check);
        check();
      });
      return { rolledBack: redux.store.getState().rolledBack };
    } finally {
      await redux.forget();
    }
  },

  /**
   * Correctness, counted from the server's change log (every write, with the Idempotency-Key that made it): each of
   * n0..n<n-1> (r0.. for the raw loop) written exactly once, first writes in op order, and the requests the server
   * saw for them.
   */
  async serverCheck(collection: string, n: number, prefix = 'n') {
    const writes: { seq: number; id: string; at: number; idempotencyKey: string | null }[] = [];
    for (let since = 0; ;) {
      const page = (await admin('GET', `changes?collection=${encodeURIComponent(collection)}&since=${since}`)) as {
        items: typeof writes;
      };
      if (page.items.length === 0) break;
      writes.push(...page.items);
      since = page.items.at(-1)!.seq;
    }
    const perId = new Map<string, number>();
    let orderViolations = 0;
    let last = -1;
    let unkeyed = 0;
    let unexpected = 0;
    for (const w of writes) {
      const i =
        w.id.startsWith(prefix) && /^\d+$/.test(w.id.slice(prefix.length)) ? Number(w.id.slice(prefix.length)) : NaN;
      if (!(i >= 0 && i < n)) {
        unexpected++;
        continue;
      }
      if (!w.idempotencyKey) unkeyed++;
      const seen = perId.get(w.id) ?? 0;
      perId.set(w.id, seen + 1);
      if (seen > 0) continue;
      if (i < last) orderViolations++;
      last = Math.max(last, i);
    }
    const applied = perId.size;
    const duplicates = [...perId.values()].reduce((sum, c) => sum + c - 1, 0);
    const stats = (await admin('GET', `stats?pathPrefix=${encodeURIComponent(`/api/${collection}/`)}`)) as {
      requests: number;
    };
    // The server's own clock: first to last write of the n ops (a check on the drain time measured in the page).
    const own = writes.filter((w) => w.id.startsWith(prefix));
    const serverSpanMs = own.length ? own.at(-1)!.at - own[0]!.at : NaN;
    return {
      writes: writes.length,
      serverSpanMs,
      applied,
      missing: n - applied,
      duplicates,
      orderViolations,
      unkeyed,
      unexpected,
      requests: stats.requests,
      correct: applied === n && duplicates === 0 && orderViolations === 0 && unexpected === 0,
    };
  },

  /** Deletes the IndexedDB databases of this section (names start with "bench-" or "syncline:bench-"). */
  async cleanup() {
    let deleted = 0;
    for (const { name } of await indexedDB.databases()) {
      if (!name || !(name.startsWith('syncline:bench-') || name.startsWith('bench-'))) continue;
      await Promise.race([
        new Promise<void>((resolve) => {
          const req = indexedDB.deleteDatabase(name);
          req.onsuccess = req.onerror = () => resolve();
        }),
        sleep(3000),
      ]);
      deleted++;
    }
    return deleted;
  },
};

/** redux-persist 4 storage calls take a node-style callback and also return a promise. */
function settle<T>(cb: ((e: unknown, v?: T) => void) | undefined, fn: () => T): Promise<T> {
  return new Promise((resolve, reject) => {
    let value: T;
    try {
      value = fn();
    } catch (error) {
      setTimeout(() => cb?.(error));
      reject(error);
      return;
    }
    setTimeout(() => {
      cb?.(null, value);
      resolve(value);
    });
  });
}

/** syncline's client as bench (a) and (d) make it: SharedWorker engine, the bundled worker, this run's health URL. */
function synclineClient(
  namespace: string,
  collection: string,
  durability: 'strict' | 'relaxed' = 'strict',
): SyncClient {
  return createSyncClient({
    endpoint: '/api',
    namespace,
    mode: 'shared-worker',
    workerUrl: '/bench-syncline-worker.js',
    healthUrl: `/api/health/${collection}`,
    durability,
  });
}
const synclineInput = (collection: string, i: number): OperationInput => ({
  kind: 'item.put',
  label: `Put n${i}`,
  request: { method: 'PUT', url: `${collection}/n${i}`, body: item(i) },
});

/**
 * @tanstack/offline-transactions as its README sets it up: a TanStack DB collection, startOfflineExecutor with the
 * IndexedDB outbox, one offline transaction per op (createOfflineTransaction + mutate(insert) + commit()), and a
 * mutation function that sends the op with the idempotency key the library hands it.
 *
 * What it cannot do, and how it is measured anyway:
 * - No "stored" acknowledgement: `commit()` resolves only once the mutation function succeeded (the server has
 *   the op); nothing public resolves when the outbox write is done. The outbox adapter is the documented `storage`
 *   option, so the run passes an IndexedDBAdapter subclass that reports when the library's own `set()` resolves:
 *   that is the enqueue ack measured here. IndexedDBAdapter resolves `set()` on the put request's success, before
 *   its transaction commits (default durability): the op is not yet durable then.
 * - No concurrency or batching: `maxConcurrency` is declared in OfflineConfig but unused in 1.0.53; the
 *   KeyScheduler runs one transaction at a time, and each op is its own transaction (each was acknowledged on its
 *   own), so the drain is one request plus one outbox delete per op.
 * - Order after a reload: the outbox is read back in key order (`tx:<random UUID>`) and sorted by `createdAt`, a
 *   Date with millisecond resolution, so ops created in the same millisecond replay in random order.
 * - Connectivity: its default detector trusts navigator.onLine, which stays true while only the server is down,
 *   so it would keep failing and backing off (up to 60 s). The documented `onlineDetector` option gets a detector
 *   that the bench flips with the fault switch: offline while the server is down, `notifyOnline()` the moment it
 *   is back (the same as syncline's `syncNow()`). The library's own retry and backoff stay as they are.
 */
async function tanstackSetup(dbName: string, collection: string, online: boolean) {
  const outbox = Object.assign(waiter(), { written: new Set<string>() });
  class ObservedIndexedDBAdapter extends IndexedDBAdapter {
    override async set(key: string, value: string): Promise<void> {
      await super.set(key, value);
      outbox.written.add(key);
      outbox.wake();
    }
  }
  const detector = new ServerReachability(online);
  const items = createCollection<Item, string>({
    id: `items-${collection}`,
    getKey: (it) => it.id,
    startSync: true,
    // The server's copy would come back through a sync (a changes-feed pull); this run only pushes, so there is none.
    sync: {
      sync: ({ markReady }) => {
        markReady();
      },
    },
  });
  const executor = startOfflineExecutor({
    collections: { items },
    storage: new ObservedIndexedDBAdapter(dbName, 'transactions'),
    onlineDetector: detector,
    mutationFns: {
      putItems: async ({ transaction, idempotencyKey }) => {
        for (const mutation of transaction.mutations) {
          const response = await sendPut(collection, mutation.modified as unknown as Item, idempotencyKey);
          await response.text();
          // Its documented way to stop retrying: NonRetriableError; anything else is retried with backoff.
          if (!response.ok)
            throw retryable(response)
              ? new Error(`HTTP ${response.status}`)
              : new NonRetriableError(`HTTP ${response.status}`);
        }
      },
    },
  });
  await executor.waitForInit();
  if (!executor.isOfflineEnabled)
    throw new Error(`TanStack executor is not offline-enabled: ${executor.storageDiagnostic.message}`);
  return { executor, items, detector, outbox };
}

type ReduxState = { committed: number; rolledBack: number; offline?: { outbox: unknown[]; lastTransaction: number } };

/** The action for op i: its effect is the PUT, with an Idempotency-Key made now, so every retry sends the same. */
function reduxPut(collection: string, i: number) {
  const body = item(i);
  return {
    type: 'item/put',
    payload: body,
    meta: {
      offline: {
        effect: {
          url: `${API}/${collection}/${body.id}`,
          method: 'PUT',
          json: body,
          headers: { 'Idempotency-Key': `"${operationId()}"` },
        },
        commit: { type: 'item/put/commit', meta: { id: body.id } },
        rollback: { type: 'item/put/rollback', meta: { id: body.id } },
      },
    },
  };
}

/**
 * @redux-offline/redux-offline as its README sets it up: the `offline()` store enhancer with its defaults
 * (redux-persist 4 into localStorage, its effect reconciler = fetch, its retry schedule), one action per op with
 * `meta.offline.effect`. The app state beside the outbox is a two-number reducer, so persistence costs are the
 * library's own. Resolves once the store is rehydrated.
 *
 * What it cannot do, and how it is measured anyway:
 * - No "stored" acknowledgement: `dispatch()` returns once the action is in memory; redux-persist writes the
 *   whole `offline` slice (the entire outbox, as one JSON string) to localStorage later, on a timer. The run's
 *   storage is the documented `persistOptions.storage` hook: localStorage exactly as redux-persist's default
 *   adapter uses it, reporting which transaction each write of the slice holds. The enqueue ack measured is "a
 *   localStorage write holding this op has happened"; localStorage reaches disk later, at the browser's pace.
 * - No concurrency or batching: the middleware sends the outbox head only, one request at a time.
 * - Its default `discard` drops any op whose effect rejects without an HTTP status: a fetch that fails because the
 *   server is unreachable (TypeError) is rolled back, not retried. The documented `discard` option is set to what
 *   the server contract asks: keep network failures, 5xx, 408, 425, 429 and a 409 in progress for retry.
 * - Connectivity: the documented `detectNetwork` option gets the same bench-driven signal as TanStack's detector
 *   (its default trusts navigator.onLine): offline while the server is down, online the moment it is back.
 */
async function reduxSetup(prefix: string, _collection: string, online: boolean) {
  const slice = `${prefix}offline`;
  let persistedTransaction = 0;
  const persisted = waiter();
  let network: ((status: { online: boolean }) => void) | null = null;
  const reducer: Reducer<ReduxState> = (state = { committed: 0, rolledBack: 0 }, action) => {
    if (action.type === 'item/put/commit') return { ...state, committed: state.committed + 1 };
    if (action.type === 'item/put/rollback') return { ...state, rolledBack: state.rolledBack + 1 };
    return state;
  };
  // redux-persist 4's storage contract (callback style), over localStorage as its default adapter does.
  const storage = {
    getItem: (key: string, cb?: (e: unknown, v?: string | null) => void) => settle(cb, () => localStorage.getItem(key)),
    removeItem: (key: string, cb?: (e: unknown) => void) => settle(cb, () => localStorage.removeItem(key)),
    getAllKeys: (cb?: (e: unknown, v?: string[]) => void) => settle(cb, () => Object.keys(localStorage)),
    setItem: (key: string, value: string, cb?: (e: unknown) => void) =>
      settle(cb, () => {
        localStorage.setItem(key, value);
        // redux-persist serialises the slice from getState() and writes it in the same task: this write holds every
        // transaction up to the current lastTransaction.
        if (key === slice) {
          persistedTransaction = store.getState().offline!.lastTransaction;
          persisted.wake();
        }
      }),
  };
  let rehydrated!: () => void;
  const ready = new Promise<void>((r) => (rehydrated = r));
  const enhancer = reduxOffline({
    persistOptions: { storage, keyPrefix: prefix },
    persistCallback: () => rehydrated(),
    detectNetwork: (callback: (status: { online: boolean }) => void) => {
      network = callback;
      callback({ online });
    },
    discard: (error: { status?: number; response?: { error?: string } }) => {
      const status = error?.status;
      if (status === undefined) return !(error instanceof TypeError); // fetch failed: the server is unreachable
      if (status >= 500 || status === 408 || status === 425 || status === 429) return false;
      if (status === 409 && error.response?.error === 'in-progress') return false;
      return true; // other 4xx: final
    },
  } as never) as unknown as StoreEnhancer;
  const store = legacy_createStore(reducer, undefined, enhancer) as unknown as {
    getState(): ReduxState;
    dispatch(a: unknown): unknown;
    subscribe(fn: () => void): () => void;
  };
  await ready;
  return {
    store,
    persisted,
    persistedTransaction: () => persistedTransaction,
    setOnline: (value: boolean) => network?.({ online: value }),
    /** Drops this run's localStorage keys (the store is left to the page, which closes next). */
    async forget() {
      network = null;
      await sleep(50);
      for (const key of Object.keys(localStorage)) if (key.startsWith(prefix)) localStorage.removeItem(key);
    },
  };
}

/**
 * TanStack's OnlineDetector interface, told the truth about the server by the bench (the fault switch), where its
 * default WebOnlineDetector would see only navigator.onLine. `setOnline(true)` notifies as the browser's
 * `online` event does: the executor resets its retry delays and runs the outbox at once.
 */
class ServerReachability implements OnlineDetector {
  #listeners = new Set<() => void>();
  constructor(private online: boolean) {}
  setOnline(online: boolean): void {
    this.online = online;
    if (online) this.notifyOnline();
  }
  subscribe(callback: () => void): () => void {
    this.#listeners.add(callback);
    return () => this.#listeners.delete(callback);
  }
  notifyOnline(): void {
    for (const listener of this.#listeners) listener();
  }
  isOnline(): boolean {
    return this.online;
  }
  dispose(): void {
    this.#listeners.clear();
  }
}

(window as unknown as { peers: typeof peers }).peers = peers;
