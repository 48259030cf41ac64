// What only DevTools can do to a browser (Chromium): kill the SharedWorker that runs the engine, mid-flight.
import { expect } from '@open-wc/testing';
import { executeServerCommand } from '@web/test-runner-commands';
import { createSyncClient } from '../src/index.ts';
import { deleteSynclineDB } from '../src/testing.ts';
import { workerName } from '../src/runtime/names.ts';
import { API, addFault, clearFaults, eventually, requestCount, serverItems, uniqueName } from './support/server.ts';
import { follow } from './support/frames.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const create = (collection: string, id: string) => ({
  kind: 'x',
  label: id,
  request: { method: 'POST' as const, url: `${API}/${collection}`, body: { id } },
});

describe('a killed worker', () => {
  it('notices a killed worker through its lock (no heartbeat) and goes on', async () => {
    const namespace = uniqueName('killed');
    const collection = uniqueName('c');
    const client = createSyncClient({ endpoint: '/api', namespace, mode: 'shared-worker', heartbeatMs: 600_000 });
    cleanups.push(() => Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]));
    cleanups.push(() => client.close());
    const status = follow(client.status$);
    cleanups.push(() => status.stop());
    await client.ready();
    expect(await executeServerCommand('kill-shared-worker', { name: workerName(namespace) })).to.equal(1);
    await eventually(() => status.values.some((s) => !s.connected), 5_000, 'lost');
    const op = await client.enqueue(create(collection, 'after-kill'));
    await client.settled(op.id);
    expect((await serverItems(collection)).map((i) => i.id)).to.deep.equal(['after-kill']);
  });
});

describe('the worker by name', () => {
  it('runs its SharedWorker under a name carrying the versions it speaks, so another release gets a worker of its own', async () => {
    const namespace = uniqueName('named');
    const client = createSyncClient({ endpoint: '/api', namespace, mode: 'shared-worker' });
    await client.ready();
    const { DB_VERSION } = await import('../src/runtime/names.ts');
    const { PROTOCOL_VERSION } = await import('../src/rpc/protocol.ts');
    // A page of a release with other versions asks for another name: the browser starts it a new worker, even from
    // the same URL, instead of handing it this one (which would not serve it). Found by that name, and only by it.
    expect(workerName(namespace)).to.equal(`syncline:${namespace}:${DB_VERSION}.${PROTOCOL_VERSION}`);
    expect(await executeServerCommand('kill-shared-worker', { name: `syncline:${namespace}` })).to.equal(0);
    expect(await executeServerCommand('kill-shared-worker', { name: workerName(namespace) })).to.equal(1);
    await client.close();
    await deleteSynclineDB(namespace);
  });
});

describe('no write before a request', () => {
  it('sends again, under the same key, an operation whose 2xx came back but was never recorded: applied once', async () => {
    const namespace = uniqueName('unrecorded');
    const collection = uniqueName('c');
    const client = createSyncClient({ endpoint: '/api', namespace, mode: 'shared-worker', heartbeatMs: 600_000 });
    cleanups.push(() => Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]));
    cleanups.push(() => client.close());
    await client.ready();
    await addFault({ pathPrefix: `/api/${collection}`, latencyMs: 600, times: 1 });
    cleanups.push(() => clearFaults(`/api/${collection}`));
    const op = await client.enqueue(create(collection, 'once'));
    // Hold the queue's store with a transaction that never ends: the engine can send, but cannot record.
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open(`syncline:${namespace}`);
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    let spinning = true;
    const tx = db.transaction('operations', 'readwrite');
    const store = tx.objectStore('operations');
    const spin = () => {
      if (spinning) store.count().onsuccess = spin;
    };
    spin();
    await eventually(async () => (await serverItems(collection)).length === 1, 10_000, 'applied on the server');
    await new Promise((r) => setTimeout(r, 300));
    // The 2xx is in; its record waits behind our transaction. Now the engine dies.
    expect(await executeServerCommand('kill-shared-worker', { name: workerName(namespace) })).to.equal(1);
    const requestsBefore = await requestCount(`/api/${collection}`);
    spinning = false;
    await new Promise((r) => (tx.oncomplete = r));
    db.close();
    const result = await client.settled(op.id);
    // Sent again (exactly one more request) with the same key: the server replayed its answer, one effect.
    expect((await requestCount(`/api/${collection}`)) - requestsBefore).to.equal(1);
    expect(result.status).to.equal(201);
    expect((await serverItems(collection)).map((i) => [i.id, i.version])).to.deep.equal([['once', 1]]);
    const changes = (await (await fetch(`${API}/_admin/changes?collection=${collection}`)).json()) as {
      items: unknown[];
    };
    expect(changes.items.length).to.equal(1);
  });
});

describe('a worker killed mid-push (Background Sync)', () => {
  it('repeats the push that was out under the same Idempotency-Key after a restart: the server applies it once', async () => {
    const namespace = uniqueName('bgkill');
    const collection = uniqueName('c');
    const client = createSyncClient({
      endpoint: '/api',
      namespace,
      mode: 'shared-worker',
      heartbeatMs: 600_000,
      healthUrl: `/api/health/${collection}`,
    });
    cleanups.push(() => Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]));
    cleanups.push(() => client.close());
    await client.ready();
    const tasks = client.collection<{ title: string }>(collection, { pullIntervalMs: 0 });
    const items = follow(tasks.items$);
    cleanups.push(() => items.stop());
    await eventually(() => items.value !== undefined, 5_000, 'items$');
    // The server holds the first push a while (after claiming its key): the worker dies while it is out.
    await addFault({ pathPrefix: `/api/${collection}/`, methods: ['PUT'], latencyMs: 1000, times: 1 });
    cleanups.push(() => clearFaults(`/api/${collection}`));
    // A create: it carries no If-Match, so a repeat under any other key would be applied a second time (version 2).
    await tasks.put('t1', { title: 'once' });
    await eventually(async () => (await requestCount(`/api/${collection}/t1`)) === 1, 5_000, 'push out');
    expect(await executeServerCommand('kill-shared-worker', { name: workerName(namespace) })).to.equal(1);
    // The restarted engine finds the edit still dirty (its answer was never recorded) and pushes it again.
    await eventually(
      () => items.value?.find((e) => e.id === 't1')?.dirty === false,
      15_000,
      'pushed after the restart',
    );
    expect(await requestCount(`/api/${collection}/t1`)).to.be.greaterThan(1);
    const changes = (await (await fetch(`${API}/_admin/changes?collection=${collection}`)).json()) as {
      items: { id: string; version: number; idempotencyKey: string | null }[];
    };
    // One write, under the key of the first push: the same device id (stored) and revision after the restart.
    expect(changes.items.map((c) => [c.id, c.version])).to.deep.equal([['t1', 1]]);
    expect(changes.items[0]!.idempotencyKey).to.match(new RegExp(`^${collection}/t1@[0-9a-v]{10}\\.1$`));
    expect((await serverItems(collection)).map((i) => [i.id, i.version, i.data])).to.deep.equal([
      ['t1', 1, { title: 'once' }],
    ]);
    expect(items.value!.find((e) => e.id === 't1')).to.deep.include({
      version: 1,
      dirty: false,
      data: { title: 'once' },
    });
  });
});
