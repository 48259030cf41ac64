// The capability document: protocol, key TTL, batch limits (or null) and tombstone retention, never cached.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createSyncServer } from '../app.ts';
import { call, jsonInit, startServer } from './helpers.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('capability document', () => {
  test('advertises the defaults, uncached', async () => {
    const t = await startServer();
    try {
      const response = await call(`${t.api}/_syncline`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(response.body, {
        protocol: 1,
        idempotency: { ttlMs: 7 * DAY_MS },
        batch: { path: '/api/_batch', maxOps: 100, maxBytes: 1024 * 1024 },
        changes: { tombstoneTtlMs: 30 * DAY_MS },
      });
      const post = await call(`${t.api}/_syncline`, jsonInit('POST', {}));
      assert.equal(post.status, 405);
      assert.equal(post.headers.get('allow'), 'GET, HEAD');
      assert.equal((await call(`${t.api}/_admin/changes?collection=_syncline`)).body.error, 'bad-collection');
    } finally {
      await t.close();
    }
  });

  test('follows the options, and says batch: null when batching is off', async () => {
    const t = await startServer({
      basePath: '/sync',
      idempotencyTtlMs: 3_600_000,
      tombstoneTtlMs: 86_400_000,
      batch: { maxOps: 10 },
    });
    const off = await startServer({ batch: false });
    try {
      assert.deepEqual((await call(`${t.api}/_syncline`)).body, {
        protocol: 1,
        idempotency: { ttlMs: 3_600_000 },
        batch: { path: '/sync/_batch', maxOps: 10, maxBytes: 1024 * 1024 },
        changes: { tombstoneTtlMs: 86_400_000 },
      });
      const document = (await call(`${off.api}/_syncline`)).body;
      assert.equal(document.batch, null);
      assert.equal((await call(`${off.api}/_batch`, jsonInit('POST', { ops: [] }))).status, 404);
    } finally {
      await t.close();
      await off.close();
    }
  });

  test('refuses bad limits at start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-capabilities-test-'));
    const dbFile = join(dir, 'never.sqlite');
    try {
      assert.throws(() => createSyncServer({ dbFile, batch: { maxOps: 0 } }), /batch.maxOps/);
      assert.throws(() => createSyncServer({ dbFile, batch: { maxOps: 2.5 } }), /batch.maxOps/);
      assert.throws(() => createSyncServer({ dbFile, batch: { maxBytes: Number.NaN } }), /batch.maxBytes/);
      assert.throws(() => createSyncServer({ dbFile, tombstoneTtlMs: -1 }), /tombstoneTtlMs/);
      assert.throws(() => createSyncServer({ dbFile, changesPageBytes: 0 }), /changesPageBytes/);
      assert.throws(() => createSyncServer({ dbFile, maxBodyBytes: 2 ** 30 }), /maxBodyBytes must be at most/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
