// Batch push: ops applied in order through the single-request path, stopping at the first failure, exactly once.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { addFault, call, changeLog, jsonInit, startServer, type TestServer } from './helpers.ts';

interface Op {
  key: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

const JSON_TYPE = { 'content-type': 'application/json' };

function sendBatch(api: string, ops: unknown, headers: Record<string, string> = {}) {
  return call(`${api}/_batch`, jsonInit('POST', { ops }, headers));
}

function put(key: string, path: string, data: unknown, headers: Record<string, string> = {}): Op {
  return { key, method: 'PUT', path, headers: { ...JSON_TYPE, ...headers }, body: JSON.stringify(data) };
}

describe('batch push', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ batch: { maxOps: 5, maxBytes: 4096 } });
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await call(`${t.api}/_admin/faults`, { method: 'DELETE' });
  });

  test('applies ops in order, one result each; a re-sent batch replays every op', async () => {
    const ops: Op[] = [
      { key: 'b1', method: 'POST', path: '/api/happy', headers: JSON_TYPE, body: JSON.stringify({ id: 'x', n: 1 }) },
      put('b2', '/api/happy/x', { n: 2 }, { 'if-match': '"1"' }),
      { key: 'b3', method: 'DELETE', path: '/api/happy/x', headers: { 'if-match': '"2"' } },
    ];
    const first = await sendBatch(t.api, ops, { authorization: 'Bearer alice' });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('cache-control'), 'no-store');
    assert.deepEqual(first.body.results, [
      {
        status: 201,
        headers: { etag: '"1"', location: '/api/happy/x', 'content-type': 'application/json' },
        body: { id: 'x', version: 1, data: { id: 'x', n: 1 }, deleted: false },
      },
      {
        status: 200,
        headers: { etag: '"2"', 'content-type': 'application/json' },
        body: { id: 'x', version: 2, data: { n: 2 }, deleted: false },
      },
      {
        status: 200,
        headers: { etag: '"3"', 'content-type': 'application/json' },
        body: { id: 'x', version: 3, data: null, deleted: true },
      },
    ]);

    const again = await sendBatch(t.api, ops, { authorization: 'Bearer alice' });
    assert.deepEqual(
      again.body.results.map((r: any) => [r.status, r.headers['idempotent-replayed']]),
      [
        [201, 'true'],
        [200, 'true'],
        [200, 'true'],
      ],
    );
    assert.deepEqual(
      again.body.results.map((r: any) => r.body),
      first.body.results.map((r: any) => r.body),
    );

    assert.deepEqual(
      (await changeLog(t.api, 'happy')).map((c) => [c.version, c.idempotencyKey, c.principal]),
      [
        [1, 'b1', 'bearer:alice'],
        [2, 'b2', 'bearer:alice'],
        [3, 'b3', 'bearer:alice'],
      ],
    );
  });

  test("shares keys with single requests, scoped to the batch request's principal", async () => {
    const single = await call(
      `${t.api}/shared/s`,
      jsonInit('PUT', { n: 1 }, { 'idempotency-key': '"sent-alone"', authorization: 'Bearer alice' }),
    );
    assert.equal(single.status, 201);
    const op = put('sent-alone', '/api/shared/s', { n: 1 });
    const asAlice = await sendBatch(t.api, [op], { authorization: 'Bearer alice' });
    assert.equal(asAlice.body.results[0].status, 201);
    assert.equal(asAlice.body.results[0].headers['idempotent-replayed'], 'true');
    const asBob = await sendBatch(t.api, [op], { authorization: 'Bearer bob' });
    assert.equal(asBob.body.results[0].status, 200, "bob's key of the same name is his own");
    assert.equal(asBob.body.results[0].headers['idempotent-replayed'], undefined);

    const reuse = await sendBatch(t.api, [put('sent-alone', '/api/shared/s', { n: 99 })], {
      authorization: 'Bearer alice',
    });
    assert.equal(reuse.body.results[0].status, 422);
    assert.equal(reuse.body.results[0].body.error, 'idempotency-key-reuse');
    assert.deepEqual(
      (await changeLog(t.api, 'shared')).map((c) => c.principal),
      ['bearer:alice', 'bearer:bob'],
    );
  });

  test('a 412 on op 3 of 5: ops 1-2 applied, op 3 reported with the current copy, ops 4-5 not applied', async () => {
    await call(`${t.api}/partial`, jsonInit('POST', { id: 'p', n: 0 }));
    await call(`${t.api}/partial/p`, jsonInit('PUT', { n: 1 }));
    const ops: Op[] = [
      put('p1', '/api/partial/a', { n: 1 }),
      put('p2', '/api/partial/b', { n: 1 }),
      put('p3', '/api/partial/p', { n: 'mine' }, { 'if-match': '"1"' }),
      put('p4', '/api/partial/c', { n: 1 }),
      put('p5', '/api/partial/d', { n: 1 }),
    ];
    const response = await sendBatch(t.api, ops);
    assert.equal(response.status, 200);
    const { results } = response.body;
    assert.equal(results.length, 3);
    assert.deepEqual(
      results.map((r: any) => r.status),
      [201, 201, 412],
    );
    assert.equal(results[2].body.error, 'precondition-failed');
    assert.deepEqual(results[2].body.current, { id: 'p', version: 2, data: { n: 1 }, deleted: false });
    assert.equal(results[2].headers.etag, '"2"');
    assert.deepEqual(
      (await changeLog(t.api, 'partial')).map((c) => c.id),
      ['p', 'p', 'a', 'b'],
    );

    // The 412 is a definite answer, stored like any other: the same batch again stops at it again.
    const again = await sendBatch(t.api, ops);
    assert.deepEqual(
      again.body.results.map((r: any) => [r.status, r.headers['idempotent-replayed']]),
      [
        [201, 'true'],
        [201, 'true'],
        [412, 'true'],
      ],
    );
    assert.equal((await changeLog(t.api, 'partial')).length, 4);
  });

  test('ops are validated as single requests are: their 4xx is their result and stops the batch', async () => {
    const cases: Array<[Op, number, string]> = [
      [
        { key: 'v-type', method: 'PUT', path: '/api/checked/x', headers: { 'content-type': 'text/html' }, body: '{}' },
        415,
        'unsupported-media-type',
      ],
      [
        { key: 'v-json', method: 'PUT', path: '/api/checked/x', headers: JSON_TYPE, body: '{"broken":' },
        400,
        'bad-json',
      ],
      [{ key: 'v-none', method: 'POST', path: '/api/checked' }, 400, 'bad-json'],
      [put('v-match', '/api/checked/x', {}, { 'if-match': 'garbage' }), 400, 'bad-if-match'],
      [put('v-id', '/api/checked/has%20space', {}), 400, 'bad-id'],
      [put('v-deep', '/api/checked/x/y', {}), 404, 'not-found'],
      [
        { key: 'v-patch', method: 'PATCH', path: '/api/checked/x', headers: JSON_TYPE, body: '{}' },
        405,
        'method-not-allowed',
      ],
      [{ key: 'v-gone', method: 'DELETE', path: '/api/checked/never' }, 404, 'not-found'],
    ];
    for (const [op, status, error] of cases) {
      const response = await sendBatch(t.api, [
        put(`${op.key}-before`, `/api/checked/${op.key}`, {}),
        op,
        put(`${op.key}-after`, '/api/checked/z', {}),
      ]);
      assert.equal(response.status, 200, op.key);
      assert.deepEqual(
        response.body.results.map((r: any) => r.status),
        [201, status],
        op.key,
      );
      assert.equal(response.body.results[1].body.error, error, op.key);
    }
    assert.deepEqual(
      (await changeLog(t.api, 'checked')).map((c) => c.id),
      cases.map(([op]) => op.key),
    );
  });

  test('a batch re-sent after a lost reply applies each op exactly once and replays the rest', async () => {
    await addFault(t.api, { pathPrefix: '/api/lost/2', drop: true, times: 1 });
    const ops = [1, 2, 3].map((n) => put(`lost-${n}`, `/api/lost/${n}`, { n }));
    await assert.rejects(fetch(`${t.api}/_batch`, jsonInit('POST', { ops })), TypeError);
    assert.deepEqual(
      (await changeLog(t.api, 'lost')).map((c) => c.id),
      ['1', '2'],
      'op 2 applied, its reply lost with the batch',
    );

    const resent = await sendBatch(t.api, ops);
    assert.deepEqual(
      resent.body.results.map((r: any) => [r.status, r.headers['idempotent-replayed'] ?? null]),
      [
        [201, 'true'],
        [201, 'true'],
        [201, null],
      ],
    );
    const log = await changeLog(t.api, 'lost');
    assert.deepEqual(
      log.map((c) => c.idempotencyKey),
      ['lost-1', 'lost-2', 'lost-3'],
      'each key once, in order',
    );
  });

  test("a status rule on an op's path becomes that op's result, is not stored, and stops the batch", async () => {
    await addFault(t.api, { pathPrefix: '/api/inner-flaky', status: 503, retryAfter: 2, times: 1 });
    await call(`${t.api}/_admin/stats`, { method: 'DELETE' });
    const ops = [
      put('if-1', '/api/inner-ok/1', {}),
      put('if-2', '/api/inner-flaky/2', {}),
      put('if-3', '/api/inner-ok/3', {}),
    ];
    const first = await sendBatch(t.api, ops);
    assert.equal(first.status, 200);
    assert.deepEqual(
      first.body.results.map((r: any) => r.status),
      [201, 503],
    );
    assert.equal(first.body.results[1].headers['retry-after'], '2');
    assert.equal(first.body.results[1].body.error, 'injected');
    assert.deepEqual(await changeLog(t.api, 'inner-flaky'), []);

    const retried = await sendBatch(t.api, ops);
    assert.deepEqual(
      retried.body.results.map((r: any) => [r.status, r.headers['idempotent-replayed'] ?? null]),
      [
        [201, 'true'],
        [201, null],
        [201, null],
      ],
    );
    // Inner ops count under their own paths, beside the batch requests.
    assert.equal((await call(`${t.api}/_admin/stats?pathPrefix=/api/inner-flaky`)).body.requests, 2);
    assert.equal((await call(`${t.api}/_admin/stats?pathPrefix=/api/_batch`)).body.requests, 2);
  });

  test('a rate-1 failure on a collection path hits the batched op as it would a single request', async () => {
    await addFault(t.api, { pathPrefix: '/api/chaos', methods: ['PUT'], status: 503, failureRate: 1 });
    const response = await sendBatch(t.api, [put('chaos-1', '/api/chaos/1', {}), put('chaos-2', '/api/chaos/2', {})]);
    assert.deepEqual(
      response.body.results.map((r: any) => r.status),
      [503],
    );
    assert.deepEqual(await changeLog(t.api, 'chaos'), []);
  });

  test("offline on an op's path cuts the batch before that op; earlier ops stay applied", async () => {
    await addFault(t.api, { pathPrefix: '/api/cut/2', offline: true, times: 1 });
    const ops = [1, 2, 3].map((n) => put(`cut-${n}`, `/api/cut/${n}`, { n }));
    await assert.rejects(fetch(`${t.api}/_batch`, jsonInit('POST', { ops })), TypeError);
    assert.deepEqual(
      (await changeLog(t.api, 'cut')).map((c) => c.id),
      ['1'],
    );
    const resent = await sendBatch(t.api, ops);
    assert.deepEqual(
      resent.body.results.map((r: any) => r.headers['idempotent-replayed'] ?? null),
      ['true', null, null],
    );
    assert.deepEqual(
      (await changeLog(t.api, 'cut')).map((c) => c.id),
      ['1', '2', '3'],
    );
  });

  test('a rule on the batch path applies to the whole batch request', async () => {
    await addFault(t.api, { pathPrefix: '/api/_batch', status: 503, retryAfter: 1, times: 1 });
    const refused = await sendBatch(t.api, [put('whole-1', '/api/whole/1', {})]);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.deepEqual(await changeLog(t.api, 'whole'), []);
    assert.equal((await sendBatch(t.api, [put('whole-1', '/api/whole/1', {})])).body.results[0].status, 201);
  });

  test('a rule on a prefix that merely covers the batch path applies to the ops, not to the batch request', async () => {
    await addFault(t.api, { pathPrefix: '/api', status: 503, times: 1 });
    const ops = [put('cover-1', '/api/cover/1', {}), put('cover-2', '/api/cover/2', {})];
    const first = await sendBatch(t.api, ops);
    assert.equal(first.status, 200, 'the batch request itself passes');
    assert.deepEqual(
      first.body.results.map((r: any) => r.status),
      [503],
      'the first op meets the rule and uses it up',
    );
    const resent = await sendBatch(t.api, ops);
    assert.deepEqual(
      resent.body.results.map((r: any) => r.status),
      [201, 201],
    );
    assert.deepEqual(
      (await changeLog(t.api, 'cover')).map((c) => c.id),
      ['1', '2'],
    );
  });

  test('a malformed batch is refused whole: 4xx, nothing applied, no key claimed', async () => {
    const good = put('mal-good', '/api/mal/good', { n: 1 });
    const withGood = (op: unknown) => ({ ops: [good, op] });
    const cases: Array<[string, unknown, number, string, Record<string, string>?]> = [
      ['not JSON', '{"ops": [', 400, 'bad-json'],
      ['an array', [good], 400, 'bad-batch'],
      ['no ops', { op: [good] }, 400, 'bad-batch'],
      ['ops not an array', { ops: { 0: good } }, 400, 'bad-batch'],
      ['an unknown field', { ops: [good], atomic: true }, 400, 'bad-batch'],
      [
        'too many ops',
        { ops: [good, ...[1, 2, 3, 4, 5].map((n) => put(`mal-${n}`, `/api/mal/${n}`, {}))] },
        413,
        'too-many-ops',
      ],
      ['too many bytes', { ops: [good, put('mal-big', '/api/mal/big', { blob: 'x'.repeat(5000) })] }, 413, 'too-large'],
      ['not JSON by type', { ops: [good] }, 415, 'unsupported-media-type', { 'content-type': 'text/plain' }],
      ['a key of its own', { ops: [good] }, 400, 'bad-batch', { 'idempotency-key': '"whole-batch"' }],
      ['an op not an object', withGood('PUT /api/mal/x'), 400, 'bad-batch'],
      ['an op field unknown', withGood({ ...put('mal-x', '/api/mal/x', {}), lane: 'a' }), 400, 'bad-batch'],
      ['no key', withGood({ method: 'PUT', path: '/api/mal/x' }), 400, 'bad-batch'],
      ['an empty key', withGood(put('', '/api/mal/x', {})), 400, 'bad-batch'],
      ['a key too long', withGood(put('k'.repeat(256), '/api/mal/x', {})), 400, 'bad-batch'],
      ['a non-ASCII key', withGood(put('clé', '/api/mal/x', {})), 400, 'bad-batch'],
      ['a repeated key', withGood(put('mal-good', '/api/mal/x', {})), 400, 'bad-batch'],
      ['a GET', withGood({ key: 'mal-get', method: 'GET', path: '/api/mal/x' }), 400, 'bad-batch'],
      ['a lower-case method', withGood({ key: 'mal-lc', method: 'put', path: '/api/mal/x' }), 400, 'bad-batch'],
      ['a relative path', withGood(put('mal-rel', 'mal/x', {})), 400, 'bad-batch'],
      ['a path outside the base', withGood(put('mal-out', '/other/mal/x', {})), 400, 'bad-batch'],
      ['another host', withGood(put('mal-host', '//evil.example/api/mal/x', {})), 400, 'bad-batch'],
      ['dot segments', withGood(put('mal-dots', '/api/mal/../_admin/faults', {})), 400, 'bad-batch'],
      ['a fragment', withGood(put('mal-frag', '/api/mal/x#y', {})), 400, 'bad-batch'],
      [
        'the batch route',
        withGood({ key: 'mal-b', method: 'POST', path: '/api/_batch', body: '{"ops":[]}' }),
        400,
        'bad-batch',
      ],
      [
        'an escaped batch route',
        withGood({ key: 'mal-eb', method: 'POST', path: '/api/%5Fbatch', body: '{}' }),
        400,
        'bad-batch',
      ],
      [
        'the admin routes',
        withGood({ key: 'mal-a', method: 'POST', path: '/api/_admin/faults', body: '{"offline":true}' }),
        400,
        'bad-batch',
      ],
      ['the capability document', withGood(put('mal-cap', '/api/_syncline', {})), 400, 'bad-batch'],
      ['the health route', withGood(put('mal-h', '/api/health/x', {})), 400, 'bad-batch'],
      [
        'headers not an object',
        withGood({ ...put('mal-hdr', '/api/mal/x', {}), headers: ['content-type'] }),
        400,
        'bad-batch',
      ],
      [
        'a header value not a string',
        withGood(put('mal-hv', '/api/mal/x', {}, { 'if-match': 1 as unknown as string })),
        400,
        'bad-batch',
      ],
      ['a header with CR/LF', withGood(put('mal-crlf', '/api/mal/x', {}, { 'x-a': 'a\r\nb' })), 400, 'bad-batch'],
      [
        'an op Authorization',
        withGood(put('mal-auth', '/api/mal/x', {}, { Authorization: 'Bearer eve' })),
        400,
        'bad-batch',
      ],
      [
        'an op Idempotency-Key',
        withGood(put('mal-ik', '/api/mal/x', {}, { 'idempotency-key': '"other"' })),
        400,
        'bad-batch',
      ],
      [
        'a body not a string',
        withGood({ key: 'mal-obj', method: 'PUT', path: '/api/mal/x', body: { n: 1 } }),
        400,
        'bad-batch',
      ],
    ];
    for (const [name, body, status, error, headers] of cases) {
      const response = await call(`${t.api}/_batch`, jsonInit('POST', body, headers));
      assert.equal(response.status, status, name);
      assert.equal(response.body.error, error, name);
      assert.equal(typeof response.body.message, 'string', name);
    }
    assert.deepEqual(await changeLog(t.api, 'mal'), []);
    const later = await sendBatch(t.api, [good]);
    assert.equal(later.body.results[0].status, 201);
    assert.equal(later.body.results[0].headers['idempotent-replayed'], undefined, 'the key was never claimed');
  });

  test('names the offending op; an empty batch is a no-op; other methods are 405', async () => {
    const bad = await sendBatch(t.api, [put('named-1', '/api/named/1', {}), put('named-2', '/api/_admin/faults', {})]);
    assert.equal(bad.body.op, 1);
    assert.match(bad.body.message, /ops\[1\]\.path/);
    assert.deepEqual((await sendBatch(t.api, [])).body, { results: [] });
    const get = await call(`${t.api}/_batch`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal((await call(`${t.api}/_batch`, jsonInit('PUT', { ops: [] }))).status, 405);
  });
});

describe('batch push switched off', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ batch: false });
  });
  after(async () => {
    await t.close();
  });

  test('the batch route answers 404 like a server without it', async () => {
    const response = await sendBatch(t.api, [put('off-1', '/api/off/1', {})]);
    assert.equal(response.status, 404);
    assert.equal(response.body.error, 'not-found');
    assert.deepEqual(await changeLog(t.api, 'off'), []);
  });
});
