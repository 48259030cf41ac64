// Worker URLs under Trusted Types: one policy shared by every copy of syncline on a page, and same-origin judged by the document's origin.
import { expect } from '@open-wc/testing';
import { frame } from '../components/test/support.ts';

/** The page's own worker script, as a no-build page names it with `worker-url`. */
const WORKER = '/src/worker.ts';

describe('Trusted Types policy for the worker URL', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  it('is one policy for two copies of syncline on a page whose CSP names it once', async () => {
    const iframe = await frame(
      '',
      `<meta http-equiv="Content-Security-Policy" content="require-trusted-types-for 'script'; trusted-types syncline">
      <script type="module">
        // Two copies of the module (two bundles on one page): each asks for the policy.
        window.copies = Promise.all([
          import('${location.origin}/src/trusted-script-url.ts?copy=1'),
          import('${location.origin}/src/trusted-script-url.ts?copy=2'),
        ]);
      </script>`,
      true,
    );
    cleanups.push(() => iframe.remove());
    const win = iframe.contentWindow as Window & {
      copies?: Promise<{ trustedScriptUrl(url: string): unknown }[]>;
    };
    await eventuallyDefined(() => win.copies);
    const copies = await win.copies!;
    // Absolute: a blob: document's URL is no base to resolve against.
    const urls = copies.map((copy) => String(copy.trustedScriptUrl(`${location.origin}${WORKER}`)));
    expect(urls).to.deep.equal([`${location.origin}${WORKER}`, `${location.origin}${WORKER}`]);
  });

  it('takes a same-origin worker URL in an about:srcdoc frame, whose location.origin is "null"', async () => {
    const iframe = await frame(
      '',
      `<script type="module">window.copy = import('${location.origin}/src/trusted-script-url.ts');</script>`,
    );
    cleanups.push(() => iframe.remove());
    const win = iframe.contentWindow as Window & { copy?: Promise<{ trustedScriptUrl(url: string): unknown }> };
    await eventuallyDefined(() => win.copy);
    const { trustedScriptUrl } = await win.copy!;
    // Where there are no Trusted Types the URL comes back as it was given.
    expect(new URL(String(trustedScriptUrl(WORKER)), location.origin).href).to.equal(`${location.origin}${WORKER}`);
  });
});

/** Waits (up to 5 s) until `read()` gives a value. */
async function eventuallyDefined(read: () => unknown): Promise<void> {
  const start = performance.now();
  while (read() === undefined) {
    if (performance.now() - start > 5000) throw new Error("Timed out waiting for the frame's module");
    await new Promise((r) => setTimeout(r, 20));
  }
}
