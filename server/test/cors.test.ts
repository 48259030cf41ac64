// Cross-origin access: preflights from listed origins, the headers a client must read exposed on every answer (errors
// too), nothing for other origins, and a clear refusal of origins written as browsers never send them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createSyncServer } from '../app.ts';
import { call, jsonInit, startServer } from './helpers.ts';

const APP = 'http://app.example:5173';

describe('CORS', () => {
  test('answers a preflight from a listed origin with what the request asks for, and exposes ETag and Retry-After', async () => {
    const t = await startServer({ cors: { origins: ['https://other.example', APP] } });
    try {
      const preflight = await fetch(`${t.api}/notes/n1`, {
        method: 'OPTIONS',
        headers: {
          Origin: APP,
          'Access-Control-Request-Method': 'PUT',
          'Access-Control-Request-Headers': 'idempotency-key, if-match, content-type, x-tenant',
        },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get('access-control-allow-origin'), APP);
      assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /\bPUT\b/);
      assert.equal(
        preflight.headers.get('access-control-allow-headers'),
        'idempotency-key,if-match,content-type,x-tenant',
      );
      assert.equal(preflight.headers.get('access-control-max-age'), '600');
      assert.equal(preflight.headers.get('access-control-allow-credentials'), null);

      const created = await call(`${t.api}/notes/n1`, jsonInit('PUT', { text: 'a' }, { Origin: APP }));
      assert.equal(created.status, 201);
      assert.equal(created.headers.get('access-control-allow-origin'), APP);
      assert.deepEqual(exposed(created.headers), ['etag', 'location', 'retry-after']);
      assert.match(created.headers.get('vary') ?? '', /\bOrigin\b/i);

      // Refusals must reach the page as answers, not as network errors: a 412 read as "offline" would be retried
      // for ever, and its "current" entity never seen.
      const stale = await call(`${t.api}/notes/n1`, jsonInit('PUT', { text: 'b' }, { Origin: APP, 'If-Match': '"9"' }));
      assert.equal(stale.status, 412);
      assert.equal(stale.headers.get('access-control-allow-origin'), APP);
      assert.deepEqual(exposed(stale.headers), ['etag', 'location', 'retry-after']);
      const missing = await call(`${t.api}/notes/none`, { headers: { Origin: APP } });
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.get('access-control-allow-origin'), APP);
      const malformed = await call(`${t.api}/notes/n2`, jsonInit('PUT', '{"text":', { Origin: APP }));
      assert.equal(malformed.status, 400);
      assert.equal(malformed.headers.get('access-control-allow-origin'), APP);
    } finally {
      await t.close();
    }
  });

  test('gives an origin not listed nothing to go on', async () => {
    const t = await startServer({ cors: { origins: [APP] } });
    try {
      const preflight = await fetch(`${t.api}/notes/n1`, {
        method: 'OPTIONS',
        headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'PUT' },
      });
      assert.equal(preflight.headers.get('access-control-allow-origin'), null);
      const read = await call(`${t.api}/health`, { headers: { Origin: 'https://evil.example' } });
      assert.equal(read.status, 200);
      assert.equal(read.headers.get('access-control-allow-origin'), null);
    } finally {
      await t.close();
    }
  });

  test('sends no CORS headers by default', async () => {
    const t = await startServer();
    try {
      const read = await call(`${t.api}/health`, { headers: { Origin: APP } });
      assert.equal(read.headers.get('access-control-allow-origin'), null);
      assert.equal(read.headers.get('access-control-expose-headers'), null);
    } finally {
      await t.close();
    }
  });

  test('allows credentials when asked to', async () => {
    const t = await startServer({ cors: { origins: [APP], credentials: true, maxAgeSeconds: 60 } });
    try {
      const preflight = await fetch(`${t.api}/notes/n1`, {
        method: 'OPTIONS',
        headers: { Origin: APP, 'Access-Control-Request-Method': 'DELETE' },
      });
      assert.equal(preflight.headers.get('access-control-allow-credentials'), 'true');
      assert.equal(preflight.headers.get('access-control-max-age'), '60');
    } finally {
      await t.close();
    }
  });

  test('refuses origins written as browsers never send them, before opening anything', () => {
    for (const origins of [
      [],
      ['https://app.example/'],
      ['https://app.example/path'],
      ['https://app.example:443'],
      ['*'],
      ['app.example'],
      [42],
    ]) {
      assert.throws(
        () => createSyncServer({ dbFile: '/nonexistent/never-created.sqlite', cors: { origins: origins as string[] } }),
        (e: Error) => e instanceof TypeError && /^cors\.origins/.test(e.message),
        JSON.stringify(origins),
      );
    }
  });
});

/** The headers an answer lets a page read, sorted. */
function exposed(headers: Headers): string[] {
  return (headers.get('access-control-expose-headers') ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean)
    .sort();
}
