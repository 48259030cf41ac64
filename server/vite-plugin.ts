// Vite plugin that serves the sync API from the dev and preview servers, so the demo needs no second process.
import type { Server } from 'node:http';
import type { Plugin } from 'vite';
import { createSyncServer, type SyncServerOptions } from './app.ts';
import { connectMiddleware } from './node-adapter.ts';

type Middlewares = { use(fn: ReturnType<typeof connectMiddleware>): unknown };

export function synclineServer(options: Partial<SyncServerOptions> = {}): Plugin {
  const mount = (middlewares: Middlewares, httpServer: Server | null | undefined | object) => {
    // The demo's fault panel drives the admin switches, hence admin on by default here.
    const server = createSyncServer({ dbFile: 'data/syncline.sqlite', admin: true, ...options });
    middlewares.use(connectMiddleware(server.app, options.basePath ?? '/api'));
    if (httpServer && 'once' in httpServer && typeof httpServer.once === 'function') {
      httpServer.once('close', () => server.close());
    }
  };
  return {
    name: 'syncline-server',
    configureServer(server) {
      mount(server.middlewares, server.httpServer);
    },
    configurePreviewServer(server) {
      mount(server.middlewares, server.httpServer);
    },
  };
}
