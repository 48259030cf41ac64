// Firefox with a small storage limit: every refusal of a full disk is quota-exceeded (Firefox throws InvalidStateError on the next write), and the queue still drains.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';
import { startAppServer, type AppServer } from '../harness/app-server.ts';

const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

let app: AppServer;
let browser: Browser;

before(async () => {
  assert.ok(
    existsSync(FIREFOX),
    `Firefox not found at ${FIREFOX} (apt-get install -y firefox-esr, or set FIREFOX_PATH)`,
  );
  app = await startAppServer();
  browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    // Read at start-up: at or under 10 MiB, every origin's quota equals it (KiB).
    extraPrefsFirefox: { 'dom.quotaManager.temporaryStorage.fixedLimit': 4096 },
  });
});

after(async () => {
  await browser?.close();
  await app?.close();
});

test('a full disk in Firefox is quota-exceeded on every refused enqueue, nothing stored changes, and all of it drains', async () => {
  const collection = `ffq${Date.now().toString(36)}`;
  await app.admin('POST', 'faults', { pathPrefix: `/api/${collection}`, offline: true });
  await app.admin('POST', 'faults', { pathPrefix: `/api/health/${collection}`, offline: true });
  const page = await browser.newPage();
  await page.goto(`${app.url}/`);
  await page.waitForFunction(() => 'syncline' in window);
  const filled = await page.evaluate(async (collection) => {
    const { createSyncClient } = (window as unknown as { syncline: typeof import('../../src/index.ts') }).syncline;
    const client = createSyncClient({
      endpoint: '/api',
      namespace: collection,
      mode: 'shared-worker',
      workerUrl: '/worker.js',
      healthUrl: `/api/health/${collection}`,
      maxPayloadBytes: 1024 * 1024,
      probeIntervalMs: 200,
      backoffBaseMs: 200,
    });
    (window as unknown as { client: typeof client }).client = client;
    // Random text: IndexedDB compresses values, so a repeated character would never fill anything.
    const noise = () =>
      Array.from(crypto.getRandomValues(new Uint8Array(65536)), (b) => b.toString(16).padStart(2, '0')).join('');
    let stored = 0;
    const refusals: string[] = [];
    for (let i = 0; i < 200 && refusals.length < 4; i++) {
      try {
        await client.enqueue({
          kind: 'photo',
          label: `photo ${i}`,
          request: { method: 'POST', url: collection, body: { id: `p${i}`, data: noise() } },
        });
        stored++;
      } catch (e) {
        refusals.push((e as { code?: string }).code ?? String(e));
      }
    }
    const count = await new Promise<number>((resolve) => client.pendingCount$.subscribe(resolve));
    return { stored, refusals, count };
  }, collection);
  assert.ok(filled.stored > 2, `stored ${filled.stored}`);
  assert.deepEqual(filled.refusals, ['quota-exceeded', 'quota-exceeded', 'quota-exceeded', 'quota-exceeded']);
  assert.equal(filled.count, filled.stored);

  await app.admin('DELETE', `faults?pathPrefix=${encodeURIComponent(`/api/health/${collection}`)}`);
  await app.admin('DELETE', `faults?pathPrefix=${encodeURIComponent(`/api/${collection}`)}`);
  await page.evaluate(async () => {
    const client = (window as unknown as { client: import('../../src/index.ts').SyncClient }).client;
    await client.syncNow();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('not drained')), 30_000);
      client.pendingCount$.subscribe((n) => {
        if (n === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  });
  const feed = (await (await fetch(`${app.url}/api/${collection}?since=0`)).json()) as {
    items: { id: string; version: number }[];
    hasMore: boolean;
  };
  assert.equal(feed.items.length, filled.stored);
  assert.ok(
    feed.items.every((item) => item.version === 1),
    'each applied once',
  );
  await page.close();
});
