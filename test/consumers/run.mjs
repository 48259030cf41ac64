// Consumer tests: the packed tarball installed into fresh apps (Vite, webpack, no build from a second origin, strict CSP), each run in Chromium.
// Run with `node --import tsx test/consumers/run.mjs [name...]` after `npm run build`; installs come from the npm cache (--prefer-offline).
import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  existsSync,
  readdirSync,
  statSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { createSyncServer } from '../../server/app.ts';
import { nodeListener } from '../../server/node-adapter.ts';
import { CHROMIUM_ARGS, findChromium } from '../../scripts/ensure-chromium.mjs';
import { packTarball } from '../../scripts/package-check.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
/** The consumer apps take the versions this repo pins, which `npm ci` has put in the npm cache. */
const pinned = (...names) => Object.fromEntries(names.map((n) => [n, rootPkg.devDependencies[n]]));

const CSP = "script-src 'self'; require-trusted-types-for 'script'";
const TYPES = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain',
};

/** A static file server; `api` (the reference server) answers /api, `headers` go on every response. */
function serve(dir, { api, headers = {} } = {}) {
  const apiListener = api && nodeListener(api.app);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (apiListener && (path === '/api' || path.startsWith('/api/'))) return apiListener(req, res);
    let file = resolve(dir, `.${path}`);
    if (!file.startsWith(resolve(dir) + sep) && file !== resolve(dir)) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    // Browsers ask for a favicon by themselves; no app here has one.
    if (path === '/favicon.ico') {
      res.writeHead(204, headers).end();
      return;
    }
    if (!existsSync(file)) {
      res.writeHead(404, headers).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
      ...headers,
    });
    res.end(readFileSync(file));
  });
  return new Promise((ok) =>
    server.listen(0, '127.0.0.1', () => {
      server.closeAllConnections?.();
      ok({
        origin: `http://127.0.0.1:${server.address().port}`,
        close: () => {
          server.closeAllConnections();
          server.close();
        },
      });
    }),
  );
}

function sh(cwd, cmd, args) {
  execFileSync(cmd, args, {
    cwd,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
}

/** A fresh app folder: the fixture's files and a package.json naming the tarball and the app's own tools. */
function app(name, tarball, devDependencies, scripts = {}) {
  const dir = mkdtempSync(join(tmpdir(), `syncline-${name}-`));
  cpSync(join(here, name), dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify(
      {
        name: `consumer-${name}`,
        private: true,
        type: 'module',
        scripts,
        dependencies: { syncline: `file:${tarball}` },
        devDependencies,
      },
      null,
      2,
    ),
  );
  sh(dir, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error']);
  return dir;
}

function apiServer(dir) {
  return createSyncServer({ dbFile: join(dir, 'api.sqlite'), admin: true });
}

/**
 * Loads the app in a fresh browser context and checks the whole path: elements defined, one operation
 * enqueued through a SharedWorker whose script came from the app's origin, and delivered to the server.
 */
async function drive(browser, { origin, before, autoload = false }) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()} ${m.location()?.url ?? ''}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`);
  });
  await page.evaluateOnNewDocument(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__violations.push(`${e.violatedDirective}: ${e.blockedURI || e.sample}`),
    );
  });
  try {
    const id = `note-${Date.now().toString(36)}`;
    await before?.();
    await page.goto(`${origin}/?id=${id}`);
    const tags = ['sync-provider', 'pending-badge', 'sync-outbox', 'sync-status', 'conflict-resolver'];
    if (autoload) {
      // The bundle defines the tags the page uses, once it sees them, and loads nothing for the others.
      await page
        .waitForFunction((tags) => tags.every((t) => !document.querySelector(t) || customElements.get(t)), {}, tags)
        .catch(() => {
          throw new Error('the elements the page uses are not defined');
        });
      const unused = await page.evaluate((tags) => tags.filter((t) => !document.querySelector(t)), tags);
      await new Promise((r) => setTimeout(r, 300));
      const loaded = await page.evaluate((tags) => tags.filter((t) => customElements.get(t)), unused);
      if (unused.length === 0 || loaded.length > 0) throw new Error(`unused tags defined: ${loaded.join(', ')}`);
    } else {
      const defined = await page.evaluate((tags) => tags.every((t) => customElements.get(t)), tags);
      if (!defined) throw new Error('the elements are not defined');
    }
    await page.waitForFunction(() => window.__syncline?.enqueued || window.__syncline?.error, { timeout: 30_000 });
    const error = await page.evaluate(() => window.__syncline.error);
    if (error) throw new Error(`enqueue failed: ${error}`);
    const worker = await context.waitForTarget((t) => t.type() === 'shared_worker', { timeout: 10_000 });
    if (new URL(worker.url()).origin !== origin)
      throw new Error(`the SharedWorker came from ${worker.url()}, not from ${origin}`);
    return { page, context, id, problems, worker };
  } catch (e) {
    const violations = await page.evaluate(() => window.__violations).catch(() => []);
    await context.close();
    throw new Error([e.message, ...violations, ...problems].join('\n'), { cause: e });
  }
}

/**
 * Serves `siteDir` (with `headers`) and the reference API behind /api, loads the app (`drive`, after
 * `before(api)`), then `check(run, api, origin)`; everything is closed after.
 */
async function onSite(browser, dir, siteDir, { headers, autoload = false, before } = {}, check) {
  const api = apiServer(dir);
  const site = await serve(siteDir, { api, headers });
  try {
    const run = await drive(browser, { origin: site.origin, before: before && (() => before(api)), autoload });
    await check(run, api, site.origin);
    await run.context.close();
  } finally {
    site.close();
    api.close();
  }
}

/** Loads the app on its site and checks that its operation and its collection edit reached the server. */
function servedAndDelivered(browser, dir, siteDir, { autoload = false } = {}) {
  return onSite(browser, dir, siteDir, { autoload }, async (run, api, origin) => {
    await delivered(api, origin, run.id, run.page);
    await pushed(api, run);
    if (run.problems.length) throw new Error(run.problems.join('\n'));
  });
}

/** The app's collection edit reached the server: the worker loaded Background Sync's code and pushed it. */
async function pushed(api, run) {
  await run.page.waitForFunction(() => window.__syncline.pushed || window.__syncline.collectionError, {
    timeout: 15_000,
  });
  const failed = await run.page.evaluate(() => window.__syncline.collectionError);
  if (failed) throw new Error(`the collection's edit failed: ${failed}`);
  const entity = await api.app.request(`/api/tasks-${run.id}/t1`);
  if (entity.status !== 200) throw new Error(`the collection's edit never reached the server (${entity.status})`);
}

async function delivered(api, origin, id, page) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await api.app.request(`/api/notes/${id}`);
    if (res.status === 200) break;
    if (Date.now() > deadline)
      throw new Error(
        `notes/${id} never reached the server (page: ${JSON.stringify(await page.evaluate(() => window.__syncline))})`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.waitForFunction(() => window.__syncline.pending === 0, { timeout: 10_000 });
  const runtime = await page.evaluate(() => window.__syncline.runtime);
  if (runtime !== 'shared-worker') throw new Error(`ran in "${runtime}", not in the SharedWorker`);
}

/**
 * The page's `<sync-outbox lang="de">` renders its heading from the German table the page imported beside the
 * bundle: the table reached the registry the bundle's elements read, not a second copy of it.
 */
async function speaksGerman(page) {
  const heading = () =>
    document.querySelector('sync-outbox')?.shadowRoot?.querySelector('[part="heading"]')?.textContent?.trim();
  const german = await page
    .waitForFunction(
      () =>
        document.querySelector('sync-outbox')?.shadowRoot?.querySelector('[part="heading"]')?.textContent?.trim() ===
        'Nicht gesendete Änderungen',
      { timeout: 10_000 },
    )
    .then(
      () => true,
      () => false,
    );
  if (!german)
    throw new Error(`<sync-outbox lang="de"> is not in German: its heading is "${await page.evaluate(heading)}"`);
}

const freePort = () =>
  new Promise((ok) => {
    const server = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });

/** `vite` (dev) in the app folder; resolves once it answers, with a stop(). */
async function viteDev(dir) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['node_modules/vite/bin/vite.js', '--port', String(port), '--strictPort', '--host', '127.0.0.1'],
    { cwd: dir, stdio: 'ignore' },
  );
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`vite dev exited (${child.exitCode})`);
    if (
      await fetch(origin).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) {
      child.kill();
      throw new Error('vite dev did not answer within 30 s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { origin, stop: () => child.kill() };
}

const cases = {
  /**
   * A default Vite 8 vanilla-ts app: `tsc && vite build`, its output served as is and drained to the server;
   * then `vite` dev (which pre-bundles dependencies), where the worker must start from the dev server too.
   */
  async vite({ browser, tarball }) {
    const dir = app('vite-app', tarball, pinned('vite', 'typescript'));
    try {
      sh(dir, 'npx', ['tsc']);
      sh(dir, 'npx', ['vite', 'build', '--logLevel', 'warn']);
      await servedAndDelivered(browser, dir, join(dir, 'dist'));
      // The dev server has no API behind /api: the operation is stored and waits, which is all this checks.
      const dev = await viteDev(dir);
      try {
        const run = await drive(browser, { origin: dev.origin });
        await run.page.waitForFunction(
          () => window.__syncline.runtime === 'shared-worker' && window.__syncline.pending === 1,
          { timeout: 15_000 },
        );
        await run.context.close();
      } finally {
        dev.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },

  /** webpack 5, production mode, no loader and no plugin. */
  async webpack({ browser, tarball }) {
    const dir = app('webpack-app', tarball, pinned('webpack'));
    try {
      sh(dir, 'node', ['build.js']);
      await servedAndDelivered(browser, dir, join(dir, 'dist'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },

  /** A page with no build: the bundle from a second origin (a CDN's stand-in), the worker file from the page's own. */
  async 'no-build'({ browser, tarball }) {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-no-build-'));
    const cdnDir = join(dir, 'cdn');
    mkdirSync(cdnDir);
    // A CDN serves the tarball's files as they are.
    execFileSync('tar', ['-xzf', tarball, '-C', cdnDir, '--strip-components=1']);
    const cdn = await serve(cdnDir, { headers: { 'access-control-allow-origin': '*' } });
    const page = (api) =>
      readFileSync(join(here, 'no-build/index.html'), 'utf8')
        .replaceAll('__CDN__', cdn.origin)
        .replaceAll('__API__', api);
    const siteDir = join(dir, 'site');
    mkdirSync(siteDir);
    writeFileSync(join(siteDir, 'index.html'), page('/api'));
    // The worker's files (worker.js and the worker-*.js it loads), as the README says, in a folder of the site.
    mkdirSync(join(siteDir, 'syncline'));
    for (const file of readdirSync(join(cdnDir, 'dist/bundle')).filter((f) => /^worker.*\.js$/.test(f)))
      cpSync(join(cdnDir, 'dist/bundle', file), join(siteDir, 'syncline', file));
    try {
      await onSite(browser, dir, siteDir, { autoload: true }, async (run, api, origin) => {
        await delivered(api, origin, run.id, run.page);
        await pushed(api, run);
        await speaksGerman(run.page);
        if (run.problems.length) throw new Error(run.problems.join('\n'));
      });
      // A site that copied worker.js but not Background Sync's file: the queue works, and a collection call says
      // which files to serve.
      const partial = join(dir, 'site-without-background');
      cpSync(siteDir, partial, { recursive: true });
      for (const file of readdirSync(join(partial, 'syncline')))
        if (file.startsWith('worker-background-')) rmSync(join(partial, 'syncline', file));
      await onSite(browser, dir, partial, { autoload: true }, async (run, api, origin) => {
        await delivered(api, origin, run.id, run.page);
        await run.page.waitForFunction(() => window.__syncline.collectionError, { timeout: 15_000 });
        const said = await run.page.evaluate(() => window.__syncline.collectionError);
        if (!/unavailable|could not be loaded/i.test(said) || !said.includes('worker-*.js'))
          throw new Error(`a missing Background Sync file gave: ${said}`);
      });
      // The API on an origin of its own, as the README's CORS paragraph says: the worker's preflighted requests
      // (Idempotency-Key, If-Match) and the answers it reads must all pass the browser's CORS checks.
      const crossDir = join(dir, 'site-cross-origin');
      cpSync(siteDir, crossDir, { recursive: true });
      const site = await serve(crossDir);
      const emptyDir = join(dir, 'api-only');
      mkdirSync(emptyDir);
      const api = createSyncServer({ dbFile: join(dir, 'cross.sqlite'), cors: { origins: [site.origin] } });
      const apiSite = await serve(emptyDir, { api });
      try {
        writeFileSync(join(crossDir, 'index.html'), page(`${apiSite.origin}/api`));
        const run = await drive(browser, { origin: site.origin, autoload: true });
        try {
          await delivered(api, site.origin, run.id, run.page);
          await pushed(api, run);
          if (run.problems.length) throw new Error(run.problems.join('\n'));
        } finally {
          await run.context.close();
        }
      } finally {
        site.close();
        apiSite.close();
        api.close();
      }
    } finally {
      cdn.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },

  /**
   * The bundle under `script-src 'self'; require-trusted-types-for 'script'`: a failed operation is rendered
   * (label, error, buttons), retried and delivered, with no violation; then a deliberate violation proves the
   * policy was in force and would have been seen.
   */
  async csp({ browser, tarball }) {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-csp-'));
    const pkgDir = join(dir, 'pkg');
    mkdirSync(pkgDir);
    execFileSync('tar', ['-xzf', tarball, '-C', pkgDir, '--strip-components=1']);
    const siteDir = join(dir, 'site');
    cpSync(join(here, 'csp'), siteDir, { recursive: true });
    cpSync(join(pkgDir, 'dist/bundle'), join(siteDir, 'syncline'), { recursive: true });
    try {
      // The first send fails for good (a 422): the outbox must render the failed operation.
      const before = (api) =>
        api.app.request('/api/_admin/faults', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ pathPrefix: '/api/notes', methods: ['POST'], status: 422, times: 1 }),
        });
      const options = { headers: { 'content-security-policy': CSP }, autoload: true, before };
      await onSite(browser, dir, siteDir, options, async (run, api, origin) => {
        const { page } = run;
        await page.waitForFunction(
          () => {
            const outbox = document.querySelector('sync-outbox');
            return outbox?.shadowRoot?.textContent?.includes('Create a <b>note</b>');
          },
          { timeout: 15_000 },
        );
        if (await page.evaluate(() => !!document.querySelector('sync-outbox').shadowRoot.querySelector('b'))) {
          throw new Error('the label was parsed as HTML');
        }
        await page.evaluate(() => document.querySelector('sync-provider').client.retry(window.__syncline.enqueued));
        await delivered(api, origin, run.id, page);
        await pushed(api, run);
        const violations = await page.evaluate(() => window.__violations);
        if (violations.length || run.problems.length) throw new Error([...violations, ...run.problems].join('\n'));
        // Control: a string assigned to innerHTML must be refused and reported, or this test proves nothing.
        const refused = await page.evaluate(() => {
          try {
            document.body.innerHTML += '<i>x</i>';
            return false;
          } catch {
            return true;
          }
        });
        await page.waitForFunction(() => window.__violations.length > 0, { timeout: 5_000 }).catch(() => {});
        if (!refused || !(await page.evaluate(() => window.__violations.length)))
          throw new Error('Trusted Types were not enforced: the check is void');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },

  /** TypeScript consumers: a React TSX file and a Vue SFC use the elements, type-checked with the package's typings. */
  async types({ tarball }) {
    const dir = app('types', tarball, pinned('typescript', 'vue-tsc', 'vue', '@types/react', 'react'));
    const { typeConsumers } = await import('./types/check.mjs');
    try {
      typeConsumers(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

const only = process.argv.slice(2);
const chosen = Object.keys(cases).filter((n) => !only.length || only.includes(n));
if (!existsSync(join(root, 'dist/src/index.js'))) {
  console.error('consumers: dist/ is missing; run `npm run build` first.');
  process.exit(1);
}
const packed = packTarball();
const browser = await puppeteer.launch({
  executablePath: findChromium(),
  headless: true,
  args: CHROMIUM_ARGS,
});
let passed = 0;
let failed = 0;
const started = Date.now();
try {
  for (const name of chosen) {
    const t0 = Date.now();
    try {
      await cases[name]({ browser, tarball: packed.tarball });
      passed++;
      console.log(`✔ consumer ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    } catch (e) {
      failed++;
      console.error(`✘ consumer ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n${e.stack ?? e}`);
    }
  }
} finally {
  await browser.close();
  rmSync(packed.dir, { recursive: true, force: true });
}
console.log(`consumers: ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
