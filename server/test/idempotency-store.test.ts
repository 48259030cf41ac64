// The key store on a real SQLite file: which outcomes are stored for replay, which release the key, and scoping.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Store } from '../db.ts';
import { jsonResult } from '../http.ts';
import { defaultPrincipal, IdempotencyKeys, isStoredStatus } from '../idempotency.ts';

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
    assert.equal(keys.admit('bearer:alice', key, 'PUT /api/x sha256:0').kind, 'new');
    store.transaction(() => keys.settle('bearer:alice', key, jsonResult(status, { status })));
    return keys.admit('bearer:alice', key, 'PUT /api/x sha256:0').kind;
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

  test('a key belongs to one principal', () => {
    assert.equal(keys.admit('bearer:alice', 'same', 'POST /api/x sha256:1').kind, 'new');
    store.transaction(() => keys.settle('bearer:alice', 'same', jsonResult(201, {})));
    assert.equal(keys.admit('bearer:bob', 'same', 'POST /api/x sha256:2').kind, 'new', 'not a 422');
    assert.equal(keys.admit('bearer:alice', 'same', 'POST /api/x sha256:1').kind, 'replay');
  });
});

describe('the default principal', () => {
  const request = (authorization?: string) =>
    new Request('http://localhost/api/x', authorization === undefined ? {} : { headers: { authorization } });

  test('is bearer:<token> for a bearer token, anonymous without Authorization', () => {
    assert.equal(defaultPrincipal(request('Bearer alice-token')), 'bearer:alice-token');
    assert.equal(defaultPrincipal(request('bearer   alice-token')), 'bearer:alice-token');
    assert.equal(defaultPrincipal(request()), 'anonymous');
  });

  test('gives any other credential a principal of its own without storing it', () => {
    const basic = defaultPrincipal(request('Basic YWxpY2U6c2VjcmV0'));
    assert.match(basic, /^authorization:sha256:[0-9a-f]{64}$/);
    assert.notEqual(defaultPrincipal(request('Basic Ym9iOnNlY3JldA==')), basic);
    assert.notEqual(defaultPrincipal(request('Bearer')), 'anonymous');
  });
});
