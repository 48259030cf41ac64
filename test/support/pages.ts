// A page on a loopback origin of its own (its own storage) with syncline loaded, for tests that act on that storage.
import { executeServerCommand } from '@web/test-runner-commands';
import { addFault, clearFaults } from './server.ts';

/** Evaluates an expression in the page (a promise is awaited there) and gives its value back. */
export type RunInPage = (expression: string) => Promise<unknown>;

/**
 * Runs `test` against a page where syncline is loaded (`run` evaluates there, `page` names it to the page commands),
 * with the collection's routes and health probe off the network until the test lets them back; the page is closed
 * and the faults cleared afterwards. The page is on the other loopback origin under a storage quota set before its
 * first use (`quota`), or on the loopback `host` given. Each test that changes an origin's storage needs one nobody
 * used before it: Chromium enforces a quota override only on an origin's first use.
 */
export async function withOtherOriginPage(
  collection: string,
  options: { quota: number } | { host: string },
  test: (run: RunInPage, page: number) => Promise<void>,
): Promise<void> {
  await addFault({ pathPrefix: `/api/${collection}`, offline: true });
  await addFault({ pathPrefix: `/api/health/${collection}`, offline: true });
  const path = '/test/fixtures/frame.html';
  const page = (await ('quota' in options
    ? executeServerCommand('open-page-with-quota', { path, quota: options.quota })
    : executeServerCommand('open-page', { path, host: options.host }))) as number;
  try {
    const run: RunInPage = (expression) => executeServerCommand('page-eval', { id: page, expression });
    await run(
      `new Promise((resolve) => window.syncline ? resolve() : window.addEventListener('syncline-ready', resolve))`,
    );
    await test(run, page);
  } finally {
    await executeServerCommand('close-page', { id: page });
    await clearFaults(`/api/${collection}`);
    await clearFaults(`/api/health/${collection}`);
  }
}
