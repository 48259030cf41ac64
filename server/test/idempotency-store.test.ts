// The key store on a real SQLite file: which outcomes are stored for replay, which release the key, and scoping.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Store, type KeyClaim } from '../db.ts';
import { ApiError, jsonResult } from '../http.ts';
import { CLAIM_LEASE_MS, defaultPrincipal, IdempotencyKeys, isStoredStatus, type Admission } from '../idempotency.ts';

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
    const claim = claimOf(keys.admit('bearer:alice', key, 'PUT /api/x sha256:0'));
    store.transaction(() => keys.settle(claim, jsonResult(status, { status })));
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
    const claim = claimOf(keys.admit('bearer:alice', 'same', 'POST /api/x sha256:1'));
    store.transaction(() => keys.settle(claim, jsonResult(201, {})));
    assert.equal(keys.admit('bearer:bob', 'same', 'POST /api/x sha256:2').kind, 'new', 'not a 422');
    assert.equal(keys.admit('bearer:alice', 'same', 'POST /api/x sha256:1').kind, 'replay');
  });

  test("a claim whose lease ran out is taken over, and its late completion leaves the new claim's answer", () => {
    const t0 = Date.now();
    const fingerprint = 'POST /api/x sha256:3';
    const stale = claimOf(keys.admit('bearer:alice', 'lease', fingerprint, 500, t0));
    assert.throws(
      () => keys.admit('bearer:alice', 'lease', fingerprint, 0, t0 + 500 + CLAIM_LEASE_MS - 1),
      (err: unknown) => err instanceof ApiError && err.status === 409 && err.code === 'in-progress',
      'still within its lease',
    );
    const fresh = claimOf(keys.admit('bearer:alice', 'lease', fingerprint, 0, t0 + 500 + CLAIM_LEASE_MS));
    store.transaction(() => keys.settle(fresh, jsonResult(201, { by: 'fresh' })));
    // The stale request wakes up: its completion must fail (rolling back its effect), not overwrite the answer.
    assert.throws(
      () => store.transaction(() => keys.settle(stale, jsonResult(201, { by: 'stale' }))),
      (err: unknown) => err instanceof ApiError && err.status === 409 && err.code === 'in-progress',
    );
    keys.release(stale);
    const replay = keys.admit('bearer:alice', 'lease', fingerprint);
    assert.equal(replay.kind, 'replay');
    assert.deepEqual(JSON.parse((replay as Extract<Admission, { kind: 'replay' }>).response.body), { by: 'fresh' });
  });

  test('the TTL never frees a key still processing, and counts from when the response was stored', () => {
    const t0 = Date.now();
    const fingerprint = 'POST /api/x sha256:4';
    // A request held up for twice the TTL (injected latency) keeps its key throughout.
    const claim = claimOf(keys.admit('bearer:alice', 'slow', fingerprint, 2 * 60_000, t0));
    const late = t0 + 2 * 60_000;
    keys.purgeExpired(late);
    assert.throws(
      () => keys.admit('bearer:alice', 'slow', fingerprint, 0, late),
      (err: unknown) => err instanceof ApiError && err.code === 'in-progress',
    );
    store.transaction(() => keys.settle(claim, jsonResult(201, {}), late));
    keys.purgeExpired(late + 59_999);
    assert.equal(keys.admit('bearer:alice', 'slow', fingerprint, 0, late + 59_999).kind, 'replay');
    keys.purgeExpired(late + 60_000);
    assert.equal(keys.admit('bearer:alice', 'slow', fingerprint, 0, late + 60_000).kind, 'new', 'purged');
  });

  test('a closed store releases the claims it holds; another open store on the file keeps its own', () => {
    const other = new Store(join(dir, 'keys.sqlite'));
    const otherKeys = new IdempotencyKeys(other, 60_000);
    claimOf(otherKeys.admit('bearer:alice', 'held-by-closed', 'PUT /api/x sha256:5'));
    claimOf(keys.admit('bearer:alice', 'held-by-open', 'PUT /api/x sha256:6'));
    other.close();
    assert.equal(keys.admit('bearer:alice', 'held-by-closed', 'PUT /api/x sha256:5').kind, 'new');
    const reopened = new Store(join(dir, 'keys.sqlite'));
    try {
      assert.throws(
        () => new IdempotencyKeys(reopened, 60_000).admit('bearer:alice', 'held-by-open', 'PUT /api/x sha256:6'),
        (err: unknown) => err instanceof ApiError && err.code === 'in-progress',
        'opening the file again does not clear a live claim',
      );
    } finally {
      reopened.close();
    }
  });
});

function claimOf(admission: Admission): KeyClaim {
  assert.equal(admission.kind, 'new');
  return (admission as Extract<Admission, { kind: 'new' }>).claim;
}

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
