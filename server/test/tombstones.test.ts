// Tombstone retention: purged after tombstoneTtlMs, cursors from before a purge get 410, versions never repeat.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../db.ts';
import { createEntity, deleteEntity, listChanges } from '../resources.ts';
import { call, jsonInit, startServer, type TestServer } from './helpers.ts';

const TTL = 60_000;

describe('tombstone retention', () => {
  let t: TestServer;
  // Long enough that the background sweep never purges mid-test; the test sweeps with a later `now`.
  before(async () => {
    t = await startServer({ tombstoneTtlMs: TTL });
  });
  after(async () => {
    await t.close();
  });

  const feed = (collection: string, since?: string) =>
    call(`${t.api}/${collection}${since === undefined ? '' : `?since=${since}`}`);

  test('a tombstone stays for its TTL, then goes; a cursor from before it gets 410', async () => {
    await call(`${t.api}/tomb`, jsonInit('POST', { id: 'a' }));
    await call(`${t.api}/tomb`, jsonInit('POST', { id: 'b' }));
    const beforeDelete = (await feed('tomb')).body.cursor;
    assert.equal((await call(`${t.api}/tomb/a`, { method: 'DELETE' })).body.version, 2);
    const afterDelete = (await feed('tomb')).body.cursor;

    assert.deepEqual(t.server.sweep(Date.now() + TTL / 2), { keys: 0, tombstones: 0 });
    assert.deepEqual((await feed('tomb', beforeDelete)).body.items, [
      { id: 'a', version: 2, data: null, deleted: true },
    ]);

    assert.equal(t.server.sweep(Date.now() + TTL + 1).tombstones, 1);
    const expired = await feed('tomb', beforeDelete);
    assert.equal(expired.status, 410);
    assert.equal(expired.body.error, 'cursor-expired');
    assert.equal(typeof expired.body.message, 'string');
    assert.equal(expired.headers.get('content-type'), 'application/json');

    // A cursor that saw the deletion goes on; pulling from scratch (no since, or 0) always works.
    assert.deepEqual((await feed('tomb', afterDelete)).body, { items: [], cursor: afterDelete, hasMore: false });
    assert.deepEqual(
      (await feed('tomb')).body.items.map((i: any) => i.id),
      ['b'],
    );
    assert.equal((await feed('tomb', '0')).status, 200);
    assert.equal((await call(`${t.api}/tomb/a`)).status, 404);
    assert.equal((await call(`${t.api}/tomb/a`, { method: 'DELETE' })).status, 404);
  });

  test('cursors handed out after a purge go on working: the pages of a full pull, and its end', async () => {
    // A page of two: a full pull of three live entities takes two pages, both below the purged deletion.
    const small = await startServer({ tombstoneTtlMs: TTL, changesPageSize: 2 });
    try {
      for (const id of ['a', 'b', 'c']) await call(`${small.api}/big`, jsonInit('POST', { id }));
      await call(`${small.api}/big`, jsonInit('POST', { id: 'gone' }));
      await call(`${small.api}/big/gone`, { method: 'DELETE' });
      assert.equal(small.server.sweep(Date.now() + TTL + 1).tombstones, 1);
      const first = await call(`${small.api}/big`);
      assert.equal(first.body.hasMore, true);
      const second = await call(`${small.api}/big?since=${first.body.cursor}`);
      assert.equal(second.status, 200, 'the second page of a pull begun after the purge');
      assert.deepEqual(
        [...first.body.items, ...second.body.items].map((i: any) => i.id),
        ['a', 'b', 'c'],
      );
      // The pull's end is below the purged deletion too: the next poll finds nothing new, not 410.
      const poll = await call(`${small.api}/big?since=${second.body.cursor}`);
      assert.deepEqual(poll.body, { items: [], cursor: second.body.cursor, hasMore: false });
      // Another deletion purged after that cursor was handed out: now it may have missed one.
      await call(`${small.api}/big/a`, { method: 'DELETE' });
      assert.equal(small.server.sweep(Date.now() + TTL + 1).tombstones, 1);
      assert.equal((await call(`${small.api}/big?since=${second.body.cursor}`)).body.error, 'cursor-expired');
      // A horizon this database never reached: the cursor is from another database.
      assert.equal((await call(`${small.api}/big?since=1.999`)).body.error, 'cursor-unknown');
    } finally {
      await small.close();
    }
  });

  test("a purge in one collection leaves other collections' cursors alone", async () => {
    await call(`${t.api}/keep`, jsonInit('POST', { id: 'k' }));
    const old = (await feed('keep')).body.cursor;
    await call(`${t.api}/purged`, jsonInit('POST', { id: 'p' }));
    await call(`${t.api}/purged/p`, { method: 'DELETE' });
    assert.equal(t.server.sweep(Date.now() + TTL + 1).tombstones, 1);
    assert.equal((await feed('keep', old)).status, 200);
    assert.equal((await feed('purged', old)).status, 410);
  });

  test('a re-created id gets a version above its purged tombstone, so an old ETag cannot match', async () => {
    await call(`${t.api}/again`, jsonInit('POST', { id: 'r' }));
    await call(`${t.api}/again/r`, jsonInit('PUT', { n: 2 }));
    await call(`${t.api}/again/r`, { method: 'DELETE' });
    t.server.sweep(Date.now() + TTL + 1);
    const stale = await call(`${t.api}/again/r`, jsonInit('PUT', { n: 'stale' }, { 'if-match': '"1"' }));
    assert.equal(stale.status, 412);
    assert.equal(stale.body.current, null);
    const created = await call(`${t.api}/again/r`, jsonInit('PUT', { n: 'new' }));
    assert.equal(created.status, 201);
    assert.equal(created.body.version, 4, "above the purged tombstone's 3");
    const posted = await call(`${t.api}/again`, jsonInit('POST', { id: 'other' }));
    assert.equal(posted.body.version, 4, 'every new id in the collection starts above what was purged');
  });

  test('a page read while another process purges on the same file keeps the deletion or says 410, never drops it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-race-'));
    const file = join(dir, 'shared.sqlite');
    const a = new Store(file);
    const b = new Store(file);
    try {
      const origin = { principal: 'p', idempotencyKey: null };
      a.transaction(() => createEntity(a, 'race', { id: 'x' }, (id) => id, origin));
      const cursor = listChanges(a, 'race', undefined, 500, 1e6).cursor;
      a.transaction(() => deleteEntity(a, 'race', 'x', null, origin));
      a.transaction(() => createEntity(a, 'race', { id: 'z' }, (id) => id, origin));
      // The other process's sweep commits after this one checked the horizon, before it reads the page.
      const horizon = a.purgeHorizon.bind(a);
      a.purgeHorizon = (collection) => {
        const seen = horizon(collection);
        b.purgeTombstonesBefore(Date.now() + TTL);
        return seen;
      };
      const page = listChanges(a, 'race', cursor, 500, 1e6);
      assert.deepEqual(
        page.items.map((i) => [i.id, i.deleted]),
        [
          ['x', true],
          ['z', false],
        ],
      );
      a.purgeHorizon = horizon;
      assert.throws(() => listChanges(a, 'race', cursor, 500, 1e6), { status: 410 }, 'once purged, the cursor is old');
    } finally {
      a.close();
      b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the purge horizon survives a restart', async () => {
    const first = await startServer({ tombstoneTtlMs: TTL });
    await call(`${first.api}/durable`, jsonInit('POST', { id: 'd' }));
    const old = (await call(`${first.api}/durable`)).body.cursor;
    await call(`${first.api}/durable/d`, { method: 'DELETE' });
    first.server.sweep(Date.now() + TTL + 1);
    await first.stop();
    const second = await startServer({ tombstoneTtlMs: TTL }, first.dbFile);
    try {
      assert.equal((await call(`${second.api}/durable?since=${old}`)).status, 410);
    } finally {
      await second.close();
    }
  });
});
