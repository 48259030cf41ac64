// <sync-outbox>: rows in each state, retry / discard with events and confirmation, failures of both said, retry all, lanes, virtualize-after, keyboard, strings, leaks, 10,000 operations (focus and assistive technology: ./sync-outbox-a11y.test.ts).
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { executeServerCommand, sendKeys } from '@web/test-runner-commands';
import { addFault } from '../../test/support/server.ts';
import '../define.ts';
import { SynclineError, SynclineErrorCode } from '../../src/index.ts';
import {
  PageAnnouncer,
  SyncDiscardEvent,
  SyncOutboxElement,
  SyncRetryAllEvent,
  SyncRetryEvent,
  type SyncProviderElement,
} from '../index.ts';
import { expectFocusOn, liveLog } from '../test/a11y.ts';
import { ignoringResizeObserverLoop, outboxHelpers } from '../test/outbox.ts';
import { countingClient, entityConflict, refusingClient, testClient, until, type TestClient } from '../test/support.ts';

describe('<sync-outbox>', () => {
  let t: TestClient;
  beforeEach(() => {
    t = testClient('outbox');
  });
  afterEach(() => t.dispose());

  const { mount, rows, row, inRow, waitRow } = outboxHelpers(() => t, 5000);

  it('is defined by the define module', () => {
    expect(customElements.get('sync-outbox')).to.equal(SyncOutboxElement);
  });

  it('shows an empty state (slot or string) and a "Retry all" that does not apply but keeps its place in the tab order', async () => {
    const el = await mount();
    expect(el.total).to.equal(0);
    expect(el.shadowRoot!.querySelector('[part="empty"]')!.textContent!.trim()).to.equal('All changes are saved.');
    const retryAll = el.shadowRoot!.querySelector('[part="retry-all"]') as HTMLButtonElement;
    expect(retryAll.disabled).to.equal(false);
    expect(retryAll.getAttribute('aria-disabled')).to.equal('true');
    let fired = false;
    el.addEventListener('sync-retry-all', () => (fired = true), { once: true });
    retryAll.click();
    expect(fired).to.equal(false);
    await expect(el).to.be.accessible();
  });

  it('lists pending operations with label, status and attempts, rendering labels as text', async () => {
    await t.offline();
    await t.client.enqueueMany([t.op('a'), t.op('b', { label: '<img src=x onerror="window.pwned=1">' })]);
    const el = await mount();
    await waitRow(el, 'Create a', (r) => r.dataset.status === 'pending');
    expect(el.total).to.equal(2);
    expect(inRow(el, 'Create a', '[part="status"]')!.textContent).to.equal('pending');
    expect(inRow(el, 'Create a', '[part="attempts"]')!.textContent).to.match(/^\d+ attempts?$/);
    expect(row(el, '<img src=x onerror="window.pwned=1">')).to.exist;
    expect(el.shadowRoot!.querySelector('img')).to.equal(null);
    expect(el.shadowRoot!.querySelector('[part="lane"]')).to.equal(null);
    await expect(el).to.be.accessible();
  });

  it("shows a failed operation's error, and retries it through a cancelable sync-retry event", async () => {
    await t.failWith(400);
    await t.client.enqueue(t.op('a'));
    const el = await mount();
    await waitRow(el, 'Create a', (r) => r.dataset.status === 'failed');
    expect(inRow(el, 'Create a', '[part="status"]')!.textContent).to.equal('failed');
    expect(inRow(el, 'Create a', '[part="error"]')!.textContent).to.not.equal('');
    expect(inRow(el, 'Create a', '[part="attempts"]')!.textContent).to.equal('1 attempt');
    const retry = inRow(el, 'Create a', '[part="retry"]')!;
    expect(retry.getAttribute('aria-label')).to.equal('Retry "Create a"');
    // Prevented: nothing happens.
    el.addEventListener('sync-retry', (e) => e.preventDefault(), { once: true });
    retry.click();
    await new Promise((r) => setTimeout(r, 200));
    expect(inRow(el, 'Create a', '[part="attempts"]')!.textContent).to.equal('1 attempt');
    // From the keyboard, not prevented: the engine retries.
    retry.focus();
    setTimeout(() => void sendKeys({ press: 'Enter' }));
    const event = (await oneEvent(el, SyncRetryEvent.type)) as unknown as SyncRetryEvent;
    expect(event).to.be.instanceOf(SyncRetryEvent);
    expect(event.operation.label).to.equal('Create a');
    expect(event.cancelable && event.bubbles && event.composed).to.equal(true);
    await waitRow(el, 'Create a', (r) => r.querySelector('[part="attempts"]')!.textContent === '2 attempts');
    await expect(el).to.be.accessible();
  });

  it('counts down to the next automatic attempt', async () => {
    await addFault({ pathPrefix: `/api/${t.collection}`, status: 503, retryAfter: 30 });
    await t.client.enqueue(t.op('a'));
    const el = await mount();
    await waitRow(el, 'Create a', (r) => !!r.querySelector('[part="countdown"]'));
    const first = inRow(el, 'Create a', '[part="countdown"]')!.textContent!;
    expect(first).to.match(/^retry in (2\d|3[01]) seconds$/);
    await until(() => inRow(el, 'Create a', '[part="countdown"]')?.textContent !== first, 3000, 'countdown ticks');
  });

  it('asks before discarding: sync-discard, an inline confirmation, then client.discard', async () => {
    await t.offline();
    await t.client.enqueueMany([t.op('a'), t.op('b')]);
    const el = await mount();
    await waitRow(el, 'Create a');
    // A listener that cancels takes over: no confirmation appears.
    el.addEventListener('sync-discard', (e) => e.preventDefault(), { once: true });
    inRow(el, 'Create a', '[part="discard"]')!.click();
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[part="confirm"]')).to.equal(null);

    setTimeout(() => inRow(el, 'Create a', '[part="discard"]')!.click());
    const event = (await oneEvent(el, SyncDiscardEvent.type)) as unknown as SyncDiscardEvent;
    expect(event.operation.label).to.equal('Create a');
    expect(event.cancelable && event.bubbles && event.composed).to.equal(true);
    await el.updateComplete;
    expect(inRow(el, 'Create a', '[part="confirm"]')!.textContent).to.equal('Discard "Create a"?');
    // "Keep" has focus: a second Enter is safe.
    await until(() => el.shadowRoot!.activeElement === inRow(el, 'Create a', '[part="keep"]'), 2000, 'focus on Keep');
    await sendKeys({ press: 'Enter' });
    await el.updateComplete;
    expect(inRow(el, 'Create a', '[part="confirm"]')).to.equal(null);
    expect(el.shadowRoot!.activeElement).to.equal(inRow(el, 'Create a', '[part="discard"]'));
    expect(el.total).to.equal(2);

    // Space opens the confirmation, Shift+Tab reaches its Discard, Enter discards.
    // ' ' rather than 'Space': the key value every engine's driver knows (WebDriver BiDi has no 'Space').
    await sendKeys({ press: ' ' });
    await until(() => el.shadowRoot!.activeElement === inRow(el, 'Create a', '[part="keep"]'), 2000, 'focus on Keep');
    // A chord through the test runner config's press-chord: sendKeys' down/up do not exist for WebDriver.
    await executeServerCommand('press-chord', { keys: ['Shift', 'Tab'] });
    expect(el.shadowRoot!.activeElement).to.equal(inRow(el, 'Create a', '[part="confirm-discard"]'));
    await sendKeys({ press: 'Enter' });
    await until(() => el.total === 1 && !row(el, 'Create a'), 5000, 'discarded');
    expect(row(el, 'Create b')).to.exist;
    await el.updateComplete;
    expectFocusOn(inRow(el, 'Create b', '[part="discard"]'));
    await expect(el).to.be.accessible();
  });

  it('retries every failed operation with "Retry all" (cancelable sync-retry-all)', async () => {
    await t.failWith(400);
    await t.client.enqueueMany([t.op('a', { lane: 'x' }), t.op('b', { lane: 'y' })]);
    const el = await mount();
    await until(() => rows(el).filter((r) => r.dataset.status === 'failed').length === 2, 5000, 'two failed');
    await el.updateComplete;
    const button = el.shadowRoot!.querySelector<HTMLButtonElement>('[part="retry-all"]')!;
    await until(() => !button.disabled && button.getAttribute('aria-disabled') !== 'true', 2000, 'retry all applies');
    setTimeout(() => button.click());
    const event = (await oneEvent(el, SyncRetryAllEvent.type)) as unknown as SyncRetryAllEvent;
    expect(event).to.be.instanceOf(SyncRetryAllEvent);
    expect(event.cancelable).to.equal(true);
    expect(event.filter).to.deep.equal({});
    await until(
      () => rows(el).every((r) => r.querySelector('[part="attempts"]')!.textContent === '2 attempts'),
      5000,
      'both retried',
    );
  });

  it('puts the whole filter it retries on sync-retry-all: lane, kind and entity', async () => {
    await t.failWith(400);
    await t.client.enqueueMany([t.op('a', { lane: 'x' }), t.op('b', { lane: 'x' })]);
    const el = await mount(html`<sync-outbox lane="x" kind="item.create" entity=${`${t.collection}/a`}></sync-outbox>`);
    await until(() => rows(el).filter((r) => r.dataset.status === 'failed').length === 1, 5000, 'one failed');
    const button = el.shadowRoot!.querySelector<HTMLButtonElement>('[part="retry-all"]')!;
    await until(() => button.getAttribute('aria-disabled') !== 'true', 5000, 'retry all applies');
    const seen: SyncRetryAllEvent[] = [];
    el.addEventListener(SyncRetryAllEvent.type, (event) => {
      seen.push(event);
      event.preventDefault();
    });
    button.click();
    expect(seen.length).to.equal(1);
    expect(seen[0]!.filter).to.deep.equal({ lane: 'x', kind: 'item.create', entity: `${t.collection}/a` });
    expect(seen[0]!.lane).to.equal('x');
  });

  it("names each row's lane and filters by lane when there are several", async () => {
    await t.offline();
    await t.client.enqueueMany([t.op('a', { lane: 'x' }), t.op('b', { lane: 'y' }), t.op('c', { lane: 'y' })]);
    const el = await mount();
    await until(() => rows(el).length === 3, 5000, 'three rows');
    await el.updateComplete;
    expect(inRow(el, 'Create a', '[part="lane"]')!.textContent).to.equal('x');
    const select = el.shadowRoot!.querySelector<HTMLSelectElement>('[part="lane-filter"] select')!;
    expect([...select.options].map((o) => o.value)).to.deep.equal(['', 'x', 'y']);
    select.value = 'y';
    select.dispatchEvent(new Event('change'));
    await until(() => el.total === 2 && rows(el).length === 2, 5000, 'lane y only');
    expect(row(el, 'Create a')).to.equal(undefined);
    await expect(el).to.be.accessible();
    // A fixed `lane` attribute needs no select.
    el.lane = 'x';
    await until(() => el.total === 1, 5000, 'lane x');
    expect(el.shadowRoot!.querySelector('[part="lane-filter"]')).to.equal(null);
  });

  it('offers every lane in the queue, also one whose operations are not loaded yet', async () => {
    await ignoringResizeObserverLoop(async () => {
      await t.offline();
      // 100 rows of lane x fill the first window; lane z only appears far below it.
      await t.client.enqueueMany([
        ...Array.from({ length: 100 }, (_, i) => t.op(`x${i}`, { lane: 'x' })),
        t.op('z0', { lane: 'z' }),
      ]);
      const el = await mount();
      await until(() => el.total === 101, 5000, 'all counted');
      await until(
        () => {
          const select = el.shadowRoot!.querySelector<HTMLSelectElement>('[part="lane-filter"] select');
          return !!select && [...select.options].map((o) => o.value).join() === ',x,z';
        },
        5000,
        'lane z offered',
      );
      expect(row(el, 'Create z0')).to.equal(undefined);
    });
  });

  it('shows every lane again when the lane chosen empties, so no failure hides behind a filter that is gone', async () => {
    await t.failWith(400);
    const [a] = await t.client.enqueueMany([t.op('a', { lane: 'a' }), t.op('b', { lane: 'b' })]);
    const el = await mount();
    await until(() => rows(el).filter((r) => r.dataset.status === 'failed').length === 2, 5000, 'two failed');
    const select = () => el.shadowRoot!.querySelector<HTMLSelectElement>('[part="lane-filter"] select');
    await until(() => [...(select()?.options ?? [])].map((o) => o.value).join() === ',a,b', 5000, 'lanes offered');
    select()!.value = 'a';
    select()!.dispatchEvent(new Event('change'));
    await until(() => el.total === 1 && !!row(el, 'Create a') && !row(el, 'Create b'), 5000, 'lane a only');
    // Lane a empties (here discarded elsewhere; it could as well have been sent).
    expect(await t.client.discard(a!.id)).to.equal(true);
    await until(() => !!row(el, 'Create b'), 5000, "lane b's failure in view");
    await el.updateComplete;
    expect(row(el, 'Create b')!.dataset.status).to.equal('failed');
    expect(el.shadowRoot!.querySelector('[part="empty"]')).to.equal(null);
    // One lane left: no select, and no filter left that the user cannot see.
    await until(() => select() === null, 5000, 'the select gone');
    expect(el.total).to.equal(1);
  });

  it('forgets the lane chosen when the provider hands it another client (another user)', async () => {
    await t.offline();
    await t.client.enqueueMany([t.op('a', { lane: 'x' }), t.op('b', { lane: 'y' })]);
    const provider = await fixture<SyncProviderElement>(
      html`<sync-provider .client=${t.client}><sync-outbox></sync-outbox></sync-provider>`,
    );
    const el = provider.querySelector('sync-outbox')!;
    const select = () => el.shadowRoot!.querySelector<HTMLSelectElement>('[part="lane-filter"] select');
    await until(() => [...(select()?.options ?? [])].map((o) => o.value).join() === ',x,y', 5000, 'lanes offered');
    select()!.value = 'x';
    select()!.dispatchEvent(new Event('change'));
    await until(() => el.total === 1 && rows(el).length === 1, 5000, 'lane x only');
    const other = testClient('outbox-next');
    try {
      await other.offline();
      await other.client.enqueueMany([other.op('c', { lane: 'x' }), other.op('d', { lane: 'y' })]);
      provider.client = other.client;
      await until(() => el.total === 2 && rows(el).length === 2, 5000, "every lane of the new client's queue");
      await until(() => select()?.value === '', 5000, 'the select on all lanes');
    } finally {
      await other.dispose();
    }
  });

  it('says when Retry, "Retry all" or a discard fails, below the heading and through the announcer', async () => {
    await t.failWith(400);
    // Two lanes: a failed operation holds its lane, and both must fail.
    await t.client.enqueueMany([t.op('a', { lane: 'x' }), t.op('b', { lane: 'y' })]);
    const unavailable = () =>
      Promise.reject(new SynclineError(SynclineErrorCode.Unavailable, 'The sync engine cannot start here'));
    let discard: () => Promise<unknown> = async () => false;
    const client = refusingClient(t.client, { retry: unavailable, retryAll: unavailable, discard: () => discard() });
    const announcer = new PageAnnouncer({ delay: 50, clearAfter: 10_000 });
    const log = liveLog();
    try {
      const provider = await fixture(
        html`<sync-provider .client=${client} .announcer=${announcer}><sync-outbox></sync-outbox></sync-provider>`,
      );
      const el = provider.querySelector('sync-outbox')!;
      await until(() => rows(el).filter((r) => r.dataset.status === 'failed').length === 2, 5000, 'two failed');
      const shown = () => el.shadowRoot!.querySelector('[part="action-error"]')?.textContent ?? '';
      const said = (words: string) => until(() => log.said.some((s) => s.includes(words)), 5000, `"${words}" said`);

      inRow(el, 'Create a', '[part="retry"]')!.click();
      await until(() => shown() === 'Could not retry "Create a": The sync engine cannot start here', 5000, 'retry');
      await said('Could not retry "Create a": The sync engine cannot start here');

      el.shadowRoot!.querySelector<HTMLElement>('[part="retry-all"]')!.click();
      await until(() => shown() === 'Could not retry all: The sync engine cannot start here', 5000, 'retry all');
      await said('Could not retry all');

      // A discard the engine answers with false: the operation had left the queue meanwhile.
      inRow(el, 'Create a', '[part="discard"]')!.click();
      await el.updateComplete;
      inRow(el, 'Create a', '[part="confirm-discard"]')!.click();
      await until(() => shown() === '"Create a" was not discarded: it is no longer queued', 5000, 'discard refused');
      await said('"Create a" was not discarded');
      await until(
        () => inRow(el, 'Create a', '[part="discard"]')?.getAttribute('aria-disabled') === 'false',
        5000,
        'Discard applies again',
      );

      discard = unavailable;
      inRow(el, 'Create a', '[part="discard"]')!.click();
      await el.updateComplete;
      inRow(el, 'Create a', '[part="confirm-discard"]')!.click();
      await until(() => shown() === 'Could not discard "Create a": The sync engine cannot start here', 5000, 'discard');
      await said('Could not discard "Create a"');
      await expect(el).to.be.accessible();
    } finally {
      log.stop();
      announcer.dispose();
    }
  });

  it('treats a virtualize-after that is no number of 0 or more, or removed, as 50', async () => {
    await t.offline();
    await t.client.enqueueMany([t.op('a'), t.op('b')]);
    for (const value of ['abc', 'Infinity', '-3']) {
      const el = await mount(html`<sync-outbox virtualize-after=${value}></sync-outbox>`);
      await waitRow(el, 'Create b');
      expect(el.total, value).to.equal(2);
      expect(el.shadowRoot!.querySelector('.list.virtual'), value).to.equal(null);
    }
    const el = await mount(html`<sync-outbox virtualize-after="1"></sync-outbox>`);
    await until(() => !!el.shadowRoot!.querySelector('.list.virtual'), 5000, 'virtualized past 1');
    // Removed: back to 50, every row in the DOM (not null, which every length would exceed).
    el.removeAttribute('virtualize-after');
    await until(() => !el.shadowRoot!.querySelector('.list.virtual') && rows(el).length === 2, 5000, 'not virtual');
  });

  it('virtualizes past 999 rows whatever virtualize-after says: the engine serves at most 1000 at once', async function () {
    // Storing 1001 operations takes a while on a loaded machine: this test checks structure, not speed.
    this.timeout(120_000);
    await ignoringResizeObserverLoop(async () => {
      await t.offline();
      await t.client.enqueueMany(Array.from({ length: 1001 }, (_, i) => t.op(`n${i}`, { label: `Op ${i}` })));
      const el = await mount(html`<sync-outbox virtualize-after="5000"></sync-outbox>`);
      expect(el.total).to.equal(1001);
      await until(() => !!el.shadowRoot!.querySelector('.list.virtual'), 5000, 'virtualized');
      // The last row loads (in a list of 1001 rows from a window of 1000 it would stay a placeholder).
      const list = el.shadowRoot!.querySelector<HTMLElement>('[part="list"]')!;
      for (let i = 0; i < 20 && !row(el, 'Op 1000'); i++) {
        list.scrollTop = list.scrollHeight;
        await new Promise((r) => setTimeout(r, 150));
      }
      await until(() => !!row(el, 'Op 1000'), 5000, 'last row');
    });
  });

  it('takes overridden strings', async () => {
    await t.offline();
    await t.client.enqueue(t.op('a'));
    const el = await mount(
      html`<sync-outbox .strings=${{ retry: 'Nochmal', discard: 'Verwerfen', status: { pending: 'wartet' } }}></sync-outbox>`,
    );
    await waitRow(el, 'Create a');
    // The first attempt is under way for a moment before the cut connection makes it pending.
    await until(() => row(el, 'Create a')?.dataset.status === 'pending', 5000, 'pending');
    await el.updateComplete;
    expect(inRow(el, 'Create a', '[part="retry"]')!.textContent).to.equal('Nochmal');
    expect(inRow(el, 'Create a', '[part="discard"]')!.textContent).to.equal('Verwerfen');
    expect(inRow(el, 'Create a', '[part="status"]')!.textContent).to.equal('wartet');
    expect(el.shadowRoot!.querySelector('[part="retry-all"]')!.textContent).to.equal('Retry all');
  });

  it('lists Background Sync edits not yet pushed beside queued operations, with their state, as text', async () => {
    const tasks = t.client.collection<{ title: string }>(t.collection, { conflict: 'manual', pullIntervalMs: 0 });
    const provider = await fixture(
      html`<sync-provider .client=${t.client}><sync-outbox></sync-outbox><sync-outbox lane="x"></sync-outbox></sync-provider>`,
    );
    const [el, laneOutbox] = [...provider.querySelectorAll('sync-outbox')];
    const edits = () =>
      [...el!.shadowRoot!.querySelectorAll('[part="edit"]')].map((li) => li.textContent!.replace(/\s+/g, ' ').trim());
    await entityConflict(t, tasks, 'a', { title: 'base' }, { title: 'theirs' }, { title: 'mine' });
    await until(() => edits().join() === `${t.collection}/a conflict`, 10_000, 'the conflict listed');
    await t.offline();
    await tasks.put('b', { title: 'offline' });
    await t.client.enqueue(t.op('q'));
    await until(() => edits().length === 2 && el!.total === 1, 10_000, 'two edits and one operation');
    // Label and state (an attempt made before the engine saw the server go away may add its error).
    expect(edits().map((e) => e.split(' ').slice(0, 2).join(' '))).to.deep.equal([
      `${t.collection}/a conflict`,
      `${t.collection}/b pending`,
    ]);
    expect(el!.shadowRoot!.querySelector('[part="edits-heading"]')!.textContent).to.equal('Edits not yet pushed');
    expect(el!.shadowRoot!.querySelector('[part="edits-heading"]')!.getAttribute('aria-level')).to.equal('3');
    expect(laneOutbox!.shadowRoot!.querySelector('[part="edits"]')).to.equal(null);
    await expect(el!).to.be.accessible();
  });

  it('leaves no subscription open after removal', async () => {
    const counting = countingClient(t.client);
    const provider = await fixture(
      html`<sync-provider .client=${counting.client}><sync-outbox></sync-outbox></sync-provider>`,
    );
    const el = provider.querySelector('sync-outbox')!;
    await until(() => el.total !== undefined, 5000, 'window');
    // The window, the failed and conflict counts, the unpushed edits and the last sync time.
    expect(counting.active).to.equal(5);
    el.remove();
    expect(counting.active).to.equal(0);
  });

  it('lets the operation queued again under a discarded id be discarded in a long (virtualized) list', async function () {
    this.timeout(60_000);
    await ignoringResizeObserverLoop(async () => {
      await t.offline();
      const ops = await t.client.enqueueMany(
        Array.from({ length: 120 }, (_, i) => t.op(`n${i}`, { label: `Op ${i}` })),
      );
      const el = await mount();
      await until(() => rows(el).length > 0, 5000, 'first rows');
      const list = el.shadowRoot!.querySelector<HTMLElement>('[part="list"]')!;
      const toEnd = async (label: string) => {
        for (let i = 0; i < 20 && !row(el, label); i++) {
          list.scrollTop = list.scrollHeight;
          await new Promise((r) => setTimeout(r, 150));
        }
        await until(() => !!row(el, label), 5000, label);
      };
      // The last row discarded (the list is never seen whole, so the discarded one's leaving is not seen either).
      await toEnd('Op 119');
      inRow(el, 'Op 119', '[part="discard"]')!.click();
      await until(() => !!inRow(el, 'Op 119', '[part="confirm-discard"]'), 2000, 'confirmation');
      inRow(el, 'Op 119', '[part="confirm-discard"]')!.click();
      await until(() => el.total === 119, 5000, 'discarded');
      // The same id queued again: a new operation, whose Discard works.
      await t.client.enqueue({ ...t.op('n119', { label: 'Again' }), id: ops[119]!.id });
      await toEnd('Again');
      expect(inRow(el, 'Again', '[part="discard"]')!.getAttribute('aria-disabled')).to.equal('false');
      expect(inRow(el, 'Again', '[part="retry"]')?.getAttribute('aria-disabled') ?? 'false').to.equal('false');
    });
  });

  it('stays small with 10,000 operations and scrolls to the last', async function () {
    // Storing 10,000 operations takes seconds, many more on a loaded machine: this test checks structure, not speed.
    this.timeout(180_000);
    await ignoringResizeObserverLoop(async () => {
      await t.offline();
      await t.client.enqueueMany(Array.from({ length: 10_000 }, (_, i) => t.op(`n${i}`, { label: `Op ${i}` })));
      const el = await mount();
      expect(el.total).to.equal(10_000);
      await until(() => rows(el).length > 0, 5000, 'first rows');
      const items = () => el.shadowRoot!.querySelectorAll('[part~="item"]').length;
      expect(items()).to.be.greaterThan(0).and.lessThan(200);
      const list = el.shadowRoot!.querySelector<HTMLElement>('[part="list"]')!;
      // The virtualizer refines its size estimate as rows are measured: scroll again until the end stays put.
      for (let i = 0; i < 20 && !row(el, 'Op 9999'); i++) {
        list.scrollTop = list.scrollHeight;
        await new Promise((r) => setTimeout(r, 150));
      }
      await until(() => !!row(el, 'Op 9999'), 5000, 'last row');
      const last = row(el, 'Op 9999')!;
      const box = last.getBoundingClientRect();
      const view = list.getBoundingClientRect();
      expect(box.bottom).to.be.at.most(view.bottom + 1);
      expect(box.top).to.be.at.least(view.top - 1);
      expect(last.getAttribute('aria-posinset')).to.equal('10000');
      expect(items()).to.be.lessThan(200);
    });
  });
});
