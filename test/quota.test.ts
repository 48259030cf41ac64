// A full disk, for real: Chromium's quota override on a fresh origin; the queue refuses new work with a typed error and still drains.
import { expect } from '@open-wc/testing';
import { addFault, clearFaults, serverItems, uniqueName } from './support/server.ts';
import { withOtherOriginPage } from './support/pages.ts';

describe('storage quota (Chromium, enforced)', () => {
  it('refuses what does not fit with quota-exceeded, keeps what is stored, and drains all of it once the server is back', async function () {
    this.timeout(60_000);
    const collection = uniqueName('q');
    const namespace = uniqueName('quota');
    await withOtherOriginPage(collection, { quota: 3 * 1024 * 1024 }, async (run) => {
      const filled = (await run(`(async () => {
        const client = window.client = window.syncline.createSyncClient({
          endpoint: '/api', namespace: ${JSON.stringify(namespace)}, mode: 'shared-worker',
          healthUrl: '/api/health/${collection}', maxPayloadBytes: 1024 * 1024, backoffBaseMs: 200, probeIntervalMs: 200,
        });
        window.statuses = [];
        client.status$.subscribe((s) => window.statuses.push(s.storage));
        const stored = [];
        let refusal = null;
        // Random text: IndexedDB compresses values, so a repeated character would never fill anything.
        const noise = () => Array.from(crypto.getRandomValues(new Uint8Array(65536)), (b) => b.toString(16).padStart(2, '0')).join('');
        for (let i = 0; i < 60 && !refusal; i++) {
          try {
            const op = await client.enqueue({ kind: 'photo', label: 'photo ' + i, request: { method: 'POST', url: ${JSON.stringify(collection)}, body: { id: 'p' + i, data: noise() } } });
            stored.push(op.id);
          } catch (e) { refusal = e.code; }
        }
        return { stored: stored.length, refusal, count: await new Promise((r) => client.pendingCount$.subscribe(r)) };
      })()`)) as { stored: number; refusal: string; count: number };
      expect(filled.refusal).to.equal('quota-exceeded');
      expect(filled.stored).to.be.greaterThan(2);
      expect(filled.count).to.equal(filled.stored);
      // The first answer once the server is back is a 503: recording that attempt needs space the disk does not have.
      await clearFaults(`/api/health/${collection}`);
      await clearFaults(`/api/${collection}`);
      await addFault({ pathPrefix: `/api/${collection}`, methods: ['POST'], status: 503, times: 1 });
      const drained = (await run(`(async () => {
        await window.client.syncNow();
        await new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('not drained')), 30000);
          window.client.pendingCount$.subscribe((n) => { if (n === 0) { clearTimeout(timer); resolve(); } });
        });
        return window.statuses.includes('quota-exceeded');
      })()`)) as boolean;
      expect(drained).to.equal(true);
      const items = await serverItems(collection);
      expect(items.length).to.equal(filled.stored);
      expect(items.every((i) => i.version === 1)).to.equal(true);
    });
  });

  it('reverts an unsent edit on a full disk, keeping its answer for a re-send as well', async function () {
    this.timeout(60_000);
    const collection = uniqueName('q');
    const namespace = uniqueName('quota');
    await withOtherOriginPage(collection, { quota: 3 * 1024 * 1024 }, async (run) => {
      const result = (await run(`(async () => {
        const client = window.syncline.createSyncClient({
          endpoint: '/api', namespace: ${JSON.stringify(namespace)}, mode: 'shared-worker',
          healthUrl: '/api/health/${collection}', maxPayloadBytes: 1024 * 1024,
        });
        const items = client.collection(${JSON.stringify(collection)}, { url: '/api/${collection}', pullIntervalMs: 0 });
        const noise = () => Array.from(crypto.getRandomValues(new Uint8Array(65536)), (b) => b.toString(16).padStart(2, '0')).join('');
        // Edits made offline until the disk refuses one.
        let stored = 0;
        let refusal = null;
        for (let i = 0; i < 60 && !refusal; i++) {
          try {
            await items.put('e' + i, { data: noise() });
            stored++;
          } catch (e) { refusal = e.code; }
        }
        // The newest: never sent (the oldest goes first, and the push found the server away), so its revert only
        // removes it.
        let reverted;
        try { reverted = await items.revert('e' + (stored - 1)); } catch (e) { reverted = e.code; }
        client.close();
        // Space for the tests after this one on the same origin.
        await window.syncline.deleteSynclineDB(${JSON.stringify(namespace)});
        return { stored, refusal, reverted };
      })()`)) as { stored: number; refusal: string; reverted: unknown };
      expect(result.refusal).to.equal('quota-exceeded');
      expect(result.stored).to.be.at.least(1);
      expect(result.reverted).to.equal(true);
    });
  });

  it('counts a failure it could not write (kept in memory) as failed when that operation is discarded', async function () {
    this.timeout(60_000);
    const collection = uniqueName('q');
    const namespace = uniqueName('quota');
    await withOtherOriginPage(collection, { quota: 3 * 1024 * 1024 }, async (run) => {
      const stored = (await run(`(async () => {
        const client = window.client = window.syncline.createSyncClient({
          endpoint: '/api', namespace: ${JSON.stringify(namespace)}, mode: 'shared-worker', batch: false,
          healthUrl: '/api/health/${collection}', maxPayloadBytes: 1024 * 1024, backoffBaseMs: 200, probeIntervalMs: 200,
        });
        client.status$.subscribe((s) => (window.syncStatus = s));
        const noise = () => Array.from(crypto.getRandomValues(new Uint8Array(65536)), (b) => b.toString(16).padStart(2, '0')).join('');
        let n = 0;
        for (let i = 0; i < 60; i++) {
          try {
            await client.enqueue({ kind: 'photo', label: 'photo ' + i, request: { method: 'POST', url: ${JSON.stringify(collection)}, body: { id: 'p' + i, data: noise() } } });
            n++;
          } catch (e) { break; }
        }
        return n;
      })()`)) as number;
      // One to fail and be discarded, at least one behind it to drain (how many fit varies from run to run).
      expect(stored).to.be.at.least(2);
      // The first request is refused (a 400): recording it as failed needs space the disk does not have.
      await clearFaults(`/api/health/${collection}`);
      await clearFaults(`/api/${collection}`);
      await addFault({ pathPrefix: `/api/${collection}`, methods: ['POST'], status: 400, times: 1 });
      const waitFor = (check: string, what: string) =>
        run(`new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(${JSON.stringify(what)} + ': ' + JSON.stringify(window.syncStatus))), 20000);
          const poll = () => { if (${check}) { clearTimeout(timer); resolve(); } else setTimeout(poll, 20); };
          poll();
        })`);
      await run(`window.client.syncNow()`);
      await waitFor(`window.syncStatus && window.syncStatus.counts.failed === 1`, 'one failed');
      const failed = (await run(`(async () => {
        const ops = await new Promise((resolve) => {
          const sub = window.client.watchOperations({ status: 'failed' }).subscribe((ops) => { if (ops.length) { resolve(ops); setTimeout(() => sub.unsubscribe()); } });
        });
        return { id: ops[0].id, storage: window.syncStatus.storage };
      })()`)) as { id: string; storage: string };
      expect(failed.storage).to.equal('quota-exceeded');
      expect(await run(`window.client.discard(${JSON.stringify(failed.id)})`)).to.equal(true);
      // The rest drains; the failure that was only in memory left the counts with it.
      await waitFor(
        `window.syncStatus.counts.pending + window.syncStatus.counts.sending === 0 || window.syncStatus.counts.pending < 0`,
        'drained',
      );
      const after = (await run(`(async () => ({
        counts: window.syncStatus.counts,
        failed: await new Promise((resolve) => { const sub = window.client.count$({ status: 'failed' }).subscribe((n) => { resolve(n); setTimeout(() => sub.unsubscribe()); }); }),
      }))()`)) as { counts: Record<string, number>; failed: number };
      expect(after).to.deep.equal({ counts: { pending: 0, sending: 0, failed: 0, conflict: 0 }, failed: 0 });
      expect((await serverItems(collection)).length).to.equal(stored - 1);
    });
  });
});
