// Fault injection: offline and dropped connections, injected statuses, latency, expiring rules and the admin API.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { addFault, call, changeLog, jsonInit, startServer, type TestServer } from './helpers.ts';

describe('fault injection', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await call(`${t.api}/_admin/faults`, { method: 'DELETE' });
    await call(`${t.api}/_admin/stats`, { method: 'DELETE' });
  });

  test('offline destroys the connection before anything happens, health probe included', async () => {
    await addFault(t.api, { offline: true });
    await assert.rejects(fetch(`${t.api}/health`), TypeError);
    await assert.rejects(fetch(`${t.api}/off`, jsonInit('POST', { id: 'o' })), TypeError);
    await call(`${t.api}/_admin/faults`, { method: 'DELETE' });
    assert.equal((await call(`${t.api}/health`)).status, 200);
    assert.deepEqual(await changeLog(t.api, 'off'), []);
  });

  test('rules match the path as routed: a percent-encoded spelling does not slip past one', async () => {
    await addFault(t.api, { pathPrefix: '/api/encoded', methods: ['PUT'], status: 503 });
    const single = await call(`${t.api}/enc%6Fded/1`, jsonInit('PUT', { n: 1 }));
    assert.equal(single.status, 503);
    assert.equal(single.body.error, 'injected');
    const batch = await call(
      `${t.api}/_batch`,
      jsonInit('POST', {
        ops: [
          {
            key: 'enc-2',
            method: 'PUT',
            path: '/api/%65ncoded/2',
            headers: { 'content-type': 'application/json' },
            body: '{}',
          },
        ],
      }),
    );
    assert.deepEqual(
      batch.body.results.map((r: any) => r.status),
      [503],
    );
    assert.deepEqual(await changeLog(t.api, 'encoded'), []);
    assert.equal((await call(`${t.api}/_admin/stats?pathPrefix=/api/encoded`)).body.requests, 2);
  });

  test('drop applies the effect but loses the response; the keyed retry replays it', async () => {
    await addFault(t.api, { pathPrefix: '/api/dropped', drop: true, times: 1 });
    const init = jsonInit('PUT', { n: 1 }, { 'idempotency-key': '"drop-1"' });
    await assert.rejects(fetch(`${t.api}/dropped/d`, init), TypeError);
    assert.equal((await call(`${t.api}/dropped/d`)).body.version, 1, 'the effect happened');

    const retry = await call(`${t.api}/dropped/d`, init);
    assert.equal(retry.status, 201);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.equal(retry.body.version, 1);
    assert.equal((await changeLog(t.api, 'dropped')).length, 1);
  });

  test('status rules answer without processing; times makes a rule expire', async () => {
    const rule = await addFault(t.api, {
      pathPrefix: '/api/limited',
      methods: ['post'],
      status: 429,
      retryAfter: 3,
      body: { error: 'slow-down' },
      times: 2,
    });
    assert.match(rule.id, /\S/);
    const init = jsonInit('POST', { id: 'l' });
    for (let i = 0; i < 2; i++) {
      const limited = await call(`${t.api}/limited`, init);
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '3');
      assert.deepEqual(limited.body, { error: 'slow-down' });
    }
    assert.deepEqual((await call(`${t.api}/_admin/faults`)).body.rules, []);
    assert.equal((await call(`${t.api}/limited`, init)).status, 201);
    assert.equal((await call(`${t.api}/limited`)).status, 200, 'GET never matched the POST-only rule');
    assert.equal((await changeLog(t.api, 'limited')).length, 1);
  });

  test('failureRate 0 never fails; latency from every matching rule adds up', async () => {
    await call(
      `${t.api}/_admin/faults`,
      jsonInit('PUT', {
        rules: [
          { pathPrefix: '/api/health', latencyMs: 100 },
          { pathPrefix: '/api/health/slow', latencyMs: 100, status: 500, failureRate: 0 },
        ],
      }),
    );
    const started = Date.now();
    assert.equal((await call(`${t.api}/health/slow`)).status, 200);
    assert.ok(Date.now() - started >= 190, `took ${Date.now() - started} ms`);
  });

  test('the first matching failing rule decides', async () => {
    await call(
      `${t.api}/_admin/faults`,
      jsonInit('PUT', { rules: [{ pathPrefix: '/api/health/x', status: 502 }, { status: 503 }] }),
    );
    assert.equal((await call(`${t.api}/health/x`)).status, 502);
    assert.equal((await call(`${t.api}/health/y`)).status, 503);
    assert.equal((await call(`${t.api}/_admin/faults`)).status, 200, 'admin routes are never faulted');
  });

  test('the admin API lists, replaces and clears rules by prefix, and counts requests', async () => {
    await addFault(t.api, { id: 'mine', pathPrefix: '/api/a', status: 500 });
    await addFault(t.api, { pathPrefix: '/api/b', status: 500 });
    const listed = (await call(`${t.api}/_admin/faults`)).body.rules;
    assert.deepEqual(listed.map((r: any) => r.id).slice(0, 1), ['mine']);
    assert.equal(listed.length, 2);
    const cleared = await call(`${t.api}/_admin/faults?pathPrefix=/api/a`, { method: 'DELETE' });
    assert.equal(cleared.body.removed, 1);
    assert.deepEqual(
      cleared.body.rules.map((r: any) => r.pathPrefix),
      ['/api/b'],
    );

    await call(`${t.api}/_admin/stats`, { method: 'DELETE' });
    await call(`${t.api}/counted/1`);
    await call(`${t.api}/counted/2`);
    await call(`${t.api}/other`);
    assert.deepEqual((await call(`${t.api}/_admin/stats?pathPrefix=/api/counted`)).body, { requests: 2 });
    assert.deepEqual((await call(`${t.api}/_admin/stats`)).body, { requests: 3 });
  });

  test('_admin/direct makes a collection request past the faults, as principal admin', async () => {
    await addFault(t.api, { pathPrefix: '/api/direct-items', offline: true });
    await assert.rejects(fetch(`${t.api}/direct-items/1`), TypeError);
    const created = await call(`${t.api}/_admin/direct/direct-items/1`, jsonInit('PUT', { title: 'a' }));
    assert.equal(created.status, 201);
    const read = await call(`${t.api}/_admin/direct/direct-items/1`);
    assert.deepEqual([read.body.version, read.body.data], [1, { title: 'a' }]);
    const stale = await call(
      `${t.api}/_admin/direct/direct-items/1`,
      jsonInit('PUT', { title: 'b' }, { 'if-match': '"0"' }),
    );
    assert.equal(stale.status, 412, 'If-Match is checked as on the collection route');
    const edited = await call(
      `${t.api}/_admin/direct/direct-items/1`,
      jsonInit('PUT', { title: 'b' }, { 'if-match': read.headers.get('etag')! }),
    );
    assert.equal(edited.status, 200);
    assert.deepEqual(
      (await changeLog(t.api, 'direct-items')).map((e) => [e.version, e.principal]),
      [
        [1, 'admin'],
        [2, 'admin'],
      ],
    );
    assert.equal(
      (await call(`${t.api}/_admin/direct/_admin/faults`)).body.error,
      'bad-collection',
      'only collections are reachable through it',
    );
  });

  test('bad admin bodies are 400', async () => {
    const bad: unknown[] = [
      '{nope',
      [],
      { status: 99 },
      { failureRate: 2 },
      { latencyMs: -1 },
      { times: 0 },
      { methods: 'GET' },
      { pathPrefix: 'api' },
      { offline: 'yes' },
      { statuss: 500 },
    ];
    for (const body of bad) {
      const response = await call(`${t.api}/_admin/faults`, jsonInit('POST', body));
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.match(response.body.error, /^bad-/);
    }
    assert.equal((await call(`${t.api}/_admin/faults`, jsonInit('PUT', { rules: {} }))).status, 400);
    assert.equal(
      (await call(`${t.api}/_admin/faults`, jsonInit('PUT', { rules: [{ id: 'x' }, { id: 'x' }] }))).status,
      400,
    );
    assert.deepEqual((await call(`${t.api}/_admin/faults`)).body.rules, []);
  });
});

describe('without admin', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ admin: false });
  });
  after(async () => {
    await t.close();
  });

  test('admin routes are 404', async () => {
    for (const [path, method] of [
      ['/_admin/faults', 'GET'],
      ['/_admin/faults', 'POST'],
      ['/_admin/stats', 'GET'],
      ['/_admin', 'GET'],
      ['/_admin/changes', 'GET'],
      ['/_admin/direct/x/1', 'GET'],
    ]) {
      const response = await call(
        `${t.api}${path}`,
        method === 'POST' ? jsonInit('POST', { offline: true }) : undefined,
      );
      assert.equal(response.status, 404, `${method} ${path}`);
      assert.equal(response.body.error, 'not-found');
    }
    assert.equal((await call(`${t.api}/health`)).status, 200);
  });
});
