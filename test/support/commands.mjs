// Test-runner server commands for what a page cannot do to itself: kill its SharedWorker, open and close real tabs.

/** @returns {import('@web/test-runner').TestRunnerPlugin} */
export function pageCommands() {
  /** Extra pages opened by tests, by id: real tabs, for what iframes cannot show (closing the last tab of a worker). */
  const pages = new Map();
  const sessions = new Map();
  let nextPage = 1;
  return {
    name: 'syncline-page-commands',
    async executeCommand({ command, payload, session }) {
      if (command === 'kill-shared-worker') {
        const page = session.browser.getPage(session.id);
        const browser = page.browser();
        let killed = 0;
        for (const target of browser.targets()) {
          if (target.type() !== 'shared_worker') continue;
          const worker = await target.worker().catch(() => null);
          if (!worker) continue;
          const name = await worker.evaluate(() => self.name).catch(() => null);
          if (name === payload.name) {
            await worker.close();
            killed++;
          }
        }
        return killed;
      }
      if (command === 'open-page') {
        const opener = session.browser.getPage(session.id);
        const page = await opener.browserContext().newPage();
        const url = new URL(payload.path, opener.url());
        // On another loopback host (the test server listens on every address): an origin with storage of its own.
        if (payload.host) url.hostname = payload.host;
        await page.goto(url.href);
        const id = nextPage++;
        pages.set(id, page);
        return id;
      }
      if (command === 'open-page-with-quota') {
        // A page on the other loopback origin (127.0.0.1 for localhost), whose storage quota is set before it first
        // opens IndexedDB: Chromium enforces an override only then (navigator.storage.estimate() still says ~10 GiB).
        const opener = session.browser.getPage(session.id);
        const page = await opener.browserContext().newPage();
        const url = new URL(payload.path, opener.url());
        url.hostname = url.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
        const cdp = await page.createCDPSession();
        await cdp.send('Storage.overrideQuotaForOrigin', { origin: url.origin, quotaSize: payload.quota });
        await page.goto(url.href);
        const id = nextPage++;
        pages.set(id, page);
        // The override lasts as long as the DevTools session that set it.
        sessions.set(id, cdp);
        return id;
      }
      if (command === 'clear-page-storage') {
        // As "Clear site data" does: the page's origin loses its IndexedDB, and open connections are closed under it.
        const page = pages.get(payload.id);
        const cdp = await page.createCDPSession();
        await cdp.send('Storage.clearDataForOrigin', { origin: new URL(page.url()).origin, storageTypes: 'indexeddb' });
        await cdp.detach();
        return true;
      }
      if (command === 'page-eval') {
        // undefined or null would read as "no plugin handled this command": an expression with no value answers true.
        return (await pages.get(payload.id).evaluate(payload.expression)) ?? true;
      }
      if (command === 'close-page') {
        await pages.get(payload.id)?.close();
        pages.delete(payload.id);
        sessions.delete(payload.id);
        return true;
      }
      return undefined;
    },
  };
}
