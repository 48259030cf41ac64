// In-page half of the benchmark: each scenario's syncline run and its raw platform baseline, exposed as window.bench for bench/runner.ts.
import { openDB } from 'idb';
import { filter, firstValueFrom, timeout, type Subscription } from 'rxjs';
import {
  createSyncClient,
  type Operation,
  type OperationInput,
  type SyncClient,
  type SyncClientOptions,
  type SyncStatus,
} from '../src/index.ts';
import { openSynclineDB, operationId, SyncEngine } from '../src/testing.ts';
import { resolveConfig } from '../src/index.ts';
import { fetchLoops } from './fetch-loops.ts';
import { peekQueueSize } from '../src/runtime/peek.ts';
import { backgroundBench } from './background.ts';

/** Wall-clock milliseconds with sub-ms resolution, comparable between pages of one browser. */
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const API = `${location.origin}/api`;

/** The operation every scenario queues: a JSON POST creating one item. */
function input(collection: string, i: number, lane?: string): OperationInput {
  return {
    kind: 'item.create',
    label: `Create n${i}`,
    ...(lane ? { lane } : {}),
    request: { method: 'POST', url: collection, body: { id: `n${i}`, title: `Item number ${i}`, done: false } },
  };
}

/** The same operation as the engine stores it: the record shape raw baselines write. */
function record(collection: string, i: number, seq: number): Operation {
  const t = Date.now();
  return {
    id: operationId(t),
    seq,
    lane: 'default',
    kind: 'item.create',
    label: `Create n${i}`,
    request: {
      method: 'POST',
      url: `${API}/${collection}`,
      body: { id: `n${i}`, title: `Item number ${i}`, done: false },
    },
    status: 'pending',
    attempts: 0,
    strikes: 0,
    nextAttemptAt: 0,
    createdAt: t,
    updatedAt: t,
  } as Operation;
}

async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${API}/_admin/${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`admin ${method} ${path}: ${response.status}`);
  return response.json();
}
const offline = async (collection: string) => {
  await admin('POST', 'faults', { pathPrefix: `/api/${collection}`, offline: true });
  await admin('POST', 'faults', { pathPrefix: `/api/health/${collection}`, offline: true });
};
const online = async (collection: string) => {
  await admin('DELETE', `faults?pathPrefix=${encodeURIComponent(`/api/${collection}`)}`);
  await admin('DELETE', `faults?pathPrefix=${encodeURIComponent(`/api/health/${collection}`)}`);
};

function options(namespace: string, collection: string, extra: Partial<SyncClientOptions> = {}): SyncClientOptions {
  // The worker as production ships it: one bundled file (see bench/runner.ts, bundledWorker).
  return {
    endpoint: '/api',
    namespace,
    mode: 'shared-worker',
    workerUrl: '/bench-syncline-worker.js',
    healthUrl: `/api/health/${collection}`,
    ...extra,
  };
}

/** An engine in this page over the namespace's database; its fetch always fails, as an unreachable server would. */
async function directEngine(namespace: string, collection: string): Promise<SyncEngine> {
  const config = resolveConfig(options(namespace, collection));
  const db = await openSynclineDB(namespace);
  return SyncEngine.open({ config, db, fetch: () => Promise.reject(new TypeError('Failed to fetch')) });
}

const clients: SyncClient[] = [];
async function openClient(
  namespace: string,
  collection: string,
  extra: Partial<SyncClientOptions> = {},
): Promise<SyncClient> {
  const client = createSyncClient(options(namespace, collection, extra));
  clients.push(client);
  await client.ready(20_000);
  return client;
}

function waitStatus(client: SyncClient, check: (s: SyncStatus) => boolean, ms = 20_000): Promise<SyncStatus> {
  return firstValueFrom(client.status$.pipe(filter(check), timeout(ms)));
}

/** Queues one op with the server unreachable and waits until the engine has found out: later enqueues drain nothing. */
async function parkOffline(client: SyncClient, collection: string): Promise<void> {
  await client.enqueue(input(collection, -1));
  await waitStatus(client, (s) => s.connectivity === 'offline' && !s.syncing);
}

/** Follows a stream's latest value; `until` resolves once a value passes. */
function follow<T>(source: { subscribe(fn: (v: T) => void): Subscription }) {
  let latest: T | undefined;
  let waiters: { check: (v: T) => boolean; resolve: (t: number) => void }[] = [];
  const sub = source.subscribe((v) => {
    latest = v;
    const t = now();
    waiters = waiters.filter((w) => (w.check(v) ? (w.resolve(t), false) : true));
  });
  return {
    get value() {
      return latest;
    },
    /** Resolves with the time the passing value arrived. */
    until(check: (v: T) => boolean, ms = 60_000): Promise<number> {
      if (latest !== undefined && check(latest)) return Promise.resolve(now());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out; last value ${JSON.stringify(latest)}`)), ms);
        waiters.push({
          check,
          resolve: (t) => {
            clearTimeout(timer);
            resolve(t);
          },
        });
      });
    },
    stop: () => sub.unsubscribe(),
  };
}

// ---- a raw SharedWorker for baselines that belong in a worker context ----

let rawWorker: { port: MessagePort; next: number; waiting: Map<number, (v: any) => void> } | null = null;
function rawCall(message: Record<string, unknown>): Promise<any> {
  if (!rawWorker) {
    const worker = new SharedWorker(new URL('./raw-worker.ts', import.meta.url), {
      type: 'module',
      name: `raw-${Math.random().toString(36).slice(2)}`,
    });
    rawWorker = { port: worker.port, next: 1, waiting: new Map() };
    const w = rawWorker;
    worker.port.onmessage = (e) => {
      w.waiting.get(e.data.id)?.(e.data);
      w.waiting.delete(e.data.id);
    };
    worker.onerror = () => {
      for (const resolve of w.waiting.values()) resolve({ error: 'raw worker failed to start' });
    };
  }
  const id = rawWorker.next++;
  const w = rawWorker;
  return new Promise((resolve, reject) => {
    w.waiting.set(id, (v) => (v.error ? reject(new Error(v.error)) : resolve(v)));
    w.port.postMessage({ ...message, id });
  });
}

// ---- cross-tab plumbing: a control channel the runner's two pages talk over ----

let ctl: BroadcastChannel | null = null;
let ctlLatest: { v: number; t: number } | null = null;
let ctlWaiters: { v: number; resolve: (m: { v: number; t: number }) => void }[] = [];
function control(name: string): BroadcastChannel {
  if (ctl) return ctl;
  ctl = new BroadcastChannel(name);
  ctl.onmessage = (e) => {
    ctlLatest = e.data;
    ctlWaiters = ctlWaiters.filter((w) => (w.v === e.data.v ? (w.resolve(e.data), false) : true));
  };
  return ctl;
}
function controlValue(v: number, ms = 10_000): Promise<{ v: number; t: number }> {
  if (ctlLatest?.v === v) return Promise.resolve(ctlLatest);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no count ${v} from the other page (last ${JSON.stringify(ctlLatest)})`)),
      ms,
    );
    ctlWaiters.push({
      v,
      resolve: (m) => {
        clearTimeout(timer);
        resolve(m);
      },
    });
  });
}

/** What drainPrepare left for drainRun. */
let drainState: { client: SyncClient; count: ReturnType<typeof follow<number>> } | null = null;

const bench = {
  ready: true,
  // Background Sync figures (bench/background.ts).
  ...backgroundBench,

  // (a) sequential durable enqueue
  /**
   * a: n sequential enqueues through the engine, n raw strict puts in the page and n strict puts in a bare
   * SharedWorker (the floor for a worker that writes), in alternating blocks of `block` ops, the order turned each
   * round: the disk's flush time drifts by a third from one minute to the next, and interleaved, all three see the
   * same disk. Each rate is over the sum of its own blocks.
   */
  async enqueueSequential(
    namespaces: { engine: string; raw: string; worker: string },
    collection: string,
    n: number,
    block: number,
  ) {
    await offline(collection);
    const client = await openClient(namespaces.engine, collection);
    await parkOffline(client, collection);
    const db = await openSynclineDB(namespaces.raw);
    // The schema comes from the library; the bare worker only writes.
    (await openSynclineDB(namespaces.worker)).close();
    const workerDb = `syncline:${namespaces.worker}`;
    let rawSeq = 0;
    let workerSeq = 0;
    const steps: [keyof typeof ms, (i: number) => Promise<unknown>][] = [
      ['engine', (i) => client.enqueue(input(collection, i))],
      [
        'raw',
        async (i) => {
          const tx = db.transaction('operations', 'readwrite', { durability: 'strict' });
          tx.store.put(record(collection, i, ++rawSeq)).catch(() => {});
          await tx.done;
        },
      ],
      ['worker', (i) => rawCall({ cmd: 'put', db: workerDb, record: record(collection, i, ++workerSeq) })],
    ];
    const ms = { engine: 0, raw: 0, worker: 0 };
    for (const [, step] of steps) for (let i = 0; i < 10; i++) await step(1e6 + i);
    for (let first = 0, round = 0; first < n; first += block, round++) {
      for (let k = 0; k < steps.length; k++) {
        const [which, step] = steps[(k + round) % steps.length]!;
        const t0 = now();
        for (let i = first; i < Math.min(n, first + block); i++) await step(i);
        ms[which] += now() - t0;
      }
    }
    db.close();
    await rawCall({ cmd: 'close', db: workerDb });
    const rate = (total: number) => (n * 1000) / total;
    return { engine: rate(ms.engine), raw: rate(ms.raw), worker: rate(ms.worker) };
  },

  /** Breakdown: the same engine hosted in this page (no worker, no RPC), server unreachable through a rejecting fetch. */
  async directEnqueue(namespace: string, collection: string, n: number, bulk: boolean) {
    const engine = await directEngine(namespace, collection);
    const prepared = (i: number) => ({
      ...input(collection, i),
      request: { ...input(collection, i).request, url: `${API}/${collection}` },
    });
    await engine.enqueue([prepared(-1)]);
    await sleep(100);
    let ms: number;
    if (bulk) {
      const inputs = Array.from({ length: n }, (_, i) => prepared(i));
      const t0 = now();
      await engine.enqueue(inputs);
      ms = now() - t0;
    } else {
      for (let i = 0; i < 10; i++) await engine.enqueue([prepared(1e6 + i)]);
      const t0 = now();
      for (let i = 0; i < n; i++) await engine.enqueue([prepared(i)]);
      ms = now() - t0;
    }
    engine.close();
    return { ms, opsPerSec: (n * 1000) / ms };
  },
  /** Breakdown: a bare port round trip to a SharedWorker, n times in sequence. */
  async portRoundTrips(n: number) {
    await rawCall({ cmd: 'ping' });
    const t0 = now();
    for (let i = 0; i < n; i++) await rawCall({ cmd: 'ping' });
    const ms = now() - t0;
    return { ms, perCallMs: ms / n };
  },
  /** Breakdown of the drain: the engine's per-op transaction shape alone (settle the sent op, claim the lane's next), relaxed, in sequence. */
  async rawSettleClaim(namespace: string, collection: string, n: number) {
    const db = await openSynclineDB(namespace);
    const fill = db.transaction('operations', 'readwrite', { durability: 'strict' });
    const records = Array.from({ length: n }, (_, i) => record(collection, i, i + 1));
    for (const r of records) fill.store.put(r).catch(() => {});
    await fill.done;
    const t0 = now();
    let sent: Operation | null = null;
    for (let i = 0; i <= n; i++) {
      const tx = db.transaction(['operations', 'meta'], 'readwrite', { durability: 'relaxed' });
      const store = tx.objectStore('operations');
      if (sent) {
        const current = await store.get([sent.lane, sent.seq]);
        if (current) store.delete([current.lane, current.seq]).catch(() => {});
        tx.objectStore('meta')
          .put(Date.now(), 'lastSyncAt')
          .catch(() => {});
      }
      const head = await store.get(IDBKeyRange.bound(['default', -Infinity], ['default', Infinity]));
      sent = head ? ({ ...head, status: 'sending', attempts: 1 } as Operation) : null;
      if (sent) store.put(sent).catch(() => {});
      await tx.done;
    }
    const ms = now() - t0;
    db.close();
    return { ms, opsPerSec: (n * 1000) / ms };
  },

  // (b) bulk enqueue
  async enqueueBulk(namespace: string, collection: string, n: number) {
    await offline(collection);
    const client = await openClient(namespace, collection);
    await parkOffline(client, collection);
    const inputs = Array.from({ length: n }, (_, i) => input(collection, i));
    const t0 = now();
    const ops = await client.enqueueMany(inputs);
    const ms = now() - t0;
    if (ops.length !== n) throw new Error(`enqueueMany returned ${ops.length} ops`);
    return { ms };
  },
  async rawPutBulk(namespace: string, collection: string, n: number, bare = false) {
    const db = bare
      ? await openDB(`bench-bare:${namespace}`, 1, {
          upgrade: (d) => void d.createObjectStore('operations', { keyPath: 'id' }),
        })
      : await openSynclineDB(namespace);
    const records = Array.from({ length: n }, (_, i) => record(collection, i, i + 1));
    const t0 = now();
    const tx = (db as Awaited<ReturnType<typeof openSynclineDB>>).transaction('operations', 'readwrite', {
      durability: 'strict',
    });
    for (const r of records) tx.store.put(r).catch(() => {});
    await tx.done;
    const ms = now() - t0;
    db.close();
    return { ms };
  },

  // (c) cross-tab latency. Page B listens and reports every count it sees on the control channel.
  async crossTabListen(namespace: string, collection: string, channel: string) {
    const bc = control(channel);
    const client = await openClient(namespace, collection);
    client.pendingCount$.subscribe((v) => bc.postMessage({ v, t: now() }));
    await firstValueFrom(client.pendingCount$);
    return true;
  },
  async crossTabPrepare(namespace: string, collection: string, channel: string) {
    control(channel);
    await offline(collection);
    const client = await openClient(namespace, collection);
    await parkOffline(client, collection);
    return true;
  },
  async crossTabDrive(collection: string, n: number) {
    const client = clients.at(-1)!;
    await sleep(50);
    let base = ctlLatest?.v ?? 0;
    const samples: number[] = [];
    for (let i = 0; i < n + 5; i++) {
      const t0 = now();
      const done = client.enqueue(input(collection, i));
      const seen = await controlValue(++base);
      await done;
      if (i >= 5) samples.push(seen.t - t0);
      await sleep(2);
    }
    return samples;
  },
  /** Raw limit, page B side: echo every message back at once. */
  rawEchoListen(channel: string) {
    const bc = new BroadcastChannel(channel);
    bc.onmessage = (e) => bc.postMessage({ i: e.data.i, tB: now() });
    return true;
  },
  /** Raw limit, page A side: strict put, then a BroadcastChannel round trip to page B. */
  async rawCommitRoundTrip(namespace: string, collection: string, channel: string, n: number) {
    const db = await openSynclineDB(namespace);
    const bc = new BroadcastChannel(channel);
    let answer: ((m: { i: number; tB: number; at: number }) => void) | null = null;
    bc.onmessage = (e) => answer?.({ ...e.data, at: now() });
    const total: number[] = [];
    const commit: number[] = [];
    const roundTrip: number[] = [];
    const oneWay: number[] = [];
    const back: number[] = [];
    for (let i = 0; i < n + 5; i++) {
      const t0 = now();
      const tx = db.transaction('operations', 'readwrite', { durability: 'strict' });
      tx.store.put(record(collection, i, i + 1)).catch(() => {});
      await tx.done;
      const t1 = now();
      const echo = new Promise<{ i: number; tB: number; at: number }>((r) => (answer = r));
      bc.postMessage({ i });
      const m = await echo;
      if (i >= 5) {
        total.push(m.at - t0);
        commit.push(t1 - t0);
        roundTrip.push(m.at - t1);
        oneWay.push(m.tB - t1);
        back.push(m.at - m.tB);
      }
      await sleep(2);
    }
    bc.close();
    db.close();
    return { total, commit, roundTrip, oneWay, back };
  },

  // (d) drain to the reference server
  /** The drain's first half: n ops queued with the server unreachable, the engine known to be offline. */
  async drainPrepare(namespace: string, collection: string, n: number, lanes: number, batch: boolean) {
    await offline(collection);
    const client = await openClient(namespace, collection, { laneConcurrency: lanes, batch });
    const inputs = Array.from({ length: n }, (_, i) => input(collection, i, lanes > 1 ? `l${i % lanes}` : undefined));
    for (let i = 0; i < n; i += 1000) await client.enqueueMany(inputs.slice(i, i + 1000));
    await waitStatus(client, (s) => s.connectivity === 'offline' && !s.syncing);
    const count = follow<number>(client.pendingCount$);
    await count.until((v) => v === n);
    drainState = { client, count };
    return true;
  },
  /** The drain's timed half: the server back, syncNow(), until pendingCount$ is 0 in this page. */
  async drainRun(collection: string, n: number) {
    if (!drainState) throw new Error('drainPrepare first');
    const { client, count } = drainState;
    drainState = null;
    await online(collection);
    await sleep(20);
    const t0 = now();
    await client.syncNow();
    const t1 = await count.until((v) => v === 0, 120_000);
    count.stop();
    const ms = t1 - t0;
    const stats = (await admin('GET', `stats?pathPrefix=${encodeURIComponent(`/api/${collection}`)}`)) as {
      requests: number;
    };
    return { ms, opsPerSec: (n * 1000) / ms, serverRequests: stats.requests };
  },
  /** Raw limit: `conc` loops of sequential fetch POSTs (same shape and headers as the engine's), from this page or a SharedWorker. */
  async rawFetch(collection: string, n: number, conc: number, where: 'page' | 'worker') {
    if (where === 'worker') {
      await rawCall({ cmd: 'ping' });
      return rawCall({ cmd: 'fetch', url: `${API}/${collection}`, n, conc });
    }
    return fetchLoops(`${API}/${collection}`, n, conc);
  },

  // (e) cold start
  async coldStart(namespace: string, collection: string) {
    await offline(collection);
    const t0 = now();
    const client = createSyncClient(options(namespace, collection));
    clients.push(client);
    let readyAt = 0;
    const ready = client.ready(20_000).then(() => (readyAt = now()));
    const value = await firstValueFrom(client.pendingCount$);
    const t1 = now();
    await ready;
    return { ms: t1 - t0, readyMs: readyAt - t0, value };
  },
  async rawColdCount(namespace: string) {
    const t0 = now();
    const db = await openDB(`syncline:${namespace}`);
    const value = await db.count('operations');
    const ms = now() - t0;
    db.close();
    return { ms, value };
  },
  /** Breakdown: the page's own early read alone (no client, no worker starting beside it); `listMs` is databases(). */
  async peekColdCount(namespace: string) {
    const t0 = now();
    await indexedDB.databases();
    const listMs = now() - t0;
    const t1 = now();
    const value = await peekQueueSize(namespace);
    return { ms: now() - t1, listMs, value };
  },
  /** Breakdown: the engine opened in this (fresh) page, no worker: open DB, SyncEngine.open (status counts), count(). */
  async directColdStart(namespace: string, collection: string) {
    const t0 = now();
    const engine = await directEngine(namespace, collection);
    const opened = now();
    const value = await engine.count({});
    const ms = now() - t0;
    engine.close();
    return { ms, openMs: opened - t0, value };
  },
  /** Info: a minimal module SharedWorker started cold that opens the database and counts. */
  async rawWorkerColdCount(namespace: string) {
    const t0 = now();
    const worker = new SharedWorker(new URL('./raw-worker.ts', import.meta.url), {
      type: 'module',
      name: `cold-${Math.random().toString(36).slice(2)}`,
    });
    const reply = await new Promise<{ value: number }>((resolve) => {
      worker.port.onmessage = (e) => resolve(e.data);
      worker.port.postMessage({ cmd: 'count', db: `syncline:${namespace}`, id: 0 });
    });
    const ms = now() - t0;
    worker.port.close();
    return { ms, value: reply.value };
  },

  // (f), (g) elements
  async loadElements() {
    try {
      await import('../components/define.ts');
    } catch (error) {
      // Say which module failed: Vite answers a failed transform with a status and a message.
      const response = await fetch(new URL('../components/define.ts', import.meta.url));
      throw new Error(
        `${(error as Error).message} (GET define.ts: ${response.status} ${(await response.text()).slice(0, 300)})`,
        { cause: error },
      );
    }
    return true;
  },
  async fillQueue(namespace: string, collection: string, n: number) {
    await offline(collection);
    const client = await openClient(namespace, collection);
    await parkOffline(client, collection);
    for (let i = 0; i < n - 1; i += 2000)
      await client.enqueueMany(Array.from({ length: Math.min(2000, n - 1 - i) }, (_, k) => input(collection, i + k)));
    const count = follow<number>(client.pendingCount$);
    await count.until((v) => v === n);
    count.stop();
    return n;
  },
  /** Appends a <sync-outbox> to a provider holding an already-connected client; resolves when real rows are in its shadow DOM. */
  async outboxFirstRender(namespace: string, collection: string) {
    const client = await openClient(namespace, collection);
    const count = follow<number>(client.pendingCount$);
    const total = await count.until(() => true).then(() => count.value!);
    count.stop();
    const provider = document.createElement('sync-provider') as HTMLElement & { client?: SyncClient };
    provider.client = client;
    document.body.append(provider);
    await sleep(50);
    const outbox = document.createElement('sync-outbox');
    outbox.style.cssText = 'display:block;height:600px;width:800px';
    const rows = () => outbox.shadowRoot?.querySelectorAll('[part~="item"]').length ?? 0;
    const t0 = now();
    provider.append(outbox);
    const t1 = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no rows after 20 s (${rows()} rows)`)), 20_000);
      const finish = () => {
        clearTimeout(timer);
        observer.disconnect();
        clearInterval(poll);
        resolve(now());
      };
      const observer = new MutationObserver(() => {
        if (rows() > 0) finish();
      });
      if (outbox.shadowRoot)
        observer.observe(outbox.shadowRoot, { childList: true, subtree: true, characterData: true });
      const poll = setInterval(() => {
        if (rows() > 0) finish();
      }, 2);
      if (rows() > 0) finish();
    });
    const rendered = rows();
    provider.remove();
    return { ms: t1 - t0, rows: rendered, total };
  },
  /** Enqueue → <pending-badge> text changes, beside enqueue → this page's own pendingCount$ value. */
  async badgeLatency(namespace: string, collection: string, n: number) {
    await offline(collection);
    const client = await openClient(namespace, collection);
    await parkOffline(client, collection);
    const provider = document.createElement('sync-provider') as HTMLElement & { client?: SyncClient };
    provider.client = client;
    const badge = document.createElement('pending-badge');
    provider.append(badge);
    document.body.append(provider);
    const count = follow<number>(client.pendingCount$);
    const text = () =>
      (badge.shadowRoot?.textContent ?? '') +
      '|' +
      (badge.textContent ?? '') +
      '|' +
      (badge.getAttribute('aria-label') ?? '');
    await count.until((v) => v >= 1);
    await sleep(100);
    const badgeSamples: number[] = [];
    const streamSamples: number[] = [];
    let base = count.value!;
    for (let i = 0; i < n + 5; i++) {
      const before = text();
      const t0 = now();
      const changed = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`badge text did not change from "${before}"`)), 5_000);
        const finish = () => {
          clearTimeout(timer);
          observer.disconnect();
          clearInterval(poll);
          resolve(now());
        };
        const observer = new MutationObserver(() => {
          if (text() !== before) finish();
        });
        observer.observe(badge.shadowRoot!, { childList: true, subtree: true, characterData: true, attributes: true });
        observer.observe(badge, { attributes: true, childList: true, subtree: true, characterData: true });
        const poll = setInterval(() => {
          if (text() !== before) finish();
        }, 2);
      });
      const seen = count.until((v) => v === base + 1);
      await client.enqueue(input(collection, i));
      base++;
      const [tb, ts] = await Promise.all([changed, seen]);
      if (i >= 5) {
        badgeSamples.push(tb - t0);
        streamSamples.push(ts - t0);
      }
      await sleep(5);
    }
    count.stop();
    provider.remove();
    return { badge: badgeSamples, stream: streamSamples, text: text() };
  },

  /** Deletes every database a bench run left behind (the workers are gone by now). */
  async cleanup() {
    for (const c of clients.splice(0)) c.close();
    const dbs = await indexedDB.databases();
    let deleted = 0;
    for (const { name } of dbs) {
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
  closeClients() {
    for (const c of clients.splice(0)) c.close();
    return true;
  },
};

(window as unknown as { bench: typeof bench }).bench = bench;
