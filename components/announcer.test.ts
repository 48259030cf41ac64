// The page announcer on a virtual clock: bursts, one message per source, de-duplication, clearing; and how the provider supplies it.
import { expect, fixture, html } from '@open-wc/testing';
import { ContextProvider } from '@lit/context';
import './define.ts';
import {
  PageAnnouncer,
  PendingBadgeElement,
  SyncProviderElement,
  announcerContext,
  documentAnnouncer,
  syncClientContext,
  type Announcer,
  type AnnouncerTimers,
} from './index.ts';
import { testClient, until } from './test/support.ts';

/** Timers that run only when the test advances the clock. */
function virtualTimers(): AnnouncerTimers & { advance(ms: number): void } {
  let now = 0;
  let nextId = 1;
  const due = new Map<number, { at: number; callback: () => void }>();
  return {
    setTimeout(callback, ms) {
      const id = nextId++;
      due.set(id, { at: now + ms, callback });
      return id;
    },
    clearTimeout(handle) {
      due.delete(handle as number);
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const next = [...due.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
        if (!next) break;
        due.delete(next[0]);
        now = next[1].at;
        next[1].callback();
      }
      now = until;
    },
  };
}

describe('PageAnnouncer', () => {
  let container: HTMLElement;
  let clock: ReturnType<typeof virtualTimers>;
  let announcer: PageAnnouncer;
  const text = () => announcer.region?.textContent ?? '';

  beforeEach(async () => {
    container = await fixture(html`<div></div>`);
    clock = virtualTimers();
    announcer = new PageAnnouncer({ mount: () => container, delay: 1000, clearAfter: 5000, timers: clock });
  });
  afterEach(() => announcer.dispose());

  it('creates one polite, atomic, visually hidden region on the first report, before it has anything to say', () => {
    expect(announcer.region).to.equal(undefined);
    announcer.announce({}, 'Hello');
    const region = announcer.region!;
    expect(region.parentNode).to.equal(container);
    expect(region.getAttribute('role')).to.equal('status');
    expect(region.getAttribute('aria-live')).to.equal('polite');
    expect(region.getAttribute('aria-atomic')).to.equal('true');
    expect(region.getBoundingClientRect().width).to.be.at.most(1);
    expect(text()).to.equal('');
  });

  it('says a burst once, after it has been quiet for the delay', () => {
    const source = {};
    announcer.announce(source, '1 change not yet saved');
    clock.advance(600);
    announcer.announce(source, '2 changes not yet saved');
    clock.advance(600);
    announcer.announce(source, '3 changes not yet saved');
    clock.advance(999);
    expect(text()).to.equal('');
    clock.advance(1);
    expect(text()).to.equal('3 changes not yet saved');
  });

  it('evaluates a message function when the burst settles, and says nothing for an empty result', () => {
    let count = 1;
    announcer.announce({}, () => (count > 0 ? `${count} left` : ''));
    count = 4;
    clock.advance(1000);
    expect(text()).to.equal('4 left');
    clock.advance(5000);
    count = 0;
    announcer.announce({}, () => (count > 0 ? `${count} left` : ''));
    clock.advance(1000);
    expect(text()).to.equal('');
  });

  it('says identical words from several sources once, sentence by sentence, and different words together', () => {
    announcer.announce({}, 'All changes saved');
    announcer.announce({}, 'All changes saved');
    announcer.announce({}, 'Back online.');
    clock.advance(1000);
    expect(text()).to.equal('All changes saved. Back online');
    clock.advance(5000);
    // One report may hold several sentences: one another source says too is said once.
    for (const words of ['1 change failed to save', '1 change failed to save. Back online', 'Back online!'])
      announcer.announce({}, words);
    clock.advance(1000);
    expect(text()).to.equal('1 change failed to save. Back online');
  });

  it('forgets a cancelled report, and drops everything while silent', () => {
    const source = {};
    announcer.announce(source, 'Gone');
    announcer.cancel(source);
    clock.advance(1000);
    expect(text()).to.equal('');
    announcer.silent = true;
    announcer.announce({}, 'Hush');
    clock.advance(1000);
    expect(text()).to.equal('');
  });

  it('clears the words after clearAfter, and says the same words again by emptying the region first', () => {
    announcer.announce({}, 'All changes saved');
    clock.advance(1000);
    expect(text()).to.equal('All changes saved');
    clock.advance(2000);
    announcer.announce({}, 'All changes saved');
    clock.advance(1000);
    expect(text()).to.equal('');
    clock.advance(100);
    expect(text()).to.equal('All changes saved');
    clock.advance(5000);
    expect(text()).to.equal('');
  });
});

describe('announcer context', () => {
  const t = testClient('announcer');
  after(() => t.dispose());

  /** An announcer that records what it is asked to say, evaluated at once. */
  const recorder = () => {
    const said: string[] = [];
    const announcer: Announcer = {
      announce: (_source, message) => void said.push(typeof message === 'function' ? message() : message),
      cancel: () => {},
    };
    return { said, announcer };
  };

  it('is the document announcer unless the provider is handed one; silent on the provider silences the elements below', async () => {
    const own = recorder();
    await t.offline();
    const provider = await fixture<SyncProviderElement>(
      html`<sync-provider .client=${t.client} .announcer=${own.announcer}><pending-badge></pending-badge></sync-provider>`,
    );
    const badge = provider.querySelector('pending-badge')!;
    await until(() => badge.count !== undefined, 5000, 'count');
    await t.client.enqueue(t.op('a'));
    await until(() => own.said.includes('1 change not yet saved'), 5000, 'said through the handed-in announcer');
    provider.silent = true;
    await provider.updateComplete;
    const before = own.said.length;
    await t.client.enqueue(t.op('b'));
    await until(() => badge.count === 2, 5000, 'count 2');
    await new Promise((r) => setTimeout(r, 100));
    expect(own.said.length).to.equal(before);
    provider.announcer = undefined;
    await provider.updateComplete;
    expect(documentAnnouncer(document)).to.equal(documentAnnouncer(document));
  });

  it('falls back to the document announcer for an element whose client comes without a <sync-provider>', async () => {
    await t.offline();
    const host = await fixture<HTMLElement>(html`<div></div>`);
    new ContextProvider(host, { context: syncClientContext, initialValue: t.client });
    const badge = document.createElement('pending-badge') as PendingBadgeElement;
    host.append(badge);
    await until(() => badge.count !== undefined, 5000, 'count');
    const page = documentAnnouncer(document);
    const delay = page.delay;
    page.delay = 50;
    try {
      const count = badge.count!;
      await t.client.enqueue(t.op('c'));
      const expected = `${count + 1} changes not yet saved`;
      await until(() => page.region?.textContent === expected, 5000, 'said in the document region');
      expect(page.region!.parentElement).to.equal(document.body);
    } finally {
      page.delay = delay;
    }
  });

  it('is provided under a global key, for a future element to consume', () => {
    expect(announcerContext).to.equal(Symbol.for('syncline-announcer'));
  });
});
