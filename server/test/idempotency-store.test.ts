// The key store on a real SQLite file: outcomes stored or released, scoping, claims whose request or process stops.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { OWNER_TIMEOUT_MS, Store, type KeyClaim, type StoreOptions } from '../db.ts';
import { ApiError, jsonResult } from '../http.ts';
import { CLAIM_LEASE_MS, defaultPrincipal, IdempotencyKeys, isStoredStatus, type Admission } from '../idempotency.ts';
import { sleep } from './helpers.ts';

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

  test('a claim whose release failed (the file locked past busy_timeout) frees its key for the retry at once', () => {
    const claim = claimOf(keys.admit('bearer:alice', 'k-unreleased', 'PUT /api/x sha256:0'));
    // The request failed on our side, and so does the release: the same locked file.
    const releaseKey = store.releaseKey;
    store.releaseKey = () => {
      throw new Error('database is locked');
    };
    const logged = console.error;
    console.error = () => {};
    try {
      assert.doesNotThrow(() => keys.release(claim), 'the request answers its own failure, not the release');
    } finally {
      store.releaseKey = releaseKey;
      console.error = logged;
    }
    // The client's retry is processed afresh, not "in progress" until the lease runs out.
    const retry = claimOf(keys.admit('bearer:alice', 'k-unreleased', 'PUT /api/x sha256:0'));
    assert.notEqual(retry.token, claim.token);
    // The sweep releases what it can of the claims given up, and leaves the retry's claim alone.
    keys.purgeExpired();
    assert.throws(() => keys.admit('bearer:alice', 'k-unreleased', 'PUT /api/x sha256:0'), { status: 409 });
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

/** Short enough that a test can wait for a store to be judged dead; every store on a test's file agrees on them. */
const LIVENESS = { heartbeatMs: 50, ownerTimeoutMs: 500 };

const isInProgress = (err: unknown) => err instanceof ApiError && err.status === 409 && err.code === 'in-progress';

describe('claims of a store that stops recording itself alive', () => {
  let dir: string;
  const opened: Store[] = [];
  const open = (name: string, options: StoreOptions = LIVENESS) => {
    const store = new Store(join(dir, name), options);
    opened.push(store);
    return store;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'syncline-owners-test-'));
  });
  after(() => {
    for (const store of opened) store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a key held by a killed process is claimed again once it has gone unrecorded, long before its lease ends', async () => {
    const fingerprint = 'PUT /api/x sha256:10';
    const holder = await claimInProcess(join(dir, 'killed.sqlite'), 'killed', fingerprint);
    try {
      const store = open('killed.sqlite');
      const keys = new IdempotencyKeys(store, 60_000);
      assert.throws(
        () => keys.admit('bearer:alice', 'killed', fingerprint, 0, holder.claimedAt),
        isInProgress,
        'held while its process is alive',
      );
      holder.process.kill('SIGKILL');
      await once(holder.process, 'exit');
      const killedAt = Date.now();
      // Retried the way a client retries a 409 in progress, only more often.
      let claim: KeyClaim | undefined;
      while (claim === undefined) {
        try {
          claim = claimOf(keys.admit('bearer:alice', 'killed', fingerprint));
        } catch (err) {
          if (!isInProgress(err)) throw err;
          assert.ok(
            Date.now() - killedAt < LIVENESS.ownerTimeoutMs + 5_000,
            `still in progress ${Date.now() - killedAt} ms after its process died (its lease runs ${CLAIM_LEASE_MS} ms)`,
          );
          await sleep(20);
        }
      }
      const taken = claim;
      store.transaction(() => keys.settle(taken, jsonResult(201, { by: 'survivor' })));
      const replay = keys.admit('bearer:alice', 'killed', fingerprint);
      assert.equal(replay.kind, 'replay');
    } finally {
      holder.process.kill('SIGKILL');
    }
  });

  test('a key held by a live store on the same file is refused for as long as that store records itself alive', async () => {
    const fingerprint = 'PUT /api/x sha256:11';
    const holder = open('live.sqlite');
    const holderKeys = new IdempotencyKeys(holder, 60_000);
    const keys = new IdempotencyKeys(open('live.sqlite'), 60_000);
    const claim = claimOf(holderKeys.admit('bearer:alice', 'live', fingerprint));
    // Several timeouts go by: only the holder's heartbeat keeps its claim.
    await sleep(3 * LIVENESS.ownerTimeoutMs);
    assert.throws(() => keys.admit('bearer:alice', 'live', fingerprint), isInProgress);
    assert.equal(keys.purgeExpired(), 0, 'the sweep leaves it too');
    assert.throws(() => keys.admit('bearer:alice', 'live', fingerprint), isInProgress);
    holder.transaction(() => holderKeys.settle(claim, jsonResult(201, { by: 'holder' })));
    const replay = keys.admit('bearer:alice', 'live', fingerprint);
    assert.equal(replay.kind, 'replay');
    assert.deepEqual(JSON.parse((replay as Extract<Admission, { kind: 'replay' }>).response.body), { by: 'holder' });
  });

  test("a dead store's late completion undoes its effect and leaves the new claim's answer", () => {
    const fingerprint = 'PUT /api/x sha256:12';
    const t0 = Date.now();
    // Its clock stands still, so its record ages as that of a process that hung at t0 does.
    const hung = open('late.sqlite', { clock: () => t0 });
    const hungKeys = new IdempotencyKeys(hung, 60_000);
    const store = open('late.sqlite', {});
    const keys = new IdempotencyKeys(store, 60_000);
    const stale = claimOf(hungKeys.admit('bearer:alice', 'late', fingerprint, 0, t0));
    assert.throws(
      () => keys.admit('bearer:alice', 'late', fingerprint, 0, t0 + OWNER_TIMEOUT_MS - 1),
      isInProgress,
      'not yet dead',
    );
    assert.ok(OWNER_TIMEOUT_MS < CLAIM_LEASE_MS);
    const fresh = claimOf(keys.admit('bearer:alice', 'late', fingerprint, 0, t0 + OWNER_TIMEOUT_MS));
    store.transaction(() => keys.settle(fresh, jsonResult(201, { by: 'fresh' })));
    // The hung process wakes up and completes: its effect must go with its completion, not overwrite the answer.
    const origin = { principal: 'bearer:alice', idempotencyKey: 'late' };
    assert.throws(
      () =>
        hung.transaction(() => {
          hung.writeEntity('late', { id: 'x', version: 1, data: { by: 'stale' }, deleted: false }, origin);
          hungKeys.settle(stale, jsonResult(201, { by: 'stale' }));
        }),
      isInProgress,
    );
    hungKeys.release(stale);
    assert.equal(store.getEntity('late', 'x'), undefined, 'its write was rolled back');
    const replay = keys.admit('bearer:alice', 'late', fingerprint);
    assert.equal(replay.kind, 'replay');
    assert.deepEqual(JSON.parse((replay as Extract<Admission, { kind: 'replay' }>).response.body), { by: 'fresh' });
  });

  test('a store never takes its own claims for abandoned, however far behind its own record is', () => {
    const fingerprint = 'PUT /api/x sha256:15';
    const t0 = Date.now();
    // Its clock stands still, so its record falls behind as it does while its event loop is held up.
    const keys = new IdempotencyKeys(open('self.sqlite', { clock: () => t0 }), 60_000);
    claimOf(keys.admit('bearer:alice', 'own', fingerprint, 0, t0));
    const later = t0 + 2 * OWNER_TIMEOUT_MS;
    assert.throws(() => keys.admit('bearer:alice', 'own', fingerprint, 0, later), isInProgress);
    assert.equal(keys.purgeExpired(later), 0);
    assert.throws(() => keys.admit('bearer:alice', 'own', fingerprint, 0, later), isInProgress);
  });

  test("the sweep purges a dead store's claims and its record, and keeps a live store's", async () => {
    const file = join(dir, 'sweep.sqlite');
    const t0 = Date.now();
    const hungKeys = new IdempotencyKeys(open('sweep.sqlite', { ...LIVENESS, clock: () => t0 }), 60_000);
    const keys = new IdempotencyKeys(open('sweep.sqlite'), 60_000);
    claimOf(hungKeys.admit('bearer:alice', 'of-dead', 'PUT /api/x sha256:13'));
    claimOf(keys.admit('bearer:alice', 'of-live', 'PUT /api/x sha256:14'));
    await sleep(LIVENESS.ownerTimeoutMs + 4 * LIVENESS.heartbeatMs);
    assert.equal(keys.purgeExpired(), 1);
    assert.equal(ownersOn(file), 1, 'only the live store is on record');
    assert.throws(() => keys.admit('bearer:alice', 'of-live', 'PUT /api/x sha256:14'), isInProgress);
    assert.equal(keys.admit('bearer:alice', 'of-dead', 'PUT /api/x sha256:13').kind, 'new');
  });

  test('liveness settings that cannot work are refused before the file is touched', () => {
    const file = join(dir, 'refused', 'never.sqlite');
    for (const options of [{ heartbeatMs: 1000, ownerTimeoutMs: 1000 }, { heartbeatMs: 0 }, { ownerTimeoutMs: NaN }]) {
      assert.throws(() => new Store(file, options), TypeError, JSON.stringify(options));
    }
    assert.equal(existsSync(join(dir, 'refused')), false);
  });
});

/** A separate process (see claiming-process.ts) that claims `key` on `file` and stays alive until killed. */
async function claimInProcess(
  file: string,
  key: string,
  fingerprint: string,
): Promise<{ process: ChildProcess; claimedAt: number }> {
  const script = fileURLToPath(new URL('./claiming-process.ts', import.meta.url));
  const { heartbeatMs, ownerTimeoutMs } = LIVENESS;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', script, file, 'bearer:alice', key, fingerprint, String(heartbeatMs), String(ownerTimeoutMs)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.setEncoding('utf8');
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the claiming process exited (${code}) before it claimed`)));
  });
  return { process: child, claimedAt: Number(line) };
}

/** How many stores the file has on record as alive or not yet swept. */
function ownersOn(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM owners').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

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
