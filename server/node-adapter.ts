// Mounts the Hono app on Node: a plain http listener, connect (Vite) and koa (@web/test-runner) middleware.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';

type NodeListener = (req: IncomingMessage, res: ServerResponse) => void;
type ConnectNext = (err?: unknown) => void;

export function nodeListener(app: Hono): NodeListener {
  // The host process (Vite, the test runner) owns the globals; leave its Request/Response alone.
  const listener = getRequestListener(app.fetch, { overrideGlobalObjects: false });
  return (req, res) => {
    listener(req, res).catch((err: unknown) => {
      console.error('[syncline server]', err);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'internal', message: 'The server failed to handle this request.' }));
    });
  };
}

/** For connect (Vite): serves `basePath` and below, hands every other URL to `next`. */
export function connectMiddleware(
  app: Hono,
  basePath = '/api',
): (req: IncomingMessage, res: ServerResponse, next: ConnectNext) => void {
  const listener = nodeListener(app);
  const matches = prefixMatcher(basePath);
  return (req, res, next) => {
    // Connect strips the mount path from req.url when mounted with one; Hono must see the full path.
    const original = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    if (!matches(original)) {
      next();
      return;
    }
    req.url = original;
    listener(req, res);
  };
}

/** For koa (@web/test-runner): serves `basePath` and below on the raw request, otherwise defers to `next`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- koa's Context type is not a dependency here
export function koaMiddleware(app: Hono, basePath = '/api'): (ctx: any, next: () => Promise<void>) => Promise<void> {
  const listener = nodeListener(app);
  const matches = prefixMatcher(basePath);
  return async (ctx, next) => {
    const req = ctx.req as IncomingMessage;
    const res = ctx.res as ServerResponse;
    if (!matches((ctx.originalUrl as string | undefined) ?? req.url ?? '/')) {
      await next();
      return;
    }
    // Koa must not write its own response (or a 404) over ours.
    ctx.respond = false;
    await new Promise<void>((resolve) => {
      res.once('finish', resolve);
      res.once('close', resolve);
      listener(req, res);
    });
  };
}

/** Serves the app on its own port (0 picks a free one). */
export function listen(app: Hono, port: number, host = '127.0.0.1'): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(nodeListener(app));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      const hostname = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve({
        url: `http://${hostname}:${address.port}`,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((err) => (err ? fail(err) : done()));
            // Keep-alive connections would otherwise hold close() open until they time out.
            server.closeAllConnections();
          }),
      });
    });
  });
}

function prefixMatcher(basePath: string): (url: string) => boolean {
  const base = basePath.replace(/\/+$/, '');
  return (url) => {
    const pathname = url.split(/[?#]/, 1)[0]!;
    return pathname === base || pathname.startsWith(`${base}/`);
  };
}
