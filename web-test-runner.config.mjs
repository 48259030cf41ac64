// Browser tests: TypeScript through esbuild, system Chromium, the reference server mounted at /api.
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { chromeLauncher } from '@web/test-runner-chrome';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findChromium } from './scripts/ensure-chromium.mjs';
import { createSyncServer } from './server/app.ts';
import { koaMiddleware } from './server/node-adapter.ts';
import { pageCommands } from './test/support/commands.mjs';
import { bundledModules } from './test/support/bundle-plugin.mjs';
import { testHooks } from './test/support/hooks.mjs';

// One fresh SQLite file per run; tests isolate themselves by collection and namespace names.
const server = createSyncServer({ dbFile: join(mkdtempSync(join(tmpdir(), 'syncline-wtr-')), 'test.sqlite'), admin: true });

export default {
  // test/engines/ drives whole browsers from Node (node:test), not from this runner.
  files: ['test/**/*.test.ts', '!test/engines/**', 'components/**/*.test.ts'],
  nodeResolve: true,
  concurrency: 1,
  middleware: [koaMiddleware(server.app, '/api'), testHooks()],
  plugins: [bundledModules(['/test/support/frameworks.ts']), esbuildPlugin({ ts: true, tsconfig: './tsconfig.json', target: 'es2022' }), pageCommands()],
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: findChromium(),
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
          '--disable-component-update', '--disable-sync', '--disable-features=BackForwardCache'],
      },
    }),
  ],
  testFramework: { config: { timeout: 20000 } },
  testsFinishTimeout: 240000,
};
