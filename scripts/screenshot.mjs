// Takes the README's demo screenshot: starts the demo, adds tasks, switches the server off, captures docs/demo.png.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import puppeteer from 'puppeteer-core';
import { ensureChromium } from './ensure-chromium.mjs';

const port = 5199;
const url = `http://127.0.0.1:${port}/`;
rmSync('data/demo.sqlite', { force: true });
rmSync('data/demo.sqlite-wal', { force: true });
rmSync('data/demo.sqlite-shm', { force: true });
const vite = spawn('npx', ['vite', '--config', 'demo/vite.config.ts', '--port', String(port), '--strictPort'], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
await new Promise((resolve, reject) => {
  vite.stdout.on('data', (d) => String(d).includes('ready') && resolve());
  vite.on('exit', reject);
});

const browser = await puppeteer.launch({
  executablePath: ensureChromium(),
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 860, deviceScaleFactor: 1 });
  await page.goto(url, { waitUntil: 'networkidle0' });
  const add = async (title) => {
    await page.type('#add-title', title);
    await page.keyboard.press('Enter');
  };
  for (const title of ['Buy milk', 'Call the plumber', 'Book train tickets']) await add(title);
  await page.waitForFunction(() => document.querySelectorAll('#task-list li').length === 3);
  await page.waitForFunction(() => document.querySelector('pending-badge')?.count === 0, { timeout: 15000 });
  // The server goes away; the user keeps working.
  await page.click('#faults input[name="offline"]');
  await new Promise((r) => setTimeout(r, 300));
  await add('Water the plants');
  // The list re-renders on every change: click through the live DOM, not a stale handle.
  await page.evaluate(() => document.querySelector('#task-list li:nth-child(1) input[type="checkbox"]').click());
  await page.evaluate(() => document.querySelector('#task-list li:nth-child(2) button[aria-label^="Delete"]').click());
  await page.waitForFunction(() => document.querySelector('pending-badge')?.count === 3, { timeout: 15000 });
  await new Promise((r) => setTimeout(r, 1500));
  await page.screenshot({ path: 'docs/demo.png' });
  // Leave the server on for whoever runs the demo next.
  await page.click('#faults input[name="offline"]');
  await new Promise((r) => setTimeout(r, 300));
  console.log('wrote docs/demo.png');
} finally {
  await browser.close();
  process.kill(-vite.pid);
}
