// Server lifetime: a background sweep that fails is logged and tried again, never the end of the process; options that cannot work refused at start.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSyncServer } from '../app.ts';
import { Store } from '../db.ts';
import { call, sleep, startServer } from './helpers.ts';

test('a sweep that fails is logged and tried again at the next tick; the server goes on', async () => {
  // Keys expire after a second: the sweep runs every second.
  const t = await startServer({ idempotencyTtlMs: 1000, tombstoneTtlMs: 1000 });
  const purge = Object.getOwnPropertyDescriptor(Store.prototype, 'purgeTombstonesBefore')!;
  const logged = console.error;
  const errors: unknown[][] = [];
  // What another connection holding the write lock past busy_timeout makes the sweep throw (in 5 s, not at once).
  Store.prototype.purgeTombstonesBefore = () => {
    throw new Error('database is locked');
  };
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    await sleep(2200);
    assert.ok(errors.length >= 2, `each failed sweep logged, and the next one run (${errors.length})`);
    assert.match(String(errors[0]![0]), /sweep/);
    assert.equal((await call(`${t.api}/health`)).status, 200);
  } finally {
    Object.defineProperty(Store.prototype, 'purgeTombstonesBefore', purge);
    console.error = logged;
    await t.close();
  }
});

test('options that cannot work are refused at start, before the file is touched', () => {
  // A page size of 1.5 went into SQLite's LIMIT: every feed request then failed with 500.
  for (const changesPageSize of [1.5, 0, Number.NaN])
    assert.throws(
      () => createSyncServer({ dbFile: '/nonexistent/never-created.sqlite', changesPageSize }),
      (e: Error) => e instanceof TypeError && /changesPageSize/.test(e.message),
      String(changesPageSize),
    );
});
