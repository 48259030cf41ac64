// Test-runner server commands for what a page cannot do to itself: kill its SharedWorker, shrink its storage quota.

/** @returns {import('@web/test-runner').TestRunnerPlugin} */
export function pageCommands() {
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
      if (command === 'override-quota') {
        const page = session.browser.getPage(session.id);
        const client = await page.createCDPSession();
        const origin = new URL(page.url()).origin;
        await client.send('Storage.overrideQuotaForOrigin', payload.quotaSize == null ? { origin } : { origin, quotaSize: payload.quotaSize });
        await client.detach();
        return true;
      }
      return undefined;
    },
  };
}
