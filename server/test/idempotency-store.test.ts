// The key store on a real SQLite file: which outcomes are stored for replay and which release the key.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Store } from '../db.ts';
import { jsonResult } from '../http.ts';
import { IdempotencyKeys, isStoredStatus } from '../idempotency.ts';

describe('idempotency key store', () => {
  let dir: string;
  let store: Store;
  let keys: IdempotencyKeys;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'syncline-keys-test-'));
    store = new Store(join(dir, 'keys.sqlite'));
    keys = new IdempotencyKeys(store, 60_000);
  });
  after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Claims a key, settles it with `status` as the effect's transaction would, and admits it again. */
  function settleThenRepeat(key: string, status: number): string {
    assert.equal(keys.admit(key, 'PUT /api/x sha256:0').kind, 'new');
    store.transaction(() => keys.settle(key, jsonResult(status, { status })));
    return keys.admit(key, 'PUT /api/x sha256:0').kind;
  }

  test('2xx and definite client errors are stored and replayed', () => {
    for (const status of [200, 201, 204, 400, 404, 409, 410, 412, 415, 422]) {
      assert.equal(isStoredStatus(status), true, String(status));
      assert.equal(settleThenRepeat(`stored-${status}`, status), 'replay', String(status));
    }
  });

  test('401, 403, 408, 429 and 5xx release the key, so a repeat is processed afresh', () => {
    for (const status of [401, 403, 408, 429, 500, 502, 503, 504]) {
      assert.equal(isStoredStatus(status), false, String(status));
      assert.equal(settleThenRepeat(`released-${status}`, status), 'new', String(status));
    }
  });
});
