// The Node mounts: connect (Vite) and koa (@web/test-runner) serve only the API prefix and see the full path.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createSyncServer, type SyncServer } from '../app.ts';
import { connectMiddleware, koaMiddleware } from '../node-adapter.ts';
import { call, jsonInit } from './helpers.ts';

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ origin: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function fallback(res: ServerResponse): void {
  res.writeHead(299, { 'content-type': 'text/plain' });
  res.end('next');
}

describe('node adapters', () => {
  let dir: string;
  let sync: SyncServer;
  const servers: Server[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'syncline-adapter-test-'));
    sync = createSyncServer({ dbFile: join(dir, 'a.sqlite'), admin: true });
  });
  after(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    sync.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('connectMiddleware serves /api, passes other paths to next and undoes mount-path stripping', async () => {
    const middleware = connectMiddleware(sync.app);
    const { origin, server } = await serve((req, res) => {
      // Mimic connect's use('/api', fn): req.url loses the mount path, originalUrl keeps it.
      const url = req.url ?? '/';
      if (url.startsWith('/api/')) Object.assign(req, { originalUrl: url, url: url.slice(4) });
      middleware(req, res, () => fallback(res));
    });
    servers.push(server);
    const other = await fetch(`${origin}/index.html`);
    assert.equal(other.status, 299);
    assert.equal(await other.text(), 'next');
    assert.equal((await fetch(`${origin}/apiary`)).status, 299, 'a longer segment is not the prefix');
    const created = await call(`${origin}/api/via-connect`, jsonInit('POST', { id: 'c1' }));
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('location'), '/api/via-connect/c1');
    assert.equal((await call(`${origin}/api/via-connect/c1`)).body.version, 1);
  });

  test('koaMiddleware serves /api with respond=false and awaits next otherwise; drop works through it', async () => {
    const middleware = koaMiddleware(sync.app);
    const { origin, server } = await serve((req, res) => {
      const ctx: { req: IncomingMessage; res: ServerResponse; respond?: boolean; originalUrl?: string } = {
        req,
        res,
        originalUrl: req.url,
      };
      let nextCalled = false;
      middleware(ctx, async () => {
        nextCalled = true;
      }).then(() => {
        if (nextCalled) fallback(res);
        else assert.equal(ctx.respond, false);
      });
    });
    servers.push(server);
    assert.equal((await fetch(`${origin}/`)).status, 299);
    assert.equal((await call(`${origin}/api`)).status, 404, 'the bare prefix reaches the app');
    assert.equal((await call(`${origin}/api/via-koa`, jsonInit('POST', { id: 'k1' }))).status, 201);

    await call(`${origin}/api/_admin/faults`, jsonInit('POST', { pathPrefix: '/api/via-koa', drop: true, times: 1 }));
    await assert.rejects(fetch(`${origin}/api/via-koa/k1`, jsonInit('PUT', { n: 2 })), TypeError);
    assert.equal((await call(`${origin}/api/via-koa/k1`)).body.version, 2);
  });
});
