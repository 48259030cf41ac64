// One queue for every tab: iframes stand in for tabs; a real SharedWorker (or leader tab) drains to the real server.
import { expect } from '@open-wc/testing';
import { firstValueFrom } from 'rxjs';
import { executeServerCommand } from '@web/test-runner-commands';
import type { Operation, SyncClient, SyncMode, SyncStatus } from '../src/index.ts';
import { deleteSynclineDB } from '../src/testing.ts';
import { workerName } from '../src/runtime/names.ts';
import { addFault, clearFaults, eventually, requestCount, serverItems, uniqueName } from './support/server.ts';
import { follow, openFrame, type Frame } from './support/frames.ts';

const frames: Frame[] = [];
const clients: SyncClient[] = [];
let collections: string[] = [];
const namespaces = new Set<string>();

async function tab(
  namespace: string,
  mode: SyncMode,
  collection: string,
): Promise<{ frame: Frame; client: SyncClient }> {
  namespaces.add(namespace);
  const frame = await openFrame();
  frames.push(frame);
  const client = frame.client({
    endpoint: '/api',
    namespace,
    mode,
    heartbeatMs: 200,
    healthUrl: `/api/health/${collection}`,
  });
  clients.push(client);
  await client.ready();
  return { frame, client };
}

const create = (collection: string, id: string) => ({
  kind: 'item.create',
  label: `Create ${id}`,
  request: { method: 'POST' as const, url: collection, body: { id } },
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const f of frames.splice(0)) f.remove();
  for (const c of collections) await clearFaults(`/api/${c}`);
  collections = [];
  // Leave no databases behind for later files; a worker still closing may hold one a moment longer.
  await Promise.all(
    [...namespaces].map((ns) => Promise.race([deleteSynclineDB(ns), new Promise((r) => setTimeout(r, 2000))])),
  );
  namespaces.clear();
});

function fresh(): string {
  const c = uniqueName('c');
  collections.push(c);
  return c;
}

for (const mode of ['shared-worker', 'leader-tab'] as SyncMode[]) {
  describe(`one queue for every tab (${mode})`, () => {
    it('takes concurrent enqueues from three tabs into one queue, sent once each, in seq order', async () => {
      const namespace = uniqueName(`x-${mode}`);
      const collection = fresh();
      // The first request is held a second, so the queue really fills while the tabs write.
      await addFault({ pathPrefix: `/api/${collection}`, latencyMs: 1000, times: 1 });
      const tabs = [
        await tab(namespace, mode, collection),
        await tab(namespace, mode, collection),
        await tab(namespace, mode, collection),
      ];
      const watcher = follow(tabs[2]!.client.pendingCount$);
      const status = follow(tabs[0]!.client.status$);
      await eventually(() => status.value?.clients === 3, 5000, 'three tabs connected');
      expect(status.value!.continuesAfterClose).to.equal(true);

      const sent: Operation[] = (
        await Promise.all(
          tabs.map(({ client }, t) =>
            Promise.all(Array.from({ length: 15 }, (_, i) => client.enqueue(create(collection, `t${t}-${i}`)))),
          ),
        )
      ).flat();
      expect(new Set(sent.map((op) => op.seq)).size).to.equal(45);
      // Tab 2 saw tab 0's and tab 1's work in its count: all 45 unsent at once.
      await eventually(() => watcher.values.includes(45), 5000, 'cross-tab count');
      await eventually(() => watcher.value === 0, 20_000, 'drained');
      expect(await requestCount(`/api/${collection}`)).to.equal(45);
      const order = sent.sort((a, b) => a.seq - b.seq).map((op) => (op.request.body as { id: string }).id);
      expect((await serverItems(collection)).map((i) => i.id)).to.deep.equal(order);
      watcher.stop();
      status.stop();
    });

    /** Opens a real page (closing it can close the last tab of a worker) that enqueues one op; returns its id. */
    async function pageThatEnqueues(options: object, input: object): Promise<number> {
      const page = (await executeServerCommand('open-page', { path: '/test/fixtures/frame.html' })) as number;
      await executeServerCommand('page-eval', {
        id: page,
        expression: `new Promise((resolve) => {
          const go = () => window.syncline.createSyncClient(${JSON.stringify(options)})
            .enqueue(${JSON.stringify(input)}).then(() => resolve(true));
          window.syncline ? go() : window.addEventListener('syncline-ready', go);
        })`,
      });
      return page;
    }

    it('re-sends an operation whose last tab closed mid-request with the same key; the server applies it once', async () => {
      const namespace = uniqueName(`inflight-${mode}`);
      const collection = fresh();
      await addFault({ pathPrefix: `/api/${collection}`, latencyMs: 800, times: 1 });
      // Without extendedLifetime the worker dies with its last tab, like a leader tab does.
      const options = {
        endpoint: '/api',
        namespace,
        mode,
        heartbeatMs: 200,
        healthUrl: `/api/health/${collection}`,
        extendedLifetime: false,
      };
      const page = await pageThatEnqueues(options, create(collection, 'once'));
      await eventually(async () => (await requestCount(`/api/${collection}`)) === 1, 5000, 'request in flight');
      await executeServerCommand('close-page', { id: page });
      await new Promise((r) => setTimeout(r, 1000));
      const second = await tab(namespace, mode, collection);
      const count = follow(second.client.pendingCount$);
      await eventually(() => count.value === 0, 10_000, 're-sent and done');
      expect(await requestCount(`/api/${collection}`)).to.equal(2);
      const items = await serverItems(collection);
      expect(items.map((i) => [i.id, i.version])).to.deep.equal([['once', 1]]);
      count.stop();
    });

    if (mode === 'shared-worker') {
      it('lets a send under way finish after the last tab closes (extendedLifetime)', async () => {
        const namespace = uniqueName('extended');
        const collection = fresh();
        await addFault({ pathPrefix: `/api/${collection}`, latencyMs: 800, times: 1 });
        const options = { endpoint: '/api', namespace, mode, heartbeatMs: 200, healthUrl: `/api/health/${collection}` };
        const page = await pageThatEnqueues(options, create(collection, 'finished'));
        await eventually(async () => (await requestCount(`/api/${collection}`)) === 1, 5000, 'request in flight');
        await executeServerCommand('close-page', { id: page });
        await new Promise((r) => setTimeout(r, 1000));
        const second = await tab(namespace, mode, collection);
        expect(await second.client.syncNow().then(() => firstValueFrom(second.client.pendingCount$))).to.equal(0);
        // Finished by the lingering worker: never sent twice.
        expect(await requestCount(`/api/${collection}`)).to.equal(1);
        expect((await serverItems(collection)).map((i) => i.id)).to.deep.equal(['finished']);
      });
    }

    it("keeps a later tab draining after the engine's tab or worker goes away mid-drain", async () => {
      const namespace = uniqueName(`handover-${mode}`);
      const collection = fresh();
      await addFault({ pathPrefix: `/api/${collection}`, latencyMs: 120 });
      const a = await tab(namespace, mode, collection);
      const b = await tab(namespace, mode, collection);
      const status = follow(b.client.status$);
      const count = follow(b.client.pendingCount$);
      await eventually(() => status.value?.connected === true, 5000, 'second tab connected');
      await a.client.enqueueMany(Array.from({ length: 12 }, (_, i) => create(collection, `n${i}`)));
      // The second tab follows the first tab's work live (a stale zero would pass the final check too early).
      await eventually(() => count.values.includes(12), 5000, 'second tab sees the queue');
      await eventually(async () => (await serverItems(collection)).length >= 3, 10_000, 'drain under way');
      const engineBefore = status.value!;
      if (mode === 'shared-worker') {
        // Kill the worker itself (a DevTools target): both tabs must notice and reconnect to a fresh one.
        const killed = await executeServerCommand('kill-shared-worker', { name: workerName(namespace) });
        expect(killed).to.equal(1);
      } else {
        // The leader is the first tab: close it; the second takes the lock and resumes from IndexedDB.
        expect(status.value!.hostedHere).to.equal(false);
        a.frame.remove();
      }
      await eventually(() => count.value === 0, 20_000, 'resumed and drained');
      const ids = (await serverItems(collection)).map((i) => i.id);
      expect(ids).to.deep.equal(Array.from({ length: 12 }, (_, i) => `n${i}`));
      const after: SyncStatus = status.value!;
      expect(after.connected).to.equal(true);
      if (mode === 'leader-tab') expect(after.hostedHere).to.equal(true);
      expect(engineBefore.connected).to.equal(true);
      status.stop();
      count.stop();
    });
  });
}

describe('namespaces', () => {
  it("keeps one user's queue out of another user's tabs", async () => {
    const collection = fresh();
    await addFault({ pathPrefix: `/api/${collection}`, offline: true });
    await addFault({ pathPrefix: `/api/health/${collection}`, offline: true });
    const alice = await tab(uniqueName('alice'), 'shared-worker', collection);
    const bob = await tab(uniqueName('bob'), 'shared-worker', collection);
    await alice.client.enqueue(create(collection, 'secret'));
    const bobOps = follow(bob.client.operations$);
    const aliceOps = follow(alice.client.operations$);
    await eventually(() => aliceOps.value?.length === 1 && bobOps.value !== undefined, 5000, 'both lists');
    expect(bobOps.value).to.deep.equal([]);
    bobOps.stop();
    aliceOps.stop();
    await clearFaults(`/api/health/${collection}`);
  });
});
