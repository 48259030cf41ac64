// Contract edges: a reused key answered before the request's own checks, validation refusals not stored, no-store on preflights, encoded admin paths.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, changeLog, jsonInit, startServer, type TestServer } from './helpers.ts';

const APP = 'https://app.example';

describe('contract edges', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ cors: { origins: [APP] } });
  });
  after(async () => {
    await t.close();
  });

  // Contract section 1, Answers: "a stored response (or one in progress), other fingerprint | 422
  // idempotency-key-reuse; nothing happens. Answered before the request's own checks: a reused key with a bad
  // body is a 422, not a 400".
  test('answers a reused Idempotency-Key on a request with a malformed id in its path with 422 idempotency-key-reuse, not 400 bad-id', async () => {
    const key = { 'idempotency-key': '"review-reuse-path"' };
    const first = await call(`${t.api}/rvreuse/a`, jsonInit('PUT', { n: 1 }, key));
    assert.equal(first.status, 201);
    // Same key, another request whose own check (the id in the path) fails: the reuse must be answered first.
    const reused = await call(`${t.api}/rvreuse/bad%20id`, jsonInit('PUT', { n: 1 }, key));
    assert.equal(reused.status, 422, `got ${reused.status} ${JSON.stringify(reused.body)}`);
    assert.equal(reused.body.error, 'idempotency-key-reuse');
  });

  // Contract section 1, Which responses are stored: "A request refused by validation before any processing (400,
  // 413, 415) may be stored or not; the reference server does not store it."
  test('does not store a POST refused for a malformed body id (400 bad-id) under its key: the corrected request goes through', async () => {
    const key = { 'idempotency-key': '"review-bad-post-id"' };
    const refused = await call(`${t.api}/rvpostid`, jsonInit('POST', { id: 42, title: 't' }, key));
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'bad-id');
    const again = await call(`${t.api}/rvpostid`, jsonInit('POST', { id: 42, title: 't' }, key));
    assert.equal(again.headers.get('idempotent-replayed'), null, 'a validation refusal is not stored, so not replayed');
    // As for a 415 or a bad-json body (not stored), the request fixed by the user goes through under the same key.
    const fixed = await call(`${t.api}/rvpostid`, jsonInit('POST', { id: '42', title: 't' }, key));
    assert.equal(fixed.status, 201, `got ${fixed.status} ${JSON.stringify(fixed.body)}`);
    assert.equal((await changeLog(t.api, 'rvpostid')).length, 1);
  });

  // Contract conventions: "every response under the API base carries `Cache-Control: no-store`".
  test('answers a CORS preflight under the API base with Cache-Control: no-store', async () => {
    const preflight = await fetch(`${t.api}/rvcors/a`, {
      method: 'OPTIONS',
      headers: {
        Origin: APP,
        'Access-Control-Request-Method': 'PUT',
        'Access-Control-Request-Headers': 'idempotency-key, if-match, content-type',
      },
    });
    await preflight.arrayBuffer();
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), APP);
    assert.equal(preflight.headers.get('cache-control'), 'no-store');
  });

  // Reference server extras: "`{base}/_admin/direct/<collection>[/<id>]`: the same collection request made by
  // another client (principal `admin`)"; admin paths are recognised as routed, i.e. percent-decoded.
  test('routes an _admin/direct request whose path is percent-encoded (%5Fadmin) to its collection', async () => {
    const direct = await call(`${t.api}/%5Fadmin/direct/rvdirect/x`, jsonInit('PUT', { n: 1 }));
    assert.equal(direct.status, 201, `got ${direct.status} ${JSON.stringify(direct.body)}`);
  });
});
