// A page server for tests that drive whole browsers from Node: syncline bundled as an app would ship it, beside the reference server.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { createSyncServer, type SyncServer } from '../../server/app.ts';
import { nodeListener } from '../../server/node-adapter.ts';

export interface AppServer {
  /** `http://127.0.0.1:<port>`: pages load `/`, which exposes `window.syncline` and fires `syncline-ready`. */
  url: string;
  sync: SyncServer;
  /** Fault rules and the write log of the reference server's admin routes. */
  admin(method: string, path: string, body?: unknown): Promise<unknown>;
  close(): Promise<void>;
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>syncline harness</title>
<script>
  // Functions that Node-side tests hand to page.evaluate() are compiled by tsx, which names them with __name().
  globalThis.__name = (fn) => fn;
</script>
<script type="module">
  import * as syncline from '/syncline.js';
  window.syncline = syncline;
  window.dispatchEvent(new Event('syncline-ready'));
</script>`;

async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    minify: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/** Serves the page, `/syncline.js` (the public API) and `/worker.js` (the SharedWorker), and the reference server at `/api`. */
export async function startAppServer(options: { idempotencyTtlMs?: number } = {}): Promise<AppServer> {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-harness-'));
  const sync = createSyncServer({ dbFile: join(dir, 'harness.sqlite'), admin: true, ...options });
  const api = nodeListener(sync.app);
  const [client, worker] = await Promise.all([bundle('src/index.ts'), bundle('src/worker.ts')]);
  const files: Record<string, [string, string]> = {
    '/': ['text/html; charset=utf-8', PAGE],
    '/syncline.js': ['text/javascript', client],
    '/worker.js': ['text/javascript', worker],
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/api' || path.startsWith('/api/')) return api(req, res);
    const file = files[path];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file[0], 'cache-control': 'no-store' }).end(file[1]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    sync,
    async admin(method, path, body) {
      const response = await fetch(`${url}/api/_admin/${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? null : JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`admin ${method} ${path}: ${response.status} ${await response.text()}`);
      return response.status === 204 ? null : response.json();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      sync.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
