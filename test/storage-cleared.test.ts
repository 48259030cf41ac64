// The site's data cleared while the queue runs (Chromium, through DevTools): the engine opens a fresh database and goes on.
import { expect } from '@open-wc/testing';
import { executeServerCommand } from '@web/test-runner-commands';
import { clearFaults, serverItems, uniqueName } from './support/server.ts';
import { withOtherOriginPage } from './support/pages.ts';

describe('site data cleared under a running engine (Chromium)', () => {
  it('starts over on a fresh database: the queue cleared with it is gone, and new work is stored and sent', async function () {
    this.timeout(60_000);
    const collection = uniqueName('sc');
    const namespace = uniqueName('cleared');
    // A loopback origin of its own: the quota test needs 127.0.0.1 unused.
    await withOtherOriginPage(collection, { host: '127.0.0.2' }, async (run, page) => {
      /** Resolves once the page's pending count is `n`, or fails saying what it was. */
      const countIs = (n: number) =>
        run(`new Promise((resolve, reject) => {
          let last;
          const timer = setTimeout(() => reject(new Error('pending count ' + last + ', not ${n}')), 15000);
          const sub = window.client.pendingCount$.subscribe((v) => {
            last = v;
            if (v === ${n}) { clearTimeout(timer); resolve(true); setTimeout(() => sub.unsubscribe()); }
          });
        })`);
      const create = (id: string) =>
        `window.client.enqueue({ kind: 'item.create', label: '${id}', request: { method: 'POST', url: '${collection}', body: { id: '${id}' } } }).then(() => true)`;
      await run(`(() => {
        window.client = window.syncline.createSyncClient({
          endpoint: '/api', namespace: ${JSON.stringify(namespace)}, mode: 'shared-worker',
          healthUrl: '/api/health/${collection}', backoffBaseMs: 200, probeIntervalMs: 200,
        });
      })()`);
      await run(create('a'));
      await run(create('b'));
      await countIs(2);
      await executeServerCommand('clear-page-storage', { id: page });
      // The queue went with the site's data; the engine that follows runs on a fresh database.
      await countIs(0);
      expect(await run(create('c'))).to.equal(true);
      await countIs(1);
      await clearFaults(`/api/health/${collection}`);
      await clearFaults(`/api/${collection}`);
      await run(`window.client.syncNow()`);
      await countIs(0);
      expect((await serverItems(collection)).map((i) => i.id)).to.deep.equal(['c']);
    });
  });
});
