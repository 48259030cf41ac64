// autoload(): each tag defined the first time it appears in a watched root, never before, and never after a stop.
// This file imports no define module: every tag starts undefined here, and each test uses tags no other test does.
import { expect } from '@open-wc/testing';
import { autoload } from './autoload.ts';
import { testClient, until } from './test/support.ts';

const defined = (tag: string) => customElements.get(tag) !== undefined;
/** Long enough for a module already in the page's cache to load and define its tag. */
const settle = () => new Promise((r) => setTimeout(r, 300));

describe('autoload()', () => {
  const stops: (() => void)[] = [];
  const parts: Element[] = [];
  const place = (markup: string) => {
    const host = document.createElement('div');
    host.innerHTML = markup;
    document.body.append(host);
    parts.push(host);
    return host;
  };
  afterEach(() => {
    stops.splice(0).forEach((stop) => stop());
    parts.splice(0).forEach((part) => part.remove());
  });

  it('defines a tag already in the page, and only the tags the page uses', async () => {
    const host = place('<section><pending-badge silent></pending-badge></section>');
    stops.push(autoload());
    await until(() => defined('pending-badge'), 5000, '<pending-badge> defined');
    const badge = host.querySelector('pending-badge')!;
    await customElements.whenDefined('pending-badge');
    expect(badge.shadowRoot, 'upgraded in place').to.not.equal(null);
    await settle();
    expect(defined('sync-outbox')).to.equal(false);
    expect(defined('conflict-resolver')).to.equal(false);
  });

  it('defines a tag the moment it is added, nested deep in a new subtree', async () => {
    stops.push(autoload());
    await settle();
    expect(defined('sync-status')).to.equal(false);
    place('<div><p><span><sync-status></sync-status></span></p></div>');
    await until(() => defined('sync-status'), 5000, '<sync-status> defined');
  });

  it('does not see into a shadow root until that root is watched', async () => {
    stops.push(autoload());
    const host = place('<div></div>').firstElementChild!;
    const shadow = host.attachShadow({ mode: 'open' });
    shadow.innerHTML = '<pending-marker></pending-marker>';
    await settle();
    expect(defined('pending-marker')).to.equal(false);
    stops.push(autoload(shadow));
    await until(() => defined('pending-marker'), 5000, '<pending-marker> defined');
    expect(shadow.querySelector('pending-marker')!.shadowRoot).to.not.equal(null);
  });

  it('stops watching when told to', async () => {
    const stop = autoload();
    stop();
    place('<conflict-resolver></conflict-resolver>');
    await settle();
    expect(defined('conflict-resolver')).to.equal(false);
    // A later watch picks it up: the tag is still in the page.
    stops.push(autoload());
    await until(() => defined('conflict-resolver'), 5000, '<conflict-resolver> defined');
  });

  it("gives the elements the provider's client, whichever of them is defined first", async () => {
    const t = testClient('autoload');
    const warn = console.warn;
    const warnings: unknown[][] = [];
    console.warn = (...args: unknown[]) => void warnings.push(args);
    try {
      stops.push(autoload());
      place('<sync-provider><sync-outbox></sync-outbox></sync-provider>');
      await Promise.all([customElements.whenDefined('sync-provider'), customElements.whenDefined('sync-outbox')]);
      const provider = document.querySelector('sync-provider') as unknown as { client: unknown };
      const outbox = document.querySelector('sync-outbox') as unknown as { total: number | undefined };
      provider.client = t.client;
      // The outbox counts the client's queue (empty): it has the client.
      await until(() => outbox.total === 0, 5000, 'outbox has the client');
      // An outbox defined before its provider waited for it: no "no <sync-provider>" warning.
      expect(warnings).to.deep.equal([]);
    } finally {
      console.warn = warn;
      await t.dispose();
    }
  });
});
