// Takes the README's demo screenshot: starts the demo, adds tasks, edits one offline while another user edits it on
// the server, switches the server back on and captures docs/demo.png with the conflict open in <conflict-resolver>.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import puppeteer from 'puppeteer-core';
import { CHROMIUM_ARGS, ensureChromium } from './ensure-chromium.mjs';

const port = 5199;
const url = `http://127.0.0.1:${port}/`;
rmSync('data/demo.sqlite', { force: true });
rmSync('data/demo.sqlite-wal', { force: true });
rmSync('data/demo.sqlite-shm', { force: true });
const vite = spawn('npx', ['vite', '--config', 'demo/vite.config.ts', '--port', String(port), '--strictPort'], {
  stdio: ['ignore', 'pipe', 'inherit'],
  detached: true,
});
await new Promise((resolve, reject) => {
  vite.stdout.on('data', (d) => String(d).includes('ready') && resolve());
  vite.on('exit', reject);
});

const browser = await puppeteer.launch({
  executablePath: ensureChromium(),
  headless: true,
  args: CHROMIUM_ARGS,
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1000, deviceScaleFactor: 1 });
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
  // The list re-renders on every change: click through the live DOM, not a stale handle.
  const press = (n, label) =>
    page.evaluate(
      (n, label) => document.querySelector(`#task-list li:nth-child(${n}) button[aria-label^="${label}"]`).click(),
      n,
      label,
    );
  page.once('dialog', (dialog) => void dialog.accept('Buy oat milk'));
  await press(1, 'Edit');
  await page.waitForFunction(
    () => document.querySelector('#task-list li:nth-child(1) .title')?.textContent === 'Buy oat milk',
  );
  // Meanwhile another user renames the same task on the server.
  await press(1, 'Edit Buy oat milk on the server');
  await new Promise((r) => setTimeout(r, 300));
  // The server comes back: the edit is refused (412) and waits in the resolver, field by field.
  await page.click('#faults input[name="offline"]');
  await page.waitForFunction(() => document.querySelector('conflict-resolver')?.conflicts?.length === 1, {
    timeout: 15000,
  });
  // The visitor takes the server's title: the choice is open, not yet applied.
  await page.evaluate(() =>
    document
      .querySelector('conflict-resolver')
      .shadowRoot.querySelector('input[type="radio"][name$=":title"][value="theirs"]')
      .click(),
  );
  // Offline again for a moment, so the outbox also shows a queued delete beside the conflict.
  await page.click('#faults input[name="offline"]');
  await new Promise((r) => setTimeout(r, 300));
  await press(3, 'Delete');
  await page.waitForFunction(() =>
    document.querySelector('#task-list li:nth-child(3)')?.classList.contains('deleting'),
  );
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
