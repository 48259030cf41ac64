// The main-thread client over each runtime: the same API, streams that follow the queue, typed errors.
import { expect } from '@open-wc/testing';
import { firstValueFrom } from 'rxjs';
import { createSyncClient, SynclineError, type SyncClient, type SyncMode } from '../src/index.ts';
import { deleteSynclineDB } from '../src/testing.ts';
import { API, addFault, clearFaults, eventually, serverItems, uniqueName } from './support/server.ts';
import { follow } from './support/frames.ts';

for (const mode of ['in-page', 'shared-worker', 'leader-tab'] as SyncMode[]) {
  describe(`client (${mode})`, () => {
    let client: SyncClient;
    let namespace: string;
    let collection: string;
    beforeEach(() => {
      namespace = uniqueName(`cl-${mode}`);
      collection = uniqueName('c');
      client = createSyncClient({ endpoint: '/api', namespace, mode, heartbeatMs: 200, healthUrl: `/api/health/${collection}` });
    });
    afterEach(async () => {
      client.close();
      await clearFaults(`/api/${collection}`);
      await clearFaults(`/api/health/${collection}`);
      // The worker may still hold the database for a moment after the last client leaves.
      await Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]);
    });

    it('enqueues, streams the pending count and the operations, and drains', async () => {
      await addFault({ pathPrefix: `/api/${collection}`, latencyMs: 150 });
      const count = follow(client.pendingCount$);
      const ops = follow(client.operations$);
      const op = await client.enqueue({ kind: 'item.create', label: 'Create a', request: { method: 'POST', url: collection, body: { id: 'a' } }, entity: { type: collection, id: 'a' } });
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

    it('rejects bad input with a typed error through the RPC', async () => {
      let error: unknown;
      try {
        await client.enqueue({ kind: 'x', label: 'x', request: { method: 'POST', url: collection, headers: { Cookie: 'a=b' } } });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(SynclineError);
      expect((error as SynclineError).code).to.equal('invalid-operation');
      expect(await firstValueFrom(client.pendingCount$)).to.equal(0);
    });

    it('serves a live window of the queue and filtered counts', async () => {
      await addFault({ pathPrefix: `/api/${collection}`, offline: true });
      await addFault({ pathPrefix: `/api/health/${collection}`, offline: true });
      await client.enqueueMany(Array.from({ length: 30 }, (_, i) => ({
        kind: i % 2 ? 'odd' : 'even', label: `#${i}`, lane: i < 10 ? 'x' : 'y',
        request: { method: 'POST' as const, url: collection, body: { id: `n${i}` } },
      })));
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
      await eventually(() => win.value!.total === 29 && win.value!.items[0]!.label === '#11', 5000, 'window follows a discard');
      expect(await client.clear().catch((e: SynclineError) => e.code)).to.equal('unsent-operations');
      expect(await client.clear({ discardUnsent: true })).to.equal(29);
      await eventually(() => odd.value === 0 && laneX.value === 0, 5000, 'cleared');
      win.stop(); odd.stop(); laneX.stop();
    });
  });
}

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

describe('client configuration', () => {
  it('refuses a bad namespace or endpoint with a typed error', () => {
    expect(() => createSyncClient({ endpoint: '/api', namespace: 'a b' })).to.throw(SynclineError);
    expect(() => createSyncClient({ endpoint: 'http://[', namespace: 'ok' })).to.throw(SynclineError);
  });
});
