// Idempotency-Key semantics: replay without a second effect, in-progress 409, reuse 422, scoping, failures not stored, TTL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { ApiError } from '../http.ts';
import { addFault, call, changeLog, jsonInit, sleep, startServer, type TestServer } from './helpers.ts';

describe('idempotency keys', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => {
    await t.close();
  });

  test('a repeat gets the stored response with Idempotent-Replayed and no second effect', async () => {
    const key = { 'idempotency-key': '"01J9ZQ4Y7D0replay"' };
    const first = await call(`${t.api}/todos`, jsonInit('POST', { title: 'milk' }, key));
    assert.equal(first.status, 201);
    assert.equal(first.headers.get('idempotent-replayed'), null);

    const second = await call(`${t.api}/todos`, jsonInit('POST', { title: 'milk' }, key));
    assert.equal(second.status, 201);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.equal(second.headers.get('etag'), first.headers.get('etag'));
    assert.equal(second.headers.get('location'), first.headers.get('location'));
    assert.deepEqual(second.body, first.body);

    assert.deepEqual(
      (await changeLog(t.api, 'todos')).map((c) => c.id),
      [first.body.id],
    );
    assert.equal((await call(`${t.api}/todos`)).body.items.length, 1);
  });

  test('PUT and DELETE replays keep the version where the first request left it', async () => {
    await call(`${t.api}/puts`, jsonInit('POST', { id: 'p' }));
    const put = jsonInit('PUT', { n: 1 }, { 'if-match': '"1"', 'idempotency-key': '"put-1"' });
    assert.equal((await call(`${t.api}/puts/p`, put)).body.version, 2);
    const replay = await call(`${t.api}/puts/p`, put);
    assert.equal(replay.status, 200);
    assert.equal(replay.body.version, 2, 'not a 412 although If-Match is now stale: the stored answer wins');
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');

    const del = { method: 'DELETE', headers: { 'idempotency-key': 'bare-token-delete' } };
    assert.equal((await call(`${t.api}/puts/p`, del)).body.version, 3);
    const delReplay = await call(`${t.api}/puts/p`, del);
    assert.equal(delReplay.body.version, 3);
    assert.equal(delReplay.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(
      (await changeLog(t.api, 'puts')).map((c) => c.version),
      [1, 2, 3],
    );
  });

  test('client errors are stored and replayed too', async () => {
    await call(`${t.api}/conflicts`, jsonInit('POST', { id: 'c' }));
    await call(`${t.api}/conflicts/c`, jsonInit('PUT', { n: 1 }));
    const stale = jsonInit('PUT', { n: 2 }, { 'if-match': '"1"', 'idempotency-key': '"stale-1"' });
    const first = await call(`${t.api}/conflicts/c`, stale);
    assert.equal(first.status, 412);
    await call(`${t.api}/conflicts/c`, jsonInit('PUT', { n: 3 }));
    const replay = await call(`${t.api}/conflicts/c`, stale);
    assert.equal(replay.status, 412);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(replay.headers.get('etag'), first.headers.get('etag'), 'the ETag of the copy the 412 carries');
    assert.deepEqual(replay.body, first.body);
  });

  test('a duplicate while the first is still processing gets 409 with Retry-After, then the replay', async () => {
    await addFault(t.api, { pathPrefix: '/api/slow', latencyMs: 400, times: 1 });
    const init = jsonInit('PUT', { n: 1 }, { 'idempotency-key': '"slow-key"' });
    const firstPromise = call(`${t.api}/slow/s1`, init);
    await sleep(150);
    const duplicate = await call(`${t.api}/slow/s1`, init);
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.body.error, 'in-progress');
    assert.equal(duplicate.headers.get('retry-after'), '1');

    const first = await firstPromise;
    assert.equal(first.status, 201);
    const replay = await call(`${t.api}/slow/s1`, init);
    assert.equal(replay.status, 201);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(replay.body, first.body);
    assert.equal((await changeLog(t.api, 'slow')).length, 1);
  });

  test('headers are not part of the request: a retry with other headers gets the first answer, or 409 meanwhile', async () => {
    await addFault(t.api, { pathPrefix: '/api/headers', latencyMs: 400, times: 1 });
    const key = { 'idempotency-key': '"headers-key"' };
    const body = JSON.stringify({ n: 1 });
    const firstPromise = call(`${t.api}/headers/h`, jsonInit('PUT', body, key));
    await sleep(150);
    // Checks of the request's own (its If-Match, its Content-Type) come after the key's answer.
    const during = await call(`${t.api}/headers/h`, jsonInit('PUT', body, { ...key, 'if-match': 'garbage' }));
    assert.equal(during.status, 409);
    assert.equal(during.body.error, 'in-progress');
    const first = await firstPromise;
    assert.equal(first.status, 201);
    for (const headers of [
      { ...key, 'if-match': 'garbage' },
      { ...key, 'if-match': '"7"' },
      { ...key, 'content-type': 'text/plain' },
    ]) {
      const retry = await call(`${t.api}/headers/h`, { method: 'PUT', headers, body });
      assert.equal(retry.status, 201, JSON.stringify(headers));
      assert.equal(retry.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(retry.body, first.body);
    }
    assert.equal((await changeLog(t.api, 'headers')).length, 1);
  });

  test('the same key with a different request is 422', async () => {
    const key = { 'idempotency-key': '"reused"' };
    assert.equal((await call(`${t.api}/reuse/r`, jsonInit('PUT', { n: 1 }, key))).status, 201);
    const otherBody = await call(`${t.api}/reuse/r`, jsonInit('PUT', { n: 2 }, key));
    assert.equal(otherBody.status, 422);
    assert.equal(otherBody.body.error, 'idempotency-key-reuse');
    const otherPath = await call(`${t.api}/reuse/q`, jsonInit('PUT', { n: 1 }, key));
    assert.equal(otherPath.status, 422);
    const otherMethod = await call(`${t.api}/reuse/r`, { method: 'DELETE', headers: key });
    assert.equal(otherMethod.status, 422);
    // Reuse is answered first, whatever else is wrong with the other request: a bad body, a bad If-Match.
    const badBody = await call(`${t.api}/reuse/r`, {
      method: 'PUT',
      headers: { ...key, 'content-type': 'application/json' },
      body: '{not json',
    });
    assert.equal(badBody.body.error, 'idempotency-key-reuse');
    const badIfMatch = await call(`${t.api}/reuse/r`, { method: 'DELETE', headers: { ...key, 'if-match': 'garbage' } });
    assert.equal(badIfMatch.body.error, 'idempotency-key-reuse');
    // A fresh key with the same faults is refused for what it is.
    assert.equal(
      (await call(`${t.api}/reuse/r`, { method: 'DELETE', headers: { 'if-match': 'garbage' } })).status,
      400,
    );
    assert.deepEqual(
      (await changeLog(t.api, 'reuse')).map((c) => [c.id, c.version]),
      [['r', 1]],
    );
  });

  test('keys are scoped per principal: equal keys of two users never meet', async () => {
    const as = (token: string | null, n: number) =>
      jsonInit(
        'PUT',
        { n },
        {
          'idempotency-key': '"shared-key"',
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        },
      );
    const alice = await call(`${t.api}/scoped/s`, as('alice', 1));
    assert.equal(alice.status, 201);
    const bob = await call(`${t.api}/scoped/s`, as('bob', 2));
    assert.equal(bob.status, 200, "not 422: the key is bob's own");
    assert.equal(bob.headers.get('idempotent-replayed'), null);
    const anonymous = await call(`${t.api}/scoped/s`, as(null, 3));
    assert.equal(anonymous.headers.get('idempotent-replayed'), null);
    assert.equal(anonymous.body.version, 3);

    const aliceAgain = await call(`${t.api}/scoped/s`, as('alice', 1));
    assert.equal(aliceAgain.headers.get('idempotent-replayed'), 'true');
    assert.equal(aliceAgain.body.version, 1);
    assert.equal((await call(`${t.api}/scoped/s`, as('alice', 9))).status, 422, 'still one key per principal');
    assert.equal((await call(`${t.api}/scoped/s`, as('bob', 2))).body.version, 2);
    assert.deepEqual(
      (await changeLog(t.api, 'scoped')).map((c) => c.version),
      [1, 2, 3],
    );
  });

  test('the change log records the principal and key of the request behind each write', async () => {
    await call(
      `${t.api}/origins`,
      jsonInit('POST', { id: 'o' }, { 'idempotency-key': '"origin-1"', authorization: 'Bearer alice' }),
    );
    await call(
      `${t.api}/origins`,
      jsonInit('POST', { id: 'o' }, { 'idempotency-key': '"origin-1"', authorization: 'Bearer alice' }),
    );
    await call(`${t.api}/origins/o`, jsonInit('PUT', { n: 2 }));
    await call(`${t.api}/origins/o`, {
      method: 'DELETE',
      headers: { 'idempotency-key': '"origin-3"', authorization: 'Bearer bob' },
    });
    const log = await changeLog(t.api, 'origins');
    assert.deepEqual(
      log.map((c) => [c.version, c.principal, c.idempotencyKey]),
      [
        [1, 'bearer:alice', 'origin-1'],
        [2, 'anonymous', null],
        [3, 'bearer:bob', 'origin-3'],
      ],
    );
  });

  test('the query string is part of the request: same key, other query is 422', async () => {
    const key = { 'idempotency-key': '"with-query"' };
    const first = await call(`${t.api}/query/q?mode=a`, jsonInit('PUT', { n: 1 }, key));
    assert.equal(first.status, 201);
    const same = await call(`${t.api}/query/q?mode=a`, jsonInit('PUT', { n: 1 }, key));
    assert.equal(same.headers.get('idempotent-replayed'), 'true');
    const otherQuery = await call(`${t.api}/query/q?mode=b`, jsonInit('PUT', { n: 1 }, key));
    assert.equal(otherQuery.status, 422);
    assert.equal(otherQuery.body.error, 'idempotency-key-reuse');
    assert.equal(
      (await call(`${t.api}/query/q`, jsonInit('PUT', { n: 1 }, key))).status,
      422,
      'no query is another query',
    );
    assert.equal((await changeLog(t.api, 'query')).length, 1);
  });

  test('malformed keys are 400 and nothing is written', async () => {
    for (const header of ['""', '"unterminated', `"${'k'.repeat(256)}"`, 'has space', '"a", "b"', '"bad\\x"']) {
      const response = await call(`${t.api}/badkeys/x`, jsonInit('PUT', { n: 1 }, { 'idempotency-key': header }));
      assert.equal(response.status, 400, header.slice(0, 40));
      assert.equal(response.body.error, 'bad-idempotency-key');
    }
    const escaped = await call(
      `${t.api}/badkeys/y`,
      jsonInit('PUT', { n: 1 }, { 'idempotency-key': '"with \\"quote\\""' }),
    );
    assert.equal(escaped.status, 201);
    assert.deepEqual(
      (await changeLog(t.api, 'badkeys')).map((c) => c.id),
      ['y'],
    );
  });

  test('injected 429, 401 and 503 answers are not stored: the repeat is processed, once', async () => {
    for (const [status, n] of [
      [429, 1],
      [401, 2],
      [503, 3],
    ] as const) {
      await addFault(t.api, { pathPrefix: '/api/refused', status, times: 1 });
      const init = jsonInit('PUT', { n }, { 'idempotency-key': `"refused-${status}"` });
      assert.equal((await call(`${t.api}/refused/r${n}`, init)).status, status);
      const repeat = await call(`${t.api}/refused/r${n}`, init);
      assert.equal(repeat.status, 201, `after ${status}`);
      assert.equal(repeat.headers.get('idempotent-replayed'), null);
    }
    assert.deepEqual(
      (await changeLog(t.api, 'refused')).map((c) => c.id),
      ['r1', 'r2', 'r3'],
    );
  });

  test('an injected 5xx is not stored, so the retry with the same key succeeds once', async () => {
    await addFault(t.api, { pathPrefix: '/api/flaky', status: 503, retryAfter: 2, times: 1 });
    const init = jsonInit('POST', { id: 'f1' }, { 'idempotency-key': '"flaky-1"' });
    const failed = await call(`${t.api}/flaky`, init);
    assert.equal(failed.status, 503);
    assert.equal(failed.headers.get('retry-after'), '2');
    assert.equal(failed.body.error, 'injected');
    const retried = await call(`${t.api}/flaky`, init);
    assert.equal(retried.status, 201);
    assert.equal(retried.headers.get('idempotent-replayed'), null);
    const again = await call(`${t.api}/flaky`, init);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal((await changeLog(t.api, 'flaky')).length, 1);
  });
});

describe('two servers on one database file', () => {
  test('opening the file does not free a key the other server is still processing: one write, one answer', async () => {
    const a = await startServer();
    let b: TestServer | undefined;
    try {
      await addFault(a.api, { pathPrefix: '/api/multi', methods: ['POST'], latencyMs: 1500, times: 1 });
      const init = jsonInit('POST', { title: 'once' }, { 'idempotency-key': '"k-multi"' });
      const first = call(`${a.api}/multi`, init);
      await sleep(300);
      b = await startServer({}, a.dbFile);
      const duplicate = await call(`${b.api}/multi`, init);
      assert.equal(duplicate.status, 409, 'still in progress on server A');
      assert.equal(duplicate.body.error, 'in-progress');
      const answer = await first;
      assert.equal(answer.status, 201);
      const replay = await call(`${b.api}/multi`, init);
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(replay.body, answer.body);
      assert.deepEqual(
        (await changeLog(a.api, 'multi')).map((c) => [c.id, c.idempotencyKey]),
        [[answer.body.id, 'k-multi']],
      );
    } finally {
      await b?.stop();
      await a.close();
    }
  });
});

describe('idempotency key expiry', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ idempotencyTtlMs: 100 });
  });
  after(async () => {
    await t.close();
  });

  test('an expired key is treated as new', async () => {
    const init = jsonInit('PUT', { n: 1 }, { 'idempotency-key': '"short-lived"' });
    assert.equal((await call(`${t.api}/ttl/a`, init)).body.version, 1);
    assert.equal((await call(`${t.api}/ttl/a`, init)).headers.get('idempotent-replayed'), 'true');
    await sleep(150);
    const fresh = await call(`${t.api}/ttl/a`, init);
    assert.equal(fresh.headers.get('idempotent-replayed'), null);
    assert.equal(fresh.body.version, 2);
  });

  test('a key outliving its TTL while its request still runs is not claimed again, nor swept', async () => {
    const slow = await startServer({ idempotencyTtlMs: 1000 });
    try {
      await addFault(slow.api, { pathPrefix: '/api/ttl-slow', methods: ['POST'], latencyMs: 2000, times: 1 });
      const init = jsonInit('POST', { title: 'once' }, { 'idempotency-key': '"k-ttl"' });
      const first = call(`${slow.api}/ttl-slow`, init);
      await sleep(1200);
      slow.server.sweep();
      const duplicate = await call(`${slow.api}/ttl-slow`, init);
      assert.equal(duplicate.status, 409);
      assert.equal(duplicate.body.error, 'in-progress');
      const answer = await first;
      assert.equal(answer.status, 201);
      // The TTL counts from the stored answer: the retry right after it is a replay, not a second create.
      const replay = await call(`${slow.api}/ttl-slow`, init);
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(replay.body, answer.body);
      assert.equal((await changeLog(slow.api, 'ttl-slow')).length, 1);
    } finally {
      await slow.close();
    }
  });

  test('the background sweep purges expired keys', async () => {
    const init = jsonInit('PUT', { n: 1 }, { 'idempotency-key': '"swept"' });
    await call(`${t.api}/ttl/b`, init);
    const stored = () => {
      const db = new Database(t.dbFile, { readonly: true });
      try {
        return (db.prepare('SELECT count(*) AS n FROM idempotency_keys WHERE key = ?').get('swept') as { n: number }).n;
      } finally {
        db.close();
      }
    };
    assert.equal(stored(), 1);
    // The sweep runs every max(ttl, 1 s); no request touches the key meanwhile.
    await sleep(1300);
    assert.equal(stored(), 0);
    const other = await call(`${t.api}/ttl/b`, jsonInit('PUT', { n: 2 }, { 'idempotency-key': '"swept"' }));
    assert.equal(other.status, 200);
    assert.equal(other.body.version, 2);
  });
});

describe('a custom principal', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({
      principal: (request) => {
        const user = request.headers.get('x-user');
        if (user === null) throw new ApiError(401, 'sign-in', 'Say who you are.');
        return `user:${user}`;
      },
    });
  });
  after(async () => {
    await t.close();
  });

  test('scopes keys by what it returns, and its ApiError answers the request', async () => {
    const as = (user: string) => jsonInit('POST', { id: `by-${user}` }, { 'idempotency-key': '"k"', 'x-user': user });
    assert.equal((await call(`${t.api}/custom`, as('ann'))).status, 201);
    assert.equal((await call(`${t.api}/custom`, as('ben'))).status, 201, 'ben\'s "k" is not ann\'s');
    assert.equal((await call(`${t.api}/custom`, as('ann'))).headers.get('idempotent-replayed'), 'true');
    const refused = await call(`${t.api}/custom`, jsonInit('POST', { id: 'nobody' }, { 'idempotency-key': '"k"' }));
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error, 'sign-in');
    assert.deepEqual(
      (await changeLog(t.api, 'custom')).map((c) => c.id),
      ['by-ann', 'by-ben'],
    );
  });
});
