// Test-runner server commands for what a page cannot do to itself: kill its SharedWorker, open and close real tabs.

/** @returns {import('@web/test-runner').TestRunnerPlugin} */
export function pageCommands() {
  /** Extra pages opened by tests, by id: real tabs, for what iframes cannot show (closing the last tab of a worker). */
  const pages = new Map();
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
        await page.goto(new URL(payload.path, opener.url()).href);
        const id = nextPage++;
        pages.set(id, page);
        return id;
      }
      if (command === 'page-eval') {
        return pages.get(payload.id).evaluate(payload.expression);
      }
      if (command === 'close-page') {
        await pages.get(payload.id)?.close();
        pages.delete(payload.id);
        return true;
      }
      return undefined;
    },
  };
}
