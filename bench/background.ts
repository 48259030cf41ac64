// In-page half of the Background Sync benchmarks (optimistic puts → pushed, items$ latency, pull of 10,000), each beside its raw platform run; spread into window.bench by bench/page.ts.
import { filter, firstValueFrom, timeout } from 'rxjs';
import { createSyncClient, type Collection, type EntityRecord, type SyncClient } from '../src/index.ts';
import { openSynclineDB } from '../src/testing.ts';
import type { EntityRow } from '../src/engine/db.ts';

const now = () => performance.timeOrigin + performance.now();
const API = `${location.origin}/api`;

type Item = { title: string; n: number };
let client: SyncClient | null = null;
let collection: Collection<Item> | null = null;

async function openClient(namespace: string, name: string): Promise<SyncClient> {
  client?.close();
  // As bench/page.ts opens its clients: the bundled worker, as production ships it.
  client = createSyncClient({
    endpoint: '/api',
    namespace,
    mode: 'shared-worker',
    workerUrl: '/bench-syncline-worker.js',
    healthUrl: `/api/health/${name}`,
  });
  await client.ready(20_000);
  return client;
}

/** Resolves with the time `items$` first emits a value passing `check`. */
function itemsWhen(
  source: Collection<Item>,
  check: (items: EntityRecord<Item>[]) => boolean,
  ms = 120_000,
): Promise<number> {
  return firstValueFrom(source.items$.pipe(filter(check), timeout(ms))).then(() => now());
}

async function requests(name: string): Promise<number> {
  const response = await fetch(`${API}/_admin/stats?pathPrefix=${encodeURIComponent(`/api/${name}/`)}`);
  return ((await response.json()) as { requests: number }).requests;
}

export const backgroundBench = {
  /**
   * `n` optimistic puts over `entities` entities (each put awaited, as a UI awaits its edit), with the server
   * reachable: from the first put to every entity pushed and clean. Requests counted by the server.
   */
  async bgPutsPushed(namespace: string, name: string, n: number, entities: number) {
    const c = await openClient(namespace, name);
    const tasks = c.collection<Item>(name, { pullIntervalMs: 0 });
    await firstValueFrom(tasks.items$);
    const before = await requests(name);
    const t0 = now();
    for (let i = 0; i < n; i++) await tasks.put(`n${i % entities}`, { title: `Item ${i}`, n: i });
    const acked = now();
    const last = new Map<string, number>();
    for (let i = 0; i < n; i++) last.set(`n${i % entities}`, i);
    const t1 = await itemsWhen(
      tasks,
      (items) => items.length === entities && items.every((e) => !e.dirty && e.data.n === last.get(e.id)),
    );
    const sent = (await requests(name)) - before;
    return {
      ms: t1 - t0,
      opsPerSec: (n * 1000) / (t1 - t0),
      putsPerSec: (n * 1000) / (acked - t0),
      requests: sent,
      coalescing: n / sent,
    };
  },

  /** Raw limit of the push: `n` sequential PUTs (fresh key each, body read) from a bare SharedWorker, where the engine pushes from. */
  async bgRawPuts(name: string, n: number) {
    const worker = new SharedWorker(new URL('./raw-worker.ts', import.meta.url), {
      type: 'module',
      name: `raw-bg-${Math.random().toString(36).slice(2)}`,
    });
    const ping = (message: Record<string, unknown>) =>
      new Promise<{ opsPerSec: number; failed: number; error?: string }>((resolve, reject) => {
        worker.port.onmessage = (e) => (e.data.error ? reject(new Error(e.data.error)) : resolve(e.data));
        worker.port.postMessage(message);
      });
    await ping({ cmd: 'ping', id: 0 });
    const r = await ping({ cmd: 'fetch', id: 1, url: `${API}/${name}`, n, conc: 1, method: 'PUT' });
    worker.port.close();
    if (r.failed) throw new Error(`${r.failed} raw PUTs failed`);
    return { opsPerSec: r.opsPerSec };
  },

  /** Fills a collection on the server with `n` entities, in batches of 100 PUTs (set-up only, not timed). */
  async bgSeed(name: string, n: number) {
    for (let start = 0; start < n; start += 100) {
      const ops = Array.from({ length: Math.min(100, n - start) }, (_, k) => ({
        key: `seed-${name}-${start + k}`,
        method: 'PUT',
        path: `/api/${name}/r${start + k}`,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ title: `Item number ${start + k}`, done: false }),
      }));
      const response = await fetch(`${API}/_batch`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ops }),
      });
      const results = ((await response.json()) as { results?: { status: number }[] }).results ?? [];
      if (!response.ok || results.length !== ops.length || results.some((r) => r.status >= 300))
        throw new Error(`seeding batch at ${start}: ${response.status}`);
    }
    return n;
  },

  /** Registers the collection in a fresh client: from the call to `items$` holding all `n` entities. */
  async bgPull(namespace: string, name: string, n: number) {
    const c = await openClient(namespace, name);
    const t0 = now();
    collection = c.collection<Item>(name, { pullIntervalMs: 0 });
    const t1 = await itemsWhen(collection, (items) => items.length === n);
    return { ms: t1 - t0 };
  },

  /** Raw limit of the pull: the same feed pages fetched in turn, each page's rows put into the replica's store in one strict transaction. */
  async bgRawPull(namespace: string, name: string, n: number) {
    const db = await openSynclineDB(namespace);
    const t0 = now();
    let cursor = '';
    let count = 0;
    for (;;) {
      const page = (await (
        await fetch(`${API}/${name}?since=${encodeURIComponent(cursor)}`, { headers: { Accept: 'application/json' } })
      ).json()) as {
        items: { id: string; version: number; data: Record<string, unknown> }[];
        cursor: string;
        hasMore: boolean;
      };
      const tx = db.transaction('entities', 'readwrite', { durability: 'strict' });
      for (const item of page.items) {
        tx.store
          .put({
            collection: name,
            id: item.id,
            data: item.data,
            serverData: item.data,
            baseVersion: item.version,
            dirty: false,
            deleted: false,
            localRev: 0,
            attempts: 0,
            strikes: 0,
            nextAttemptAt: 0,
            updatedAt: Date.now(),
          } as EntityRow)
          .catch(() => {});
      }
      await tx.done;
      count += page.items.length;
      cursor = page.cursor;
      if (!page.hasMore) break;
    }
    const ms = now() - t0;
    db.close();
    if (count !== n) throw new Error(`raw pull saw ${count} items`);
    return { ms };
  },

  /** With the pulled replica (bgPull first): patch one entity → `items$` shows it, in this page, `samples` times. */
  async bgLatency(samples: number) {
    const tasks = collection!;
    const out: number[] = [];
    for (let i = 0; i < samples + 5; i++) {
      const id = `r${(i * 37) % 10_000}`;
      const title = `edit ${i}`;
      const seen = itemsWhen(tasks, (items) => items.find((e) => e.id === id)?.data.title === title, 10_000);
      const t0 = now();
      await tasks.patch(id, { title });
      const t1 = await seen;
      if (i >= 5) out.push(t1 - t0);
    }
    return out;
  },

  /** Raw limit of that latency: one strict put of the row, then getAll of the collection's 10,000 rows (what a view re-reads). */
  async bgRawLatency(namespace: string, name: string, samples: number) {
    const db = await openSynclineDB(namespace);
    const range = IDBKeyRange.bound([name, ''], [name, '\uffff']);
    const out: number[] = [];
    for (let i = 0; i < samples + 5; i++) {
      const id = `r${(i * 37) % 10_000}`;
      const t0 = now();
      // Read and write the row in one strict transaction, as an edit does.
      const tx = db.transaction('entities', 'readwrite', { durability: 'strict' });
      const row = (await tx.store.get([name, id]))!;
      tx.store
        .put({ ...row, data: { ...row.data, title: `edit ${i}` }, dirty: true, localRev: row.localRev + 1 })
        .catch(() => {});
      await tx.done;
      const all = await db.getAll('entities', range);
      if (all.length !== 10_000) throw new Error(`raw getAll saw ${all.length}`);
      if (i >= 5) out.push(now() - t0);
    }
    db.close();
    return out;
  },

  bgClose() {
    client?.close();
    client = null;
    collection = null;
    return true;
  },
};
