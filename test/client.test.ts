// The main-thread client over each runtime: the same API, streams that follow the queue, typed errors.
import { expect } from '@open-wc/testing';
import { filter, firstValueFrom, type Observable } from 'rxjs';
import { createSyncClient, resolveConfig, SynclineError, type SyncClient, type SyncMode } from '../src/index.ts';
import { databaseName, deleteSynclineDB } from '../src/testing.ts';
import { DB_VERSION, engineLockName, workerName } from '../src/runtime/names.ts';
import {
  API,
  addFault,
  eventually,
  requestCount,
  serverItems,
  serverPut,
  uniqueName,
  unreachable,
} from './support/server.ts';
import { follow } from './support/frames.ts';
import { failReads } from './support/databases.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** What a test leaves to undo, undone after it (last first), pass or fail. */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A shared-worker client's options for a test's own namespace and collection. */
const workerOptions = (namespace: string, collection: string) => ({
  endpoint: '/api',
  namespace,
  mode: 'shared-worker' as const,
  healthUrl: `/api/health/${collection}`,
});

/** Clears what a test leaves: its collection's routes back on the network, and its database (a worker may hold it a moment). */
async function forget(namespace: string, collection: string): Promise<void> {
  await unreachable(collection, false);
  await Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]);
}

for (const mode of ['in-page', 'shared-worker', 'leader-tab'] as SyncMode[]) {
  describe(`client (${mode})`, () => {
    let client: SyncClient;
    let namespace: string;
    let collection: string;
    beforeEach(() => {
      namespace = uniqueName(`cl-${mode}`);
      collection = uniqueName('c');
      client = createSyncClient({
        endpoint: '/api',
        namespace,
        mode,
        heartbeatMs: 200,
        healthUrl: `/api/health/${collection}`,
      });
    });
    afterEach(async () => {
      client.close();
      await forget(namespace, collection);
    });

    it('enqueues, streams the pending count and the operations, and drains', async () => {
      await addFault({ pathPrefix: `/api/${collection}`, latencyMs: 150 });
      const count = follow(client.pendingCount$);
      const ops = follow(client.operations$);
      const op = await client.enqueue({
        kind: 'item.create',
        label: 'Create a',
        request: { method: 'POST', url: collection, body: { id: 'a' } },
        entity: { type: collection, id: 'a' },
      });
      expect(op.request.url).to.equal(`${API}/${collection}`);
      expect(op.seq).to.equal(1);
      await eventually(() => count.values.includes(1), 5000, 'count 1');
      await eventually(() => count.value === 0 && ops.value?.length === 0, 5000, 'drained');
      expect(ops.values.some((list) => list.some((o) => o.id === op.id && o.status === 'sending'))).to.equal(true);
      expect((await serverItems(collection)).map((i) => i.id)).to.deep.equal(['a']);
      count.stop();
      ops.stop();
    });

    it('reports its runtime, connectivity and counts in status$', async () => {
      const status = follow(client.status$);
      await eventually(() => status.value?.connected === true, 5000, 'connected');
      expect(status.value).to.include({ runtime: mode, connectivity: 'online', paused: null });
      expect(status.value!.hostedHere).to.equal(mode !== 'shared-worker');
      expect(status.value!.continuesAfterClose).to.equal(false);
      expect(status.value!.clients).to.equal(1);
      status.stop();
    });

    if (mode !== 'in-page')
      it('counts a second client of the same page (another micro-frontend) as the same tab, not one that keeps sending', async () => {
        const second = createSyncClient({ endpoint: '/api', namespace, mode, healthUrl: `/api/health/${collection}` });
        try {
          const status = follow(second.status$);
          await eventually(() => status.value?.connected === true, 5000, 'the second connected');
          const first = follow(client.status$);
          await eventually(() => first.value?.connected === true, 5000, 'the first connected');
          // Both are served (one answers a call through the engine), and the page is one tab.
          expect(
            (
              await second.enqueue({
                kind: 'x',
                label: 'x',
                request: { method: 'POST', url: collection, body: { id: 'p' } },
              })
            ).seq,
          ).to.equal(1);
          expect(status.value!.clients).to.equal(1);
          expect(status.value!.continuesAfterClose).to.equal(false);
          expect(first.value!.continuesAfterClose).to.equal(false);
          status.stop();
          first.stop();
        } finally {
          second.close();
        }
      });

    it('rejects bad input with a typed error through the RPC', async () => {
      let error: unknown;
      try {
        await client.enqueue({
          kind: 'x',
          label: 'x',
          request: { method: 'POST', url: collection, headers: { Cookie: 'a=b' } },
        });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(SynclineError);
      expect((error as SynclineError).code).to.equal('invalid-operation');
      expect(await firstValueFrom(client.pendingCount$)).to.equal(0);
    });

    it('serves a live window of the queue and filtered counts', async () => {
      await unreachable(collection);
      await client.enqueueMany(
        Array.from({ length: 30 }, (_, i) => ({
          kind: i % 2 ? 'odd' : 'even',
          label: `#${i}`,
          lane: i < 10 ? 'x' : 'y',
          request: { method: 'POST' as const, url: collection, body: { id: `n${i}` } },
        })),
      );
      expect(await client.lanes()).to.deep.equal(['x', 'y']);
      const laneWindow = follow(client.window$({ lane: 'y' }, 2, 3));
      await eventually(() => laneWindow.value !== undefined, 5000, 'lane window');
      expect(laneWindow.value!.total).to.equal(20);
      expect(laneWindow.value!.items.map((o) => o.label)).to.deep.equal(['#12', '#13', '#14']);
      laneWindow.stop();
      const win = follow(client.window$({}, 10, 5));
      await eventually(() => win.value !== undefined, 5000, 'window');
      expect(win.value!.total).to.equal(30);
      expect(win.value!.items.map((o) => o.label)).to.deep.equal(['#10', '#11', '#12', '#13', '#14']);
      const odd = follow(client.count$({ kind: 'odd' }));
      const laneX = follow(client.count$({ lane: 'x' }));
      await eventually(() => odd.value === 15 && laneX.value === 10, 5000, 'filtered counts');
      const first = win.value!.items[0]!;
      await client.discard(first.id);
      await eventually(
        () => win.value!.total === 29 && win.value!.items[0]!.label === '#11',
        5000,
        'window follows a discard',
      );
      expect(await client.clear().catch((e: SynclineError) => e.code)).to.equal('unsent-operations');
      expect(await client.clear({ discardUnsent: true })).to.equal(29);
      await eventually(() => odd.value === 0 && laneX.value === 0, 5000, 'cleared');
      win.stop();
      odd.stop();
      laneX.stop();
    });
  });
}

describe('message validation', () => {
  it('drops malformed messages on a worker port and refuses a hello for another namespace; the engine goes on', async () => {
    const namespace = uniqueName('garbage');
    const collection = uniqueName('c');
    const client = createSyncClient({ endpoint: '/api', namespace, mode: 'shared-worker', heartbeatMs: 200 });
    await client.ready();
    // A second port to the very same worker (same script URL and name), used by a hostile or buggy page.
    // Same script, name and options as the client's (a different extendedLifetime would be refused).
    const worker = new SharedWorker(new URL('../src/worker.ts', import.meta.url), {
      type: 'module',
      name: workerName(namespace),
      extendedLifetime: true,
    } as WorkerOptions);
    const heard: unknown[] = [];
    worker.port.onmessage = (event) => heard.push(event.data);
    for (const junk of [
      42,
      null,
      'hello',
      { t: 'call', id: 'x', method: 'enqueue', args: [] },
      { t: 'call', id: 1, method: 'close', args: [] },
      { t: 'sub', id: 2, query: { topic: 'everything' } },
      { t: 'hello', client: 7 },
    ])
      worker.port.postMessage(junk);
    const config = (await import('../src/index.ts')).resolveConfig({ endpoint: '/api', namespace: 'someone-else' });
    worker.port.postMessage({
      t: 'hello',
      client: 'intruder',
      config,
      online: true,
      visible: true,
      canAuthorize: false,
    });
    worker.port.postMessage({ t: 'call', id: 3, method: 'list', args: [{}] });
    await new Promise((r) => setTimeout(r, 500));
    // No welcome and no data for the other namespace's hello; its call only gets "say hello again".
    expect(heard.some((m) => (m as { t?: string }).t === 'welcome' || (m as { t?: string }).t === 'result')).to.equal(
      false,
    );
    expect(heard.some((m) => (m as { t?: string }).t === 'reset')).to.equal(true);
    const count = follow(client.pendingCount$);
    await client.enqueue({
      kind: 'x',
      label: 'still fine',
      request: { method: 'POST', url: collection, body: { id: 'a' } },
    });
    await eventually(() => count.value === 0, 10_000, 'the engine still drains');
    count.stop();
    worker.port.close();
    client.close();
  });

  it('drops malformed BroadcastChannel messages in leader-tab mode', async () => {
    const namespace = uniqueName('bcjunk');
    const collection = uniqueName('c');
    const client = createSyncClient({ endpoint: '/api', namespace, mode: 'leader-tab', heartbeatMs: 200 });
    await client.ready();
    const channel = new BroadcastChannel(`syncline:${namespace}`);
    for (const junk of [
      1,
      { m: 'x' },
      { from: 5, m: {} },
      { from: 'z', m: { t: 'call' } },
      { from: 'z', m: { t: 'hello' } },
    ])
      channel.postMessage(junk);
    const count = follow(client.pendingCount$);
    await client.enqueue({
      kind: 'x',
      label: 'still fine',
      request: { method: 'POST', url: collection, body: { id: 'a' } },
    });
    await eventually(() => count.value === 0, 10_000, 'the leader still drains');
    count.stop();
    channel.close();
    client.close();
  });
});

describe('reconnection', () => {
  it('counts a tab that reconnected to the same worker once', async () => {
    const namespace = uniqueName('reconnect');
    const client = createSyncClient({ endpoint: '/api', namespace, mode: 'shared-worker', heartbeatMs: 200 });
    const status = follow(client.status$);
    await eventually(() => status.value?.connected === true && status.value.clients === 1, 5000, 'connected');
    // What a tab does when it takes its worker for dead (a starved heartbeat): a new port, the same tab id.
    (client as unknown as { connection: { reconnect(): void } }).connection.reconnect();
    await eventually(() => status.values.some((s) => !s.connected), 5000, 'reconnecting');
    await eventually(() => status.value?.connected === true, 5000, 'reconnected');
    await new Promise((r) => setTimeout(r, 300));
    expect(status.value!.clients).to.equal(1);
    expect(status.value!.continuesAfterClose).to.equal(false);
    status.stop();
    client.close();
  });
});

describe('client runtime fallback', () => {
  it('falls back to a leader tab when the SharedWorker will not start (auto mode)', async () => {
    const namespace = uniqueName('fallback');
    const collection = uniqueName('c');
    const client = createSyncClient({ endpoint: '/api', namespace, workerUrl: '/no/such/worker.js', heartbeatMs: 200 });
    const status = follow(client.status$);
    await eventually(() => status.value?.connected === true, 10_000, 'connected after fallback');
    expect(status.value).to.include({ runtime: 'leader-tab', hostedHere: true });
    const count = follow(client.pendingCount$);
    await client.enqueue({ kind: 'x', label: 'x', request: { method: 'POST', url: collection, body: { id: 'a' } } });
    await eventually(() => count.value === 0, 10_000, 'drained by the leader');
    expect((await serverItems(collection)).map((i) => i.id)).to.deep.equal(['a']);
    status.stop();
    count.stop();
    client.close();
    await deleteSynclineDB(namespace);
  });
});

/** `make` throws SynclineError invalid-config naming the option `name`; `input` labels a failure. */
function expectInvalidConfig(make: () => unknown, name: string, input: unknown): void {
  let error: unknown;
  try {
    make();
  } catch (e) {
    error = e;
  }
  const label = `${name}: ${String(JSON.stringify(input) ?? input)}`;
  expect(error, label).to.be.instanceOf(SynclineError);
  expect((error as SynclineError).code, label).to.equal('invalid-config');
  expect((error as SynclineError).message, label).to.contain(`\`${name}\``);
}

describe('client configuration', () => {
  it('refuses a bad namespace or endpoint with a typed error', () => {
    expect(() => createSyncClient({ endpoint: '/api', namespace: 'a b' })).to.throw(SynclineError);
    expect(() => createSyncClient({ endpoint: 'http://[', namespace: 'ok' })).to.throw(SynclineError);
  });

  it('refuses tunables the engine cannot run with, naming the option: NaN, negative, past a timer, not whole, unknown modes', () => {
    const refused: [string, Record<string, unknown>][] = [
      ['backoffBaseMs', { backoffBaseMs: Number.NaN }],
      ['backoffCapMs', { backoffCapMs: -1 }],
      ['maxRetryAfterMs', { maxRetryAfterMs: 2 ** 31 }],
      ['requestTimeoutMs', { requestTimeoutMs: 0 }],
      ['requestTimeoutMs', { requestTimeoutMs: Infinity }],
      ['probeIntervalMs', { probeIntervalMs: '5000' }],
      ['authorizeTimeoutMs', { authorizeTimeoutMs: 2 ** 32 }],
      ['maxAttempts', { maxAttempts: 0 }],
      ['laneConcurrency', { laneConcurrency: 1.5 }],
      ['batchMaxOps', { batchMaxOps: -3 }],
      ['maxPayloadBytes', { maxPayloadBytes: null }],
      ['credentials', { credentials: 'always' }],
      ['durability', { durability: 'fast' }],
      ['batch', { batch: 'yes' }],
      ['batch', { batch: [1] }],
      ['allowedOrigins', { allowedOrigins: 'https://a.example' }],
      ['allowedOrigins', { allowedOrigins: ['http://['] }],
      // Read against the page, these allowed the page's own origin instead.
      ['allowedOrigins', { allowedOrigins: ['api.example.com'] }],
      ['allowedOrigins', { allowedOrigins: ['/elsewhere'] }],
      ['allowedOrigins', { allowedOrigins: ['ftp://files.example'] }],
    ];
    for (const [name, bad] of refused)
      expectInvalidConfig(() => resolveConfig({ endpoint: '/api', namespace: 'tunables', ...bad }), name, bad);
    // The edges that are allowed: no backoff at all, one attempt, a timer's longest wait.
    const edge = resolveConfig({
      endpoint: '/api',
      namespace: 'tunables',
      backoffBaseMs: 0,
      maxAttempts: 1,
      maxRetryAfterMs: 2 ** 31 - 1,
    });
    expect(edge).to.include({ backoffBaseMs: 0, maxAttempts: 1, maxRetryAfterMs: 2 ** 31 - 1 });
  });

  it("refuses the tab's own timers a timer cannot hold (Infinity fired every call's timeout at once) and an unknown mode, naming the option", () => {
    const refused: [string, Record<string, unknown>][] = [
      ['callTimeoutMs', { callTimeoutMs: Infinity }],
      ['callTimeoutMs', { callTimeoutMs: 2 ** 31 }],
      ['startTimeoutMs', { startTimeoutMs: 0 }],
      ['heartbeatMs', { heartbeatMs: Number.NaN }],
      ['callTimeoutMs', { callTimeoutMs: -1 }],
      ['mode', { mode: 'bogus' }],
      // Called at the first request, it failed, and every request waited for credentials.
      ['authorize', { authorize: 'Bearer abc' }],
    ];
    for (const [name, bad] of refused)
      expectInvalidConfig(
        () => createSyncClient({ endpoint: '/api', namespace: uniqueName('timers'), mode: 'in-page', ...bad }).close(),
        name,
        bad,
      );
  });

  it('refuses a missing, empty or blank endpoint with invalid-config naming `endpoint` (not the page URL)', async () => {
    const namespace = uniqueName('no-endpoint');
    for (const endpoint of [undefined, null, '', '   ', 7])
      // Closed at once if made: a client made with the page URL as its endpoint must not linger.
      expectInvalidConfig(
        () => createSyncClient({ endpoint: endpoint as unknown as string, namespace, mode: 'in-page' }).close(),
        'endpoint',
        endpoint,
      );
    await Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]);
  });

  it('refuses a collection the engine would refuse, when it is asked for, and keeps no handle for it', async () => {
    const namespace = uniqueName('coll');
    const client = createSyncClient({ endpoint: '/api', namespace, mode: 'in-page' });
    try {
      const refused: [string, () => unknown][] = [
        ['a name with a space', () => client.collection('a b')],
        ['an empty name', () => client.collection('')],
        ['a number for a name', () => client.collection(7 as unknown as string)],
        ['a name starting with a dot', () => client.collection('.x')],
        ['an unknown strategy', () => client.collection('ok1', { conflict: 'theirs' as never })],
        ['a negative interval', () => client.collection('ok2', { pullIntervalMs: -1 })],
        ['an interval past a timer', () => client.collection('ok3', { pullIntervalMs: 2 ** 31 })],
        ['a string interval', () => client.collection('ok4', { pullIntervalMs: '1000' as never })],
        ['another origin', () => client.collection('ok5', { url: 'https://elsewhere.example/tasks' })],
      ];
      for (const [name, make] of refused) {
        expect(make, name).to.throw(SynclineError);
        try {
          make();
        } catch (error) {
          expect((error as SynclineError).code, name).to.equal('invalid-config');
        }
      }
      // Nothing was kept for a refused one: asked again with good options, it is a working collection.
      const collection = uniqueName('c');
      const tasks = client.collection('ok1', { url: collection, conflict: 'server-wins', pullIntervalMs: 0 });
      await tasks.put('t1', { title: 'x' });
      await eventually(async () => (await serverItems(collection)).length === 1, 10_000, 'pushed');
    } finally {
      client.close();
      await deleteSynclineDB(namespace);
    }
  });

  it("rejects settled() with a typed error when the engine cannot read the operation's fate, never waits for good", async () => {
    const namespace = uniqueName('settled');
    const collection = uniqueName('c');
    const client = createSyncClient({
      endpoint: '/api',
      namespace,
      mode: 'in-page',
      healthUrl: `/api/health/${collection}`,
    });
    await unreachable(collection);
    const op = await client.enqueue({ kind: 'x', label: 'x', request: { method: 'POST', url: collection, body: {} } });
    // The engine runs in this page: its reads of the results fail, as a storage failure would.
    const failing = failReads('results');
    try {
      const outcome = await Promise.race([
        client.settled(op.id).then(
          () => 'settled',
          (e: unknown) => e,
        ),
        new Promise((r) => setTimeout(() => r('still waiting after 5 s'), 5_000)),
      ]);
      expect(outcome).to.be.instanceOf(SynclineError);
      expect((outcome as SynclineError).code).to.equal('storage');
    } finally {
      failing.restore();
      client.close();
      await unreachable(collection, false);
      await deleteSynclineDB(namespace);
    }
  });

  it('refuses to delete the database of a namespace that could not exist, and deletes nothing', async () => {
    // A logout calling deleteSynclineDB() with no namespace used to resolve, having deleted "syncline:undefined".
    const kept = databaseName('undefined');
    await new Promise<void>((resolve, reject) => {
      const open = indexedDB.open(kept);
      open.onsuccess = () => (open.result.close(), resolve());
      open.onerror = () => reject(open.error);
    });
    for (const bad of [undefined, null, '', 'a b', 7, {}]) {
      const error = await deleteSynclineDB(bad as unknown as string).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, String(bad)).to.be.instanceOf(SynclineError);
      expect((error as SynclineError).code, String(bad)).to.equal('invalid-config');
    }
    expect((await indexedDB.databases()).map((d) => d.name)).to.include(kept);
    await deleteSynclineDB('undefined');
    expect((await indexedDB.databases()).map((d) => d.name)).not.to.include(kept);
  });
});

describe('cold start', () => {
  it('does not show the count read at page load to a first pendingCount$ subscriber during a later reconnect', async function () {
    // The engine after a logout starts on a fresh database: slow on a loaded machine.
    this.timeout(40_000);
    const namespace = uniqueName('cold-later');
    const collection = uniqueName('c');
    const options = { endpoint: '/api', namespace, mode: 'in-page' as const, healthUrl: `/api/health/${collection}` };
    await unreachable(collection);
    cleanups.push(() => unreachable(collection, false));
    const first = createSyncClient(options);
    const ops = await first.enqueueMany(
      [1, 2, 3].map((i) => ({
        kind: 'x',
        label: `#${i}`,
        request: { method: 'POST' as const, url: collection, body: { id: `n${i}` } },
      })),
    );
    first.close();
    // The first client's engine is gone before the second client is made.
    await navigator.locks.request(engineLockName(namespace), async () => {});
    const second = createSyncClient(options); // its early read finds 3
    cleanups.push(() => second.close());
    cleanups.push(() => Promise.race([deleteSynclineDB(namespace), sleep(2000)]));
    await second.ready(10_000);
    for (const op of ops) expect(await second.discard(op.id)).to.equal(true);
    expect(await firstValueFrom(second.count$().pipe(filter((n) => n === 0)))).to.equal(0);

    // Another tab logs out (deleteSynclineDB): the engine steps aside, and the next one waits for the deletion, which
    // a connection of the test's own holds up (it ignores versionchange) until the test lets it through.
    const holder = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open(databaseName(namespace));
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const status = follow(second.status$);
    cleanups.push(() => status.stop());
    // Its first status in hand: one asked for as the engine goes would only come from the next one.
    await eventually(() => status.value?.connected === true, 10_000, 'a status');
    const deleted = deleteSynclineDB(namespace);
    await eventually(() => status.value?.connected === false, 20_000, 'between engines');
    // A widget (the first pendingCount$ subscriber of this page) mounts in that moment.
    const seen: number[] = [];
    const countSub = second.pendingCount$.subscribe((n) => seen.push(n));
    cleanups.push(() => countSub.unsubscribe());
    await sleep(300);
    expect(seen, 'nothing shown while no engine answers').to.deep.equal([]);
    holder.close();
    await deleted;
    await eventually(() => seen.length > 0, 30_000, 'the live count of the next engine');
    await sleep(300);
    // The queue held 0 before the logout and 0 after it: 3 was never true in this window.
    expect(seen).to.deep.equal([0]);
  });

  it('shows the stored count read in the page before the engine answers, then the live count, with no value in between', async () => {
    const namespace = uniqueName('cold');
    const collection = uniqueName('c');
    const first = createSyncClient(workerOptions(namespace, collection));
    await unreachable(collection);
    await first.enqueueMany(
      Array.from({ length: 500 }, (_, i) => ({
        kind: 'x',
        label: `#${i}`,
        request: { method: 'POST' as const, url: collection, body: { id: `n${i}` } },
      })),
    );
    first.close();
    // A fresh tab whose worker script takes 1.5 s to arrive: its first count comes from the database meanwhile.
    const workerUrl = `/hooks/slow/1500?to=${encodeURIComponent(new URL('../src/worker.ts', import.meta.url).pathname)}`;
    const second = createSyncClient({
      endpoint: '/api',
      namespace,
      mode: 'shared-worker',
      workerUrl,
      healthUrl: `/api/health/${collection}`,
    });
    let connected = false;
    void second.ready(10_000).then(() => (connected = true));
    const count = follow(second.pendingCount$);
    await eventually(() => count.values.length > 0, 5_000, 'a first count');
    expect(count.values[0]).to.equal(500);
    expect(connected).to.equal(false);
    await second.ready(10_000);
    await eventually(() => count.values.length >= 1 && count.value === 500, 5_000, 'live count');
    expect(count.values.every((n) => n === 500)).to.equal(true);
    count.stop();
    second.close();
    await forget(namespace, collection);
  });

  it('shows a first subscriber that comes after the engine answered only the live count, not the early read', async () => {
    const namespace = uniqueName('cold-late');
    const collection = uniqueName('c');
    const options = { endpoint: '/api', namespace, healthUrl: `/api/health/${collection}` };
    await unreachable(collection);
    const op = (id: string) => ({ kind: 'x', label: id, request: { method: 'POST' as const, url: collection } });
    const first = createSyncClient(options);
    await first.enqueueMany([op('a'), op('b')]);
    first.close();
    // Read 2 at construction; 3 by the time anyone watches.
    const second = createSyncClient(options);
    await second.ready(10_000);
    await second.enqueue(op('c'));
    const count = follow(second.pendingCount$);
    await eventually(() => count.values.length > 0, 5_000, 'a first count');
    await new Promise((r) => setTimeout(r, 100));
    expect(count.values).to.deep.equal([3]);
    count.stop();
    second.close();
    await forget(namespace, collection);
  });

  it('never creates a database when it peeks for a namespace that has none', async () => {
    const { peekQueueSize } = await import('../src/runtime/peek.ts');
    const namespace = uniqueName('nodb');
    expect(await peekQueueSize(namespace)).to.equal(null);
    const names = (await indexedDB.databases()).map((d) => d.name);
    expect(names).to.not.include(`syncline:${namespace}`);
  });
});

describe('settled() of a discarded operation', () => {
  it('says whether the request had left: discarded before, or discarded while out (then the result once it lands)', async () => {
    const namespace = uniqueName('settle-discard');
    const collection = uniqueName('c');
    const client = createSyncClient(workerOptions(namespace, collection));
    const create = (id: string) => ({
      kind: 'item.create',
      label: id,
      lane: id,
      request: { method: 'POST' as const, url: collection, body: { id } },
    });
    try {
      await unreachable(collection);
      const never = await client.enqueue(create('never'));
      // Its one try has come back and is recorded (the server is unreachable): no request of it is out.
      await eventually(
        async () => {
          const [op] = (await firstValueFrom(client.window$({}, 0, 1))).items;
          return op?.attempts === 1 && op.status === 'pending';
        },
        5_000,
        'first try recorded',
      );
      const before = client.settled(never.id).catch((e: SynclineError) => e);
      expect(await client.discard(never.id)).to.equal(true);
      const unsent = await before;
      expect(unsent).to.include({ code: 'discarded' });
      expect((unsent as SynclineError).detail).to.equal(undefined);
      expect((unsent as SynclineError).message).to.include('before it reached the server');

      await unreachable(collection, false);
      await addFault({ pathPrefix: `/api/${collection}`, latencyMs: 600 });
      // The engine learns the server is back now (a probe), not at its next interval: the request goes out at once.
      await client.syncNow();
      const out = await client.enqueue(create('out'));
      await eventually(
        async () => (await firstValueFrom(client.window$({ status: 'sending' as never }, 0, 1))).items.length === 1,
        5_000,
        'request out',
      );
      const pending = client.settled(out.id).catch((e: SynclineError) => e);
      expect(await client.discard(out.id)).to.equal(true);
      const maybe = (await pending) as SynclineError;
      expect(maybe.code).to.equal('discarded');
      expect(maybe.detail).to.deep.equal({ requestOut: true });
      expect(maybe.message).to.include('may still apply it');
      // It did land: asked again, settled() has the server's answer.
      await eventually(async () => (await serverItems(collection)).some((i) => i.id === 'out'), 5_000, 'landed');
      await eventually(
        async () => (await client.settled(out.id).catch(() => null))?.status === 201,
        5_000,
        'result kept',
      );
    } finally {
      client.close();
      await forget(namespace, collection);
    }
  });
});

describe('settled() and close()', () => {
  it('rejects a pending settled() with closed when the client closes, and one asked after close at once', async () => {
    const namespace = uniqueName('settle-close');
    const collection = uniqueName('c');
    const client = createSyncClient(workerOptions(namespace, collection));
    await unreachable(collection);
    try {
      const op = await client.enqueue({ kind: 'x', label: 'x', request: { method: 'POST', url: collection } });
      // The server is unreachable: the operation's fate is not known before the client closes.
      const pending = client.settled(op.id);
      client.close();
      expect(await pending.catch((e: SynclineError) => e.code)).to.equal('closed');
      expect(await client.settled(op.id).catch((e: SynclineError) => e.code)).to.equal('closed');
    } finally {
      client.close();
      await forget(namespace, collection);
    }
  });
});

describe('enqueue ids', () => {
  it("answers an id the app chose, done before the engine restarted, from its result; without one, queues under an id of the tab's", async () => {
    const namespace = uniqueName('app-id');
    const collection = uniqueName('c');
    const options = { endpoint: '/api', namespace, mode: 'in-page' as const, healthUrl: `/api/health/${collection}` };
    cleanups.push(() => forget(namespace, collection));
    const create = (id?: string) => ({
      ...(id ? { id } : {}),
      kind: 'item.create',
      label: 'Create a',
      request: { method: 'POST' as const, url: collection, body: { id: 'a' } },
    });
    const id = uniqueName('mine').replace(/[^\w-]/g, '');
    let client = createSyncClient(options);
    await client.enqueue(create(id));
    await client.settled(id);
    client.close();
    // A new engine (the page's last client closed): its memory of what left starts empty, so only the stored result
    // can tell that the app's id is done. The tab must say the id is the app's, or it would be sent again.
    client = createSyncClient(options);
    cleanups.push(() => client.close());
    const again = await client.enqueue(create(id));
    expect(again.id).to.equal(id);
    expect(await firstValueFrom(client.count$()), 'not queued again').to.equal(0);
    expect(await requestCount(`/api/${collection}`), 'sent once').to.equal(1);
    // Without an id of the app's, a new operation is queued under an id of the tab's.
    await unreachable(collection);
    const mine = await client.enqueue(create());
    expect(mine.id).to.not.equal(id);
    expect(await firstValueFrom(client.count$())).to.equal(1);
  });
});

/** The console warnings that name `namespace`, from now until the test's cleanups run (others pass through). */
function warningsAbout(namespace: string): string[] {
  const warned: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (String(args[0]).includes(namespace)) warned.push(String(args[0]));
    else warn.apply(console, args);
  };
  cleanups.push(() => (console.warn = warn));
  return warned;
}

describe('two clients of one page', () => {
  it('says hostedHere for every client of the page whose engine runs in it (leader-tab), also one served over the channel', async () => {
    const namespace = uniqueName('hosted');
    const options = { endpoint: '/api', namespace, mode: 'leader-tab' as const };
    const a = createSyncClient(options);
    cleanups.push(() => Promise.race([deleteSynclineDB(namespace), sleep(2000)]));
    cleanups.push(() => a.close());
    await a.ready(10_000);
    const b = createSyncClient(options);
    cleanups.push(() => b.close());
    await b.ready(10_000);
    const sa = follow(a.status$);
    const sb = follow(b.status$);
    cleanups.push(() => (sa.stop(), sb.stop()));
    await eventually(() => sa.value?.connected === true && sb.value?.connected === true, 5_000, 'both statuses');
    expect({ a: sa.value!.hostedHere, b: sb.value!.hostedHere }).to.deep.equal({ a: true, b: true });
  });

  it('warns a client whose options differ from those the running engine started with, naming them', async () => {
    const namespace = uniqueName('configs');
    const options = { endpoint: '/api', namespace, mode: 'leader-tab' as const };
    const warned = warningsAbout(namespace);
    const a = createSyncClient(options);
    cleanups.push(() => Promise.race([deleteSynclineDB(namespace), sleep(2000)]));
    cleanups.push(() => a.close());
    await a.ready(10_000);
    const same = createSyncClient(options);
    cleanups.push(() => same.close());
    await same.ready(10_000);
    expect(warned, 'the same options').to.deep.equal([]);
    const b = createSyncClient({ ...options, maxAttempts: 3, requestTimeoutMs: 9_000 });
    cleanups.push(() => b.close());
    await b.ready(10_000);
    await eventually(() => warned.length > 0, 5_000, 'a warning');
    expect(warned).to.have.length(1);
    expect(warned[0]).to.include('maxAttempts').and.include('requestTimeoutMs').and.not.include('endpoint');
  });

  it('does not warn a client whose allowedOrigins are the engine’s in another order (the same set of origins)', async () => {
    const namespace = uniqueName('configs-order');
    const options = { endpoint: '/api', namespace, mode: 'leader-tab' as const };
    const warned = warningsAbout(namespace);
    const a = createSyncClient({
      ...options,
      allowedOrigins: ['https://a.example', 'https://b.example'],
    });
    cleanups.push(() => Promise.race([deleteSynclineDB(namespace), sleep(2000)]));
    cleanups.push(() => a.close());
    await a.ready(10_000);
    // Another micro-frontend lists the same origins in its own order: every request is allowed exactly as before.
    const b = createSyncClient({ ...options, allowedOrigins: ['https://b.example', 'https://a.example'] });
    cleanups.push(() => b.close());
    await b.ready(10_000);
    await sleep(500);
    expect(warned, 'a warning about options that do not differ').to.deep.equal([]);
  });
});

describe('ready() and close()', () => {
  it('leaves no lock request of its own after close() (micro-frontends mounted and unmounted)', async () => {
    const namespace = uniqueName('close-locks');
    const collection = uniqueName('c');
    const options = workerOptions(namespace, collection);
    const keep = createSyncClient(options);
    cleanups.push(() => keep.close());
    await keep.ready(10_000);
    const pendingOnEngine = async () =>
      ((await navigator.locks.query()).pending ?? []).filter((l) =>
        l.name?.startsWith(`syncline:${namespace}:instance:`),
      ).length;
    const before = await pendingOnEngine();
    for (let i = 0; i < 3; i++) {
      const c = createSyncClient(options);
      await c.ready(10_000);
      c.close();
    }
    await sleep(500);
    const after = await pendingOnEngine();
    expect({ before, after }).to.deep.equal({ before: 1, after: 1 });
  });
  it('rejects ready() with closed, not at its timeout: asked after close(), and waiting when close() comes', async () => {
    const namespace = uniqueName('ready-close');
    const client = createSyncClient({ endpoint: '/api', namespace, mode: 'leader-tab' });
    // Not welcomed yet when the client closes (a timeout longer than the test's: only a rejection ends these).
    const waiting = client.ready(60_000).catch((e: SynclineError) => e.code);
    client.close();
    expect(await waiting).to.equal('closed');
    expect(await client.ready(60_000).catch((e: SynclineError) => e.code)).to.equal('closed');
    await Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]);
  });
});

describe('collection registration', () => {
  it('registers a collection again after a failed registration: once an engine answers, and on the next edit', async () => {
    const namespace = uniqueName('reg');
    const collection = uniqueName('tasks');
    await serverPut(collection, 'srv', { title: 'on the server' });
    // Another runtime holds the engine lock and serves no tab: this client's calls time out.
    let release!: () => void;
    await new Promise<void>(
      (held) =>
        void navigator.locks.request(engineLockName(namespace), () => {
          held();
          return new Promise<void>((r) => (release = r));
        }),
    );
    const client = createSyncClient({ endpoint: '/api', namespace, mode: 'in-page', callTimeoutMs: 500 });
    try {
      const tasks = client.collection<{ title: string }>(collection, { pullIntervalMs: 0 });
      const error = await tasks.put('a', { title: 'a' }).catch((e: SynclineError) => e);
      expect((error as SynclineError).code).to.equal('unavailable');
      // That runtime goes: this client's host takes the lock and runs the engine.
      release();
      const items = follow(tasks.items$);
      // Registered again as soon as the engine welcomes the tab (no edit needed): it pulls the server's items.
      await eventually(() => items.value?.some((e) => e.id === 'srv') === true, 10_000, 'pulled once registered');
      await tasks.put('b', { title: 'b' });
      await eventually(
        async () => (await serverItems(collection)).some((i) => i.id === 'b'),
        10_000,
        'the edit pushed',
      );
      items.stop();
    } finally {
      release();
      client.close();
      await Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]);
    }
  });
});

describe('logout', () => {
  for (const mode of ['leader-tab', 'shared-worker'] as const)
    it(`keeps a collection handle working when another tab deletes the database: registered on the fresh engine (${mode})`, async () => {
      const namespace = uniqueName('delcol');
      const collection = uniqueName('c');
      const client = createSyncClient({ endpoint: '/api', namespace, mode });
      const status = follow(client.status$);
      try {
        const tasks = client.collection<{ title: string }>(collection, { pullIntervalMs: 0 });
        await tasks.put('a', { title: 'before' });
        const seen = status.values.length;
        // Another tab logs out (or the site's data is cleared); this tab stays open, on the next engine.
        await deleteSynclineDB(namespace);
        await eventually(
          () => status.values.slice(seen).some((s) => !s.connected) && status.value?.connected === true,
          10_000,
          'this tab on the fresh engine',
        );
        expect(client.collection(collection), 'the handle the app holds').to.equal(tasks);
        await tasks.put('b', { title: 'after' });
        await eventually(
          async () => (await serverItems(collection)).some((i) => i.id === 'b'),
          10_000,
          'the edit pushed',
        );
      } finally {
        status.stop();
        client.close();
        await Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]);
      }
    });

  it('starts afresh after close() and deleteSynclineDB() in the same page: a new client on the same worker queues and drains', async () => {
    const namespace = uniqueName('logout');
    const collection = uniqueName('c');
    const options = workerOptions(namespace, collection);
    const op = (id: string) => ({
      kind: 'x',
      label: id,
      request: { method: 'POST' as const, url: collection, body: { id } },
    });
    const first = createSyncClient(options);
    await unreachable(collection);
    await first.enqueue(op('left-behind'));
    // Its attempt over (no request still out, which would land whatever happens to the database), and offline.
    const status = follow(first.status$);
    await eventually(
      () => status.value?.connectivity === 'offline' && status.value.counts.sending === 0,
      10_000,
      'offline, nothing out',
    );
    status.stop();
    // Logout: the worker (this page keeps it alive) still runs the engine on the database being deleted.
    first.close();
    await deleteSynclineDB(namespace);
    await unreachable(collection, false);
    const second = createSyncClient(options);
    try {
      expect(await firstValueFrom(second.operations$)).to.deep.equal([]);
      const queued = await second.enqueue(op('after'));
      await second.settled(queued.id);
      expect((await serverItems(collection)).map((i) => i.id)).to.deep.equal(['after']);
    } finally {
      second.close();
      await Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]);
    }
  });
});

describe('live queries with a bad filter', () => {
  it('end with invalid-operation in the tab instead of waiting for good', async () => {
    const namespace = uniqueName('badfilter');
    const client = createSyncClient({ endpoint: '/api', namespace, mode: 'shared-worker' });
    try {
      const failure = (stream: Observable<unknown>) =>
        new Promise<unknown>((resolve) => {
          const sub = stream.subscribe({ next: () => resolve('a value'), error: resolve });
          setTimeout(() => {
            sub.unsubscribe();
            resolve('no answer');
          }, 5_000);
        });
      const streams: [string, Observable<unknown>][] = [
        ['count$ status "constructor"', client.count$({ status: 'constructor' as never })],
        ['count$ entity null', client.count$({ entity: null as never })],
        ['watchOperations lane {}', client.watchOperations({ lane: {} as never })],
        ['window$ entity null', client.window$({ entity: null as never }, 0, 10)],
        ['window$ offset 2^32', client.window$({ kind: 'k' }, 2 ** 32, 10)],
      ];
      for (const [name, stream] of streams) {
        const error = await failure(stream);
        expect(error, name).to.be.instanceOf(SynclineError);
        expect((error as SynclineError).code, name).to.equal('invalid-operation');
      }
      // The engine is none the worse: a good query still answers.
      expect(await firstValueFrom(client.count$({ status: ['pending', 'pending'] }))).to.equal(0);
    } finally {
      client.close();
      await Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]);
    }
  });
});

describe('status$ before any engine status', () => {
  it('shows the queue read in the page, not zero, when the database needs a newer version', async () => {
    const namespace = uniqueName('newer');
    // A newer deploy's database holding three operations: this code cannot open it, the page can still count them.
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.open(databaseName(namespace), DB_VERSION + 1);
      request.onupgradeneeded = () => {
        const store = request.result.createObjectStore('operations', { keyPath: 'id' });
        for (const id of ['a', 'b', 'c']) store.add({ id });
      };
      request.onsuccess = () => {
        request.result.close();
        resolve();
      };
      request.onerror = () => reject(request.error);
    });
    const client = createSyncClient({ endpoint: '/api', namespace, mode: 'in-page' });
    try {
      const status = await firstValueFrom(client.status$);
      expect(status.updateRequired).to.equal(true);
      expect(status.counts).to.deep.equal({ pending: 3, sending: 0, failed: 0, conflict: 0 });
    } finally {
      client.close();
      await Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]);
    }
  });
});
