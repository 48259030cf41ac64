// Versioned collections over HTTP: CRUD with ETags, preconditions, the changes feed, validation and persistence.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, changeLog, jsonInit, startServer, type TestServer } from './helpers.ts';

describe('resources', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ changesPageSize: 3 });
  });
  after(async () => {
    await t.close();
  });

  test('create, read, replace and delete with ETags', async () => {
    const created = await call(`${t.api}/notes`, jsonInit('POST', { id: 'n1', text: 'hello' }));
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('etag'), '"1"');
    assert.equal(created.headers.get('location'), '/api/notes/n1');
    assert.deepEqual(created.body, { id: 'n1', version: 1, data: { id: 'n1', text: 'hello' }, deleted: false });

    const read = await call(`${t.api}/notes/n1`);
    assert.equal(read.status, 200);
    assert.equal(read.headers.get('etag'), '"1"');
    assert.deepEqual(read.body, created.body);

    const replaced = await call(`${t.api}/notes/n1`, jsonInit('PUT', { text: 'bye' }, { 'if-match': '"1"' }));
    assert.equal(replaced.status, 200);
    assert.equal(replaced.headers.get('etag'), '"2"');
    assert.deepEqual(replaced.body, { id: 'n1', version: 2, data: { text: 'bye' }, deleted: false });

    const weak = await call(`${t.api}/notes/n1`, jsonInit('PUT', { text: 'weak' }, { 'if-match': 'W/"2"' }));
    assert.equal(weak.status, 200);
    assert.equal(weak.body.version, 3);

    const removed = await call(`${t.api}/notes/n1`, { method: 'DELETE', headers: { 'if-match': '"3"' } });
    assert.equal(removed.status, 200);
    assert.equal(removed.headers.get('etag'), '"4"');
    assert.deepEqual(removed.body, { id: 'n1', version: 4, data: null, deleted: true });

    const tombstone = await call(`${t.api}/notes/n1`);
    assert.equal(tombstone.status, 200);
    assert.deepEqual(tombstone.body, { id: 'n1', version: 4, data: null, deleted: true });
  });

  test('POST without an id gets a UUID; POST of a live id is 409 without Retry-After', async () => {
    const created = await call(`${t.api}/notes`, jsonInit('POST', { text: 'anonymous' }));
    assert.equal(created.status, 201);
    assert.match(created.body.id, /^[0-9a-f-]{36}$/);

    await call(`${t.api}/notes`, jsonInit('POST', { id: 'dup', v: 1 }));
    const again = await call(`${t.api}/notes`, jsonInit('POST', { id: 'dup', v: 2 }));
    assert.equal(again.status, 409);
    assert.equal(again.headers.get('retry-after'), null);
    assert.equal(again.body.error, 'exists');
    assert.deepEqual(again.body.current, { id: 'dup', version: 1, data: { id: 'dup', v: 1 }, deleted: false });
  });

  test('PUT creates when absent (201) and If-Match: * needs an existing resource', async () => {
    const created = await call(`${t.api}/notes/fresh`, jsonInit('PUT', { a: 1 }));
    assert.equal(created.status, 201);
    assert.equal(created.body.version, 1);
    const any = await call(`${t.api}/notes/fresh`, jsonInit('PUT', { a: 2 }, { 'if-match': '*' }));
    assert.equal(any.status, 200);
    assert.equal(any.body.version, 2);
    const missing = await call(`${t.api}/notes/never`, jsonInit('PUT', { a: 1 }, { 'if-match': '*' }));
    assert.equal(missing.status, 412);
    assert.equal(missing.body.current, null);
    assert.equal((await call(`${t.api}/notes/never`)).status, 404);
    // A deleted entity has no current representation either: `*` does not bring it back, nor delete it again.
    await call(`${t.api}/notes/fresh`, { method: 'DELETE' });
    const revived = await call(`${t.api}/notes/fresh`, jsonInit('PUT', { a: 3 }, { 'if-match': '*' }));
    assert.equal(revived.status, 412);
    assert.equal(revived.body.current.deleted, true);
    assert.equal((await call(`${t.api}/notes/fresh`, { method: 'DELETE', headers: { 'if-match': '*' } })).status, 412);
    assert.equal((await call(`${t.api}/notes/fresh`)).body.deleted, true);
  });

  test('If-None-Match: * lets a PUT create only where there is no entity (a tombstone included), else 412 with it', async () => {
    const created = await call(`${t.api}/inm/a`, jsonInit('PUT', { v: 1 }, { 'if-none-match': '*' }));
    assert.equal(created.status, 201);
    const taken = await call(`${t.api}/inm/a`, jsonInit('PUT', { v: 2 }, { 'if-none-match': '*' }));
    assert.equal(taken.status, 412);
    assert.equal(taken.body.error, 'precondition-failed');
    assert.deepEqual(taken.body.current, { id: 'a', version: 1, data: { v: 1 }, deleted: false });
    assert.equal(taken.headers.get('etag'), '"1"');
    assert.deepEqual((await call(`${t.api}/inm/a`)).body.data, { v: 1 });
    // Over a deletion: no current representation, so the create goes through.
    await call(`${t.api}/inm/a`, { method: 'DELETE' });
    const again = await call(`${t.api}/inm/a`, jsonInit('PUT', { v: 3 }, { 'if-none-match': '*' }));
    assert.equal(again.status, 201);
    // A tag list: refused only when the current version is one of them.
    assert.equal((await call(`${t.api}/inm/a`, jsonInit('PUT', { v: 4 }, { 'if-none-match': '"1"' }))).status, 200);
    assert.equal((await call(`${t.api}/inm/a`, jsonInit('PUT', { v: 5 }, { 'if-none-match': '"4"' }))).status, 412);
    // A tag names a version, the tombstone's too (as If-Match does): refused over the tombstone it names.
    assert.equal((await call(`${t.api}/inm/a`, { method: 'DELETE' })).body.version, 5);
    const tombstone = await call(`${t.api}/inm/a`, jsonInit('PUT', { v: 5 }, { 'if-none-match': '"5"' }));
    assert.equal(tombstone.status, 412);
    assert.deepEqual(tombstone.body.current, { id: 'a', version: 5, data: null, deleted: true });
    assert.equal((await call(`${t.api}/inm/a`, jsonInit('PUT', { v: 5 }, { 'if-none-match': '"4"' }))).status, 201);
    const bad = await call(`${t.api}/inm/a`, jsonInit('PUT', { v: 6 }, { 'if-none-match': 'garbage' }));
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'bad-if-none-match');
  });

  test('a stale If-Match gets 412 with the current copy and changes nothing', async () => {
    await call(`${t.api}/stale`, jsonInit('POST', { id: 's', n: 1 }));
    await call(`${t.api}/stale/s`, jsonInit('PUT', { n: 2 }));
    const put = await call(`${t.api}/stale/s`, jsonInit('PUT', { n: 99 }, { 'if-match': '"1"' }));
    assert.equal(put.status, 412);
    assert.equal(put.body.error, 'precondition-failed');
    assert.equal(typeof put.body.message, 'string');
    assert.deepEqual(put.body.current, { id: 's', version: 2, data: { n: 2 }, deleted: false });
    assert.equal(put.headers.get('etag'), '"2"');
    const del = await call(`${t.api}/stale/s`, { method: 'DELETE', headers: { 'if-match': '"1"' } });
    assert.equal(del.status, 412);
    assert.equal(del.body.error, 'precondition-failed');
    assert.deepEqual(del.body.current, { id: 's', version: 2, data: { n: 2 }, deleted: false });
    assert.equal(del.headers.get('etag'), '"2"');
    assert.equal((await call(`${t.api}/stale/s`)).body.version, 2);
    assert.equal((await changeLog(t.api, 'stale')).length, 2);
  });

  test('a 412 against a tombstone carries the tombstone; against nothing, current: null and no ETag', async () => {
    await call(`${t.api}/stale`, jsonInit('POST', { id: 't' }));
    await call(`${t.api}/stale/t`, { method: 'DELETE' });
    const tomb = { id: 't', version: 2, data: null, deleted: true };
    for (const init of [
      jsonInit('PUT', { n: 1 }, { 'if-match': '"1"' }),
      { method: 'DELETE', headers: { 'if-match': '"1"' } },
    ]) {
      const response = await call(`${t.api}/stale/t`, init);
      assert.equal(response.status, 412, init.method);
      assert.deepEqual(response.body.current, tomb);
      assert.equal(response.headers.get('etag'), '"2"');
    }
    const missing = await call(`${t.api}/stale/none`, jsonInit('PUT', { n: 1 }, { 'if-match': '"3"' }));
    assert.equal(missing.status, 412);
    assert.equal(missing.body.current, null);
    assert.equal(missing.headers.get('etag'), null);
  });

  test('deleting an unknown id is 404; deleting a tombstone again changes nothing', async () => {
    const unknown = await call(`${t.api}/notes/ghost`, { method: 'DELETE' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error, 'not-found');
    await call(`${t.api}/gone`, jsonInit('POST', { id: 'g' }));
    await call(`${t.api}/gone/g`, { method: 'DELETE' });
    const again = await call(`${t.api}/gone/g`, { method: 'DELETE' });
    assert.equal(again.status, 200);
    assert.equal(again.body.version, 2);
    assert.equal((await changeLog(t.api, 'gone')).length, 2);
    const revived = await call(`${t.api}/gone`, jsonInit('POST', { id: 'g', back: true }));
    assert.equal(revived.status, 201);
    assert.equal(revived.body.version, 3, 'versions keep counting through a tombstone');
  });

  test('the changes feed pages in write order with cursor and hasMore', async () => {
    for (const id of ['a', 'b', 'c', 'd', 'e']) await call(`${t.api}/feed`, jsonInit('POST', { id }));
    await call(`${t.api}/feed/b`, jsonInit('PUT', { id: 'b', edited: true }));
    await call(`${t.api}/feed/c`, { method: 'DELETE' });

    const first = await call(`${t.api}/feed`);
    assert.equal(first.status, 200);
    assert.deepEqual(
      first.body.items.map((i: any) => i.id),
      ['a', 'd', 'e'],
    );
    assert.equal(first.body.hasMore, true);
    assert.equal(typeof first.body.cursor, 'string');

    const second = await call(`${t.api}/feed?since=${first.body.cursor}`);
    assert.deepEqual(second.body.items, [
      { id: 'b', version: 2, data: { id: 'b', edited: true }, deleted: false },
      { id: 'c', version: 2, data: null, deleted: true },
    ]);
    assert.equal(second.body.hasMore, false);

    const empty = await call(`${t.api}/feed?since=${second.body.cursor}`);
    assert.deepEqual(empty.body, { items: [], cursor: second.body.cursor, hasMore: false });

    await call(`${t.api}/feed/a`, jsonInit('PUT', { id: 'a', later: true }));
    const next = await call(`${t.api}/feed?since=${second.body.cursor}`);
    assert.deepEqual(
      next.body.items.map((i: any) => [i.id, i.version]),
      [['a', 2]],
    );

    const other = await call(`${t.api}/unrelated?since=0`);
    assert.deepEqual(other.body, { items: [], cursor: '0', hasMore: false });
  });

  test('bad input gets a clear 4xx JSON error and writes nothing', async () => {
    const cases: Array<[string, RequestInit | undefined, number, string]> = [
      [`${t.api}/val`, jsonInit('POST', '{"broken":'), 400, 'bad-json'],
      // JSON.parse takes these as ±Infinity, which would be stored as null.
      [`${t.api}/val/x`, jsonInit('PUT', '{"n":1e400}'), 400, 'bad-json'],
      [`${t.api}/val/x`, jsonInit('PUT', '{"a":[1,{"m":-1e400}]}'), 400, 'bad-json'],
      [`${t.api}/val`, jsonInit('POST', '[1,2]'), 400, 'bad-body'],
      [`${t.api}/val`, jsonInit('POST', 'null'), 400, 'bad-body'],
      [`${t.api}/val/x`, jsonInit('PUT', '"text"'), 400, 'bad-body'],
      [`${t.api}/val/x`, jsonInit('PUT', `{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}`), 400, 'bad-body'],
      [`${t.api}/val/x`, jsonInit('PUT', `{"a":${'['.repeat(100)}${']'.repeat(100)}}`), 400, 'bad-body'],
      [`${t.api}/val`, jsonInit('POST', { id: 'has space' }), 400, 'bad-id'],
      [`${t.api}/val/${'x'.repeat(129)}`, jsonInit('PUT', {}), 400, 'bad-id'],
      [`${t.api}/val/a%20b`, jsonInit('PUT', {}), 400, 'bad-id'],
      [`${t.api}/_val`, jsonInit('POST', {}), 400, 'bad-collection'],
      [`${t.api}/${'c'.repeat(65)}`, jsonInit('POST', {}), 400, 'bad-collection'],
      [`${t.api}/val?since=abc`, undefined, 400, 'bad-cursor'],
      [`${t.api}/val?since=-1`, undefined, 400, 'bad-cursor'],
      [`${t.api}/val/x`, jsonInit('PUT', {}, { 'if-match': 'garbage' }), 400, 'bad-if-match'],
      [
        `${t.api}/val`,
        { method: 'POST', headers: { 'content-type': 'text/html' }, body: '{}' },
        415,
        'unsupported-media-type',
      ],
      [`${t.api}/val`, jsonInit('POST', { blob: 'x'.repeat(2 * 1024 * 1024) }), 413, 'too-large'],
    ];
    for (const [url, init, status, error] of cases) {
      const response = await call(url, init);
      assert.equal(response.status, status, `${init?.method ?? 'GET'} ${url.slice(0, 80)}`);
      assert.equal(response.body.error, error);
      assert.equal(typeof response.body.message, 'string');
      assert.equal(response.headers.get('content-type'), 'application/json');
    }
    assert.deepEqual((await call(`${t.api}/val`)).body.items, []);
    assert.deepEqual(await changeLog(t.api, 'val'), []);
  });

  test('a POST id that is "." or ".." or not a string is 400 bad-id, never replaced by another id', async () => {
    for (const id of ['.', '..', 43, null, true, { id: 'x' }, ['x']]) {
      const response = await call(`${t.api}/postid`, jsonInit('POST', { id, title: 't' }));
      assert.equal(response.status, 400, JSON.stringify(id));
      assert.equal(response.body.error, 'bad-id');
      assert.equal(response.headers.get('location'), null);
    }
    assert.deepEqual(await changeLog(t.api, 'postid'), []);
    const dotted = await call(`${t.api}/postid`, jsonInit('POST', { id: 'a.b..c' }));
    assert.equal(dotted.status, 201, 'dots inside an id are fine');
    assert.equal((await call(`${t.api}${dotted.headers.get('location')!.slice('/api'.length)}`)).status, 200);
  });

  test('If-Match with a well-formed tag naming no current version is 412 with current; bad syntax is 400', async () => {
    await call(`${t.api}/tags`, jsonInit('POST', { id: 'm', n: 0 }));
    // Empty list members are allowed (RFC 9110 section 5.6.1) and name nothing.
    for (const header of ['"v1"', '""', '"01"', 'W/"01"', '01', '"*"', '"a,b", "2"', ', "v1" ,, "01",']) {
      for (const init of [
        jsonInit('PUT', { n: 1 }, { 'if-match': header }),
        { method: 'DELETE', headers: { 'if-match': header } },
      ]) {
        const response = await call(`${t.api}/tags/m`, init);
        assert.equal(response.status, 412, `${init.method} If-Match: ${header}`);
        assert.equal(response.body.error, 'precondition-failed');
        assert.equal(response.body.current.version, 1);
        assert.equal(response.headers.get('etag'), '"1"');
      }
    }
    for (const header of ['', ',', ' , ,', 'garbage', '"1" "2"', '"unterminated', 'w/"1"', '"1 "', '"1",x']) {
      const response = await call(`${t.api}/tags/m`, jsonInit('PUT', { n: 1 }, { 'if-match': header }));
      assert.equal(response.status, 400, `If-Match: ${header}`);
      assert.equal(response.body.error, 'bad-if-match');
    }
    const listed = await call(`${t.api}/tags/m`, jsonInit('PUT', { n: 2 }, { 'if-match': '"v9",, "a,b", "1",' }));
    assert.equal(listed.status, 200, 'one tag of the list matches');
    assert.deepEqual(
      (await changeLog(t.api, 'tags')).map((c) => c.version),
      [1, 2],
    );
  });

  test('data nested up to the depth limit is accepted', async () => {
    const body = `{"a":${'['.repeat(99)}${']'.repeat(99)}}`;
    const response = await call(`${t.api}/depth/ok`, jsonInit('PUT', body));
    assert.equal(response.status, 201);
    assert.equal(JSON.stringify(response.body.data), body);
  });

  test('an oversized body is refused by what arrives, not only by Content-Length', async () => {
    const chunks = ['{"a":"', 'x'.repeat(1024 * 1024), '"}'];
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
        controller.close();
      },
    });
    const response = await call(`${t.api}/chunked`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    assert.equal(response.status, 413);
    assert.equal(response.body.error, 'too-large');
    assert.deepEqual(await changeLog(t.api, 'chunked'), []);
  });

  test('reserved names, unknown routes and unsupported methods answer JSON errors', async () => {
    const health = await call(`${t.api}/health/probe-1`);
    assert.equal(health.status, 200);
    assert.equal(health.body.ok, true);
    assert.equal(typeof health.body.time, 'number');
    const postHealth = await call(`${t.api}/health`, jsonInit('POST', {}));
    assert.equal(postHealth.status, 405, 'the health route is read-only');
    assert.equal(postHealth.headers.get('allow'), 'GET, HEAD');
    assert.equal((await call(`${t.api}/health/x`, { method: 'DELETE' })).status, 405);
    const deep = await call(`${t.api}/a/b/c`);
    assert.equal(deep.status, 404);
    assert.equal(deep.body.error, 'not-found');
    const patch = await call(`${t.api}/notes/n1`, jsonInit('PATCH', { a: 1 }));
    assert.equal(patch.status, 405);
    assert.equal(patch.body.error, 'method-not-allowed');
    assert.equal(patch.headers.get('allow'), 'GET, HEAD, PUT, DELETE');
    assert.equal((await call(`${t.api}/notes`, { method: 'DELETE' })).headers.get('allow'), 'GET, HEAD, POST');
    assert.equal((await call(`${t.api}/notes/`)).status, 404, 'an empty id segment is no route');
  });
});

describe('large entities', () => {
  test('data that grows past maxBodyBytes once stored (re-encoded as JSON) is 413 and nothing is stored', async () => {
    const t = await startServer({ maxBodyBytes: 1000 });
    try {
      // 160 × "1e20" is about 800 bytes as sent, but each is stored as 21 digits: about 3.5 kB.
      const grows = `{"a":[${Array(160).fill('1e20').join(',')}]}`;
      assert.ok(grows.length <= 1000);
      for (const [url, init] of [
        [`${t.api}/grow/x`, jsonInit('PUT', grows)],
        [`${t.api}/grow`, jsonInit('POST', grows)],
      ] as const) {
        const refused = await call(url, init);
        assert.equal(refused.status, 413, init.method);
        assert.equal(refused.body.error, 'too-large');
        assert.equal(refused.body.limit, 1000);
      }
      const fits = `{"a":[${Array(40).fill('1e20').join(',')}]}`;
      assert.equal((await call(`${t.api}/grow/y`, jsonInit('PUT', fits))).status, 201);
      assert.deepEqual(
        (await changeLog(t.api, 'grow')).map((c) => c.id),
        ['y'],
      );
    } finally {
      await t.close();
    }
  });

  test('feed pages are bounded by bytes; an entity larger than a page comes alone and the cursor moves', async () => {
    const t = await startServer({ changesPageBytes: 1000 });
    try {
      const sizes: Record<string, number> = { a: 100, b: 100, big: 3000, c: 100, d: 100 };
      for (const [id, size] of Object.entries(sizes)) {
        assert.equal((await call(`${t.api}/sized/${id}`, jsonInit('PUT', { text: 'x'.repeat(size) }))).status, 201);
      }
      const pages: Array<{ ids: string[]; hasMore: boolean }> = [];
      let since = '';
      for (;;) {
        const page = await call(`${t.api}/sized?since=${since}`);
        assert.equal(page.status, 200);
        pages.push({ ids: page.body.items.map((i: any) => i.id), hasMore: page.body.hasMore });
        if (!page.body.hasMore) break;
        assert.notEqual(page.body.cursor, since, 'the cursor moves');
        since = page.body.cursor;
      }
      assert.deepEqual(pages, [
        { ids: ['a', 'b'], hasMore: true },
        { ids: ['big'], hasMore: true },
        { ids: ['c', 'd'], hasMore: false },
      ]);
    } finally {
      await t.close();
    }
  });
});

describe('persistence', () => {
  test('data and cursors survive a restart on the same file', async () => {
    const first = await startServer();
    await call(`${first.api}/keep`, jsonInit('POST', { id: 'k', n: 1 }));
    await call(`${first.api}/keep/k`, jsonInit('PUT', { n: 2 }, { 'idempotency-key': '"restart-key"' }));
    const cursor = (await call(`${first.api}/keep`)).body.cursor;
    await first.stop();

    const second = await startServer({}, first.dbFile);
    try {
      const read = await call(`${second.api}/keep/k`);
      assert.deepEqual(read.body, { id: 'k', version: 2, data: { n: 2 }, deleted: false });
      const replay = await call(
        `${second.api}/keep/k`,
        jsonInit('PUT', { n: 2 }, { 'idempotency-key': '"restart-key"' }),
      );
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.equal(replay.body.version, 2);
      await call(`${second.api}/keep`, jsonInit('POST', { id: 'k2' }));
      const after = await call(`${second.api}/keep?since=${cursor}`);
      assert.deepEqual(
        after.body.items.map((i: any) => i.id),
        ['k2'],
      );
      assert.ok(Number(after.body.cursor) > Number(cursor));
    } finally {
      await second.close();
    }
  });

  test('a cursor past every change of this database (data reset or restored) is 410 cursor-unknown', async () => {
    const first = await startServer();
    const fresh = await startServer();
    try {
      for (const id of ['a', 'b', 'c']) await call(`${first.api}/reset`, jsonInit('POST', { id }));
      const cursor = (await call(`${first.api}/reset`)).body.cursor;
      assert.equal((await call(`${first.api}/reset?since=${cursor}`)).status, 200, 'its own newest cursor');
      // The same client against a database that has fewer changes: empty pages would hide `x` from it.
      await call(`${fresh.api}/reset`, jsonInit('POST', { id: 'x' }));
      const unknown = await call(`${fresh.api}/reset?since=${cursor}`);
      assert.equal(unknown.status, 410);
      assert.equal(unknown.body.error, 'cursor-unknown');
      assert.deepEqual(
        (await call(`${fresh.api}/reset`)).body.items.map((i: any) => i.id),
        ['x'],
      );
      assert.equal((await call(`${fresh.api}/other?since=999999999999999`)).status, 410);
    } finally {
      await first.close();
      await fresh.close();
    }
  });
});
