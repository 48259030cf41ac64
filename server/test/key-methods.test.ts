// Keys are for writes: an OPTIONS request carrying one is answered as without it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, jsonInit, startServer, type TestServer } from './helpers.ts';

describe('Idempotency-Key and methods', () => {
  let t: TestServer;
  before(async () => {
    // No CORS: an OPTIONS request reaches the API handler (as it does on a same-origin deployment).
    t = await startServer();
  });
  after(async () => {
    await t.close();
  });

  // SyncApi.#dispatch exempts only GET and HEAD from the up-front key check; OPTIONS is just as safe (contract
  // section 1: the key is for writes), and answered 405 without a key. With a key that a write used, it is now a 422
  // "idempotency-key-reuse", as if OPTIONS were a conflicting write.
  test('answers OPTIONS carrying an Idempotency-Key a PUT used with 405 (as without the key), not 422 idempotency-key-reuse', async () => {
    const key = { 'idempotency-key': '"rd2-options-reuse"' };
    const put = await call(`${t.api}/rd2opt/a`, jsonInit('PUT', { n: 1 }, key));
    assert.equal(put.status, 201);
    const bare = await call(`${t.api}/rd2opt/a`, { method: 'OPTIONS' });
    assert.equal(bare.status, 405, `without a key: ${bare.status}`);
    const keyed = await call(`${t.api}/rd2opt/a`, { method: 'OPTIONS', headers: key });
    assert.equal(keyed.status, 405, `got ${keyed.status} ${JSON.stringify(keyed.body)}`);
  });

  test('answers OPTIONS carrying a malformed Idempotency-Key with 405 (as GET and HEAD ignore it), not 400 bad-idempotency-key', async () => {
    const keyed = await call(`${t.api}/rd2opt/b`, { method: 'OPTIONS', headers: { 'idempotency-key': 'not a "key"' } });
    const get = await call(`${t.api}/rd2opt/b`, { method: 'GET', headers: { 'idempotency-key': 'not a "key"' } });
    assert.equal(get.status, 404, 'GET ignores the malformed key');
    assert.equal(keyed.status, 405, `got ${keyed.status} ${JSON.stringify(keyed.body)}`);
  });
});
