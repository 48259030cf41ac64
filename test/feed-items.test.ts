// Feed items as servers other than the reference one send them: versions as digits, tombstones as deleted: 1.
import { expect } from '@open-wc/testing';
import { engineFixture, type EngineFixture } from './support/engine.ts';
import { API, eventually, serverPut, uniqueName } from './support/server.ts';

/** A fetch that rewrites each item of the changes feed's pages with `rewrite`. */
function rewritingFeed(rewrite: (item: Record<string, unknown>) => Record<string, unknown>): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if ((init?.method ?? 'GET') !== 'GET' || !url.includes('?since=') || !response.ok) return response;
    const page = (await response.json()) as { items: Record<string, unknown>[] };
    page.items = page.items.map(rewrite);
    return new Response(JSON.stringify(page), { status: 200, headers: { 'Content-Type': 'application/json' } });
  };
}

describe('Background Sync feed items from other servers', () => {
  let f: EngineFixture | undefined;
  afterEach(async () => {
    await f?.dispose();
    f = undefined;
  });

  it('reads a digit-string version of 16 digits (a safe integer, e.g. microsecond timestamps)', async () => {
    // 1_700_000_000_000_001 would not be safe; 1_000_000_000_000_000 + v is (< 2^53), yet it has 16 digits.
    f = await engineFixture(
      {},
      {
        fetch: rewritingFeed((item) => ({
          ...item,
          version: String(1_000_000_000_000_000 + (item.version as number)),
        })),
      },
    );
    const collection = uniqueName('rv16');
    expect((await serverPut(collection, 't1', { title: 'on the server' })).status).to.equal(201);
    await f.engine.registerCollection({ name: collection, url: `${API}/${collection}`, pullIntervalMs: 0 });
    await eventually(
      () => f!.engine.collectionStatus(collection).lastPullAt !== null || f!.engine.status.engineError !== null,
      10_000,
      'the first pull over',
    );
    // The same value sent as a JSON number is read; as digits it is read too.
    expect({
      error: f.engine.status.engineError?.message ?? null,
      items: (await f.engine.entities(collection)).map((e) => e.id),
    }).to.deep.equal({ error: null, items: ['t1'] });
  });

  it('treats a feed item with a truthy non-boolean "deleted" (1, as SQLite-backed servers send) as deleted', async () => {
    // A soft-deleting server: its tombstone keeps the last data and says deleted: 1.
    let tombstones = false;
    f = await engineFixture(
      {},
      {
        fetch: rewritingFeed((item) =>
          tombstones && item.id === 't1' ? { ...item, deleted: 1, data: { title: 'last data' } } : item,
        ),
      },
    );
    const collection = uniqueName('del1');
    expect((await serverPut(collection, 't1', { title: 'on the server' })).status).to.equal(201);
    await f.engine.registerCollection({ name: collection, url: `${API}/${collection}`, pullIntervalMs: 0 });
    await eventually(async () => (await f!.engine.entities(collection)).length === 1, 10_000, 'first pull');
    // Deleted on the server.
    const del = await fetch(`${API}/${collection}/t1`, { method: 'DELETE' });
    expect(del.ok, `DELETE ${del.status}`).to.equal(true);
    tombstones = true;
    await f.engine.background!.pull(collection);
    expect((await f.engine.entities(collection)).map((e) => e.id)).to.deep.equal([]);
  });
});
