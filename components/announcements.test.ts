// What the page says over time, through the real announcer and engine: enqueue bursts, slow drains, failures, connectivity, duplicates and silence (an element's and a provider's).
import { expect, fixture, html } from '@open-wc/testing';
import { BehaviorSubject } from 'rxjs';
import type { SyncClient, SyncStatus } from '../src/index.ts';
import { addFault, clearFaults } from '../test/support/server.ts';
import './define.ts';
import { PageAnnouncer, type Announcer, type SyncProviderElement } from './index.ts';
import { liveLog } from './test/a11y.ts';
import { fakeStatus, testClient, until, type TestClient } from './test/support.ts';

/** Short enough for quick tests, long enough that one burst of engine updates on a loaded machine stays one burst. */
const DELAY = 300;

describe('announcements', () => {
  let t: TestClient;
  let announcer: PageAnnouncer;
  let log: ReturnType<typeof liveLog>;
  beforeEach(() => {
    t = testClient('announce');
    announcer = new PageAnnouncer({ delay: DELAY, clearAfter: 10_000 });
    log = liveLog();
  });
  afterEach(async () => {
    log.stop();
    announcer.dispose();
    await t.dispose();
  });

  const mount = async (content: unknown) => {
    const provider = await fixture(
      html`<sync-provider .client=${t.client} .announcer=${announcer}>${content}</sync-provider>`,
    );
    const badges = [...provider.querySelectorAll('pending-badge')];
    const outbox = provider.querySelector('sync-outbox');
    await until(
      () => badges.every((b) => b.count !== undefined) && (!outbox || outbox.total !== undefined),
      5000,
      'first counts',
    );
    return provider;
  };
  const said = (text: string) => until(() => log.said.includes(text), 8000, `"${text}" said`);

  it('says an enqueue burst once, with the count it settled at', async () => {
    await t.offline();
    await mount(html`<pending-badge></pending-badge>`);
    await Promise.all([t.client.enqueue(t.op('a')), t.client.enqueue(t.op('b')), t.client.enqueue(t.op('c'))]);
    await said('3 changes not yet saved');
    expect(log.said).to.deep.equal(['3 changes not yet saved']);
  });

  it('says each change once with two badges and an outbox on the page, in one live region', async () => {
    await t.offline();
    await mount(
      html`<h1>Tasks <pending-badge></pending-badge></h1><pending-badge></pending-badge><sync-outbox></sync-outbox>`,
    );
    await t.client.enqueueMany([t.op('a'), t.op('b')]);
    await said('2 changes not yet saved');
    expect(log.said).to.deep.equal(['2 changes not yet saved']);
    const speaking = log.regions().filter((region) => region.textContent!.trim() !== '');
    expect(speaking).to.have.length(1);
  });

  it('does not count down a slow drain: only "All changes saved" at the end', async () => {
    await t.offline();
    await mount(html`<pending-badge></pending-badge>`);
    await t.client.enqueueMany([t.op('a'), t.op('b'), t.op('c')]);
    await said('3 changes not yet saved');
    // Each request takes longer than a burst, so every step of the drain would be its own burst.
    await clearFaults(`/api/${t.collection}`);
    await clearFaults(`/api/health/${t.collection}`);
    await addFault({ pathPrefix: `/api/${t.collection}`, latencyMs: DELAY * 2 });
    await t.client.syncNow();
    await said('All changes saved');
    expect(log.said).to.deep.equal(['3 changes not yet saved', 'All changes saved']);
  });

  it('says a change that fails, also when it goes from pending to failed without the count moving', async () => {
    await t.offline();
    const provider = await mount(html`<pending-badge></pending-badge>`);
    await t.client.enqueue(t.op('a'));
    await said('1 change not yet saved');
    await clearFaults(`/api/${t.collection}`);
    await clearFaults(`/api/health/${t.collection}`);
    await t.failWith(400);
    await t.client.syncNow();
    await until(() => provider.querySelector('pending-badge')!.state === 'failed', 8000, 'failed');
    await said('1 change failed to save');
    expect(log.said).to.deep.equal(['1 change not yet saved', '1 change failed to save']);
  });

  it('says a change refused at once as failed, not as pending', async () => {
    await t.failWith(400);
    await mount(html`<pending-badge></pending-badge>`);
    await t.client.enqueue(t.op('a'));
    await said('1 change failed to save');
    expect(log.said).to.deep.equal(['1 change failed to save']);
  });

  it('has the outbox say new errors, also a retry that fails again, and the list emptying', async () => {
    await t.failWith(400);
    const provider = await mount(html`<sync-outbox></sync-outbox>`);
    const [op] = await t.client.enqueueMany([t.op('a')]);
    await said('1 change failed to save');
    const outbox = provider.querySelector('sync-outbox')!;
    const attempts = () => outbox.shadowRoot!.querySelector('[part="attempts"]')?.textContent;
    await t.client.retry(op!.id);
    await until(() => attempts() === '2 attempts', 8000, 'second attempt');
    await until(() => log.said.length === 2, 8000, 'second announcement');
    expect(log.said).to.deep.equal(['1 change failed to save', '1 change failed to save']);
    // Discarded, not saved: the list emptying without a sync says so.
    await t.client.discard(op!.id);
    await said('No unsent changes');
    expect(log.said).not.to.include('All changes saved');
  });

  it('has the badge say a discard or a clear emptied the queue, not that the changes were saved', async () => {
    await t.offline();
    await mount(html`<pending-badge></pending-badge>`);
    const [op] = await t.client.enqueueMany([t.op('a')]);
    await said('1 change not yet saved');
    await t.client.discard(op!.id);
    await said('No unsent changes');
    await t.client.enqueue(t.op('b'));
    await until(() => log.said.filter((s) => s === '1 change not yet saved').length === 2, 8000, 'b said');
    await t.client.clear({ discardUnsent: true });
    await until(() => log.said.filter((s) => s === 'No unsent changes').length === 2, 8000, 'the clear said');
    expect(log.said).not.to.include('All changes saved');
  });

  it('says connectivity going offline, coming back and waiting for sign-in, but not a blip within one burst', async () => {
    const status$ = new BehaviorSubject<SyncStatus>(fakeStatus());
    const set = (next: Partial<SyncStatus>) => status$.next({ ...status$.value, ...next });
    const client = { status$: status$.asObservable(), syncNow: async () => {} } as unknown as SyncClient;
    const provider = await fixture(
      html`<sync-provider .client=${client} .announcer=${announcer}><sync-status></sync-status></sync-provider>`,
    );
    await until(() => provider.querySelector('sync-status')!.status !== undefined, 5000, 'status');
    set({ connectivity: 'offline' });
    await said('Offline: changes are kept on this device');
    set({ connectivity: 'online', counts: { pending: 2, sending: 0, failed: 0, conflict: 0 } });
    await said('Back online: sending 2 changes');
    // Offline and back before the burst settles: nothing changed for the user.
    set({ connectivity: 'offline' });
    set({ connectivity: 'degraded' });
    set({ paused: 'auth' });
    await said('Waiting for sign-in: changes are kept on this device');
    expect(log.said).to.deep.equal([
      'Offline: changes are kept on this device',
      'Back online: sending 2 changes',
      'Waiting for sign-in: changes are kept on this device',
    ]);
  });
});

describe('silent', () => {
  const t = testClient('silent');
  after(() => t.dispose());

  it('stops an element from reporting anything, and un-silencing does not replay what happened meanwhile', async () => {
    const calls: string[] = [];
    const recorder: Announcer = {
      announce: (_source, message) => void calls.push(typeof message === 'function' ? message() : message),
      cancel: () => {},
    };
    await t.offline();
    const provider = await fixture(html`<sync-provider .client=${t.client} .announcer=${recorder}>
      <pending-badge silent></pending-badge><sync-outbox silent></sync-outbox><sync-status silent></sync-status>
    </sync-provider>`);
    const badge = provider.querySelector('pending-badge')!;
    const outbox = provider.querySelector('sync-outbox')!;
    expect(badge.silent && outbox.silent && provider.querySelector('sync-status')!.silent).to.equal(true);
    await until(() => badge.count === 0 && outbox.total === 0, 5000, 'first counts');
    await t.client.enqueueMany([t.op('a'), t.op('b')]);
    await until(() => badge.count === 2 && outbox.total === 2, 5000, 'count 2');
    await until(() => provider.querySelector('sync-status')!.state === 'offline', 8000, 'offline');
    expect(calls).to.deep.equal([]);
    badge.silent = false;
    await badge.updateComplete;
    await t.client.enqueue(t.op('c'));
    await until(() => calls.includes('3 changes not yet saved'), 5000, 'speaks again');
    expect(calls.filter(Boolean)).to.deep.equal(['3 changes not yet saved']);
  });

  it('silences every element below <sync-provider silent> as its own silent would: un-silenced, it does not catch up', async () => {
    const t2 = testClient('silent-provider');
    const announcer = new PageAnnouncer({ delay: DELAY, clearAfter: 10_000 });
    const log = liveLog();
    try {
      await t2.failWith(400);
      const provider = await fixture<SyncProviderElement>(
        html`<sync-provider silent .client=${t2.client} .announcer=${announcer}><pending-badge></pending-badge></sync-provider>`,
      );
      const badge = provider.querySelector('pending-badge')!;
      await until(() => badge.count === 0, 5000, 'first counts');
      // While the provider is silent, a change fails: the page hears nothing of it.
      await t2.client.enqueue(t2.op('a', { lane: 'x' }));
      await until(() => badge.state === 'failed', 8000, 'failed');
      await clearFaults(`/api/${t2.collection}`);
      await t2.offline();
      provider.silent = false;
      await provider.updateComplete;
      // Un-silenced, a new change is news; the failure from before is not.
      await t2.client.enqueue(t2.op('b', { lane: 'y' }));
      await until(() => log.said.length > 0, 8000, 'something said');
      expect(log.said).to.deep.equal(['2 changes not yet saved']);
    } finally {
      log.stop();
      announcer.dispose();
      await t2.dispose();
    }
  });
});
