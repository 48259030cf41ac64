// What the page says over time, through the real announcer and engine: enqueue bursts, slow drains, failures, connectivity and duplicates.
import { expect, fixture, html } from '@open-wc/testing';
import { BehaviorSubject } from 'rxjs';
import type { SyncClient, SyncStatus } from '../src/index.ts';
import { addFault, clearFaults } from '../test/support/server.ts';
import './define.ts';
import { PageAnnouncer } from './index.ts';
import { liveLog } from './test/a11y.ts';
import { testClient, until, type TestClient } from './test/support.ts';

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
    const provider = await fixture(html`<sync-provider .client=${t.client} .announcer=${announcer}>${content}</sync-provider>`);
    const badges = [...provider.querySelectorAll('pending-badge')];
    const outbox = provider.querySelector('sync-outbox');
    await until(() => badges.every((b) => b.count !== undefined) && (!outbox || outbox.total !== undefined), 5000, 'first counts');
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
    await mount(html`<h1>Tasks <pending-badge></pending-badge></h1><pending-badge></pending-badge><sync-outbox></sync-outbox>`);
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

  it('says connectivity going offline, coming back and waiting for sign-in, but not a blip within one burst', async () => {
    const status$ = new BehaviorSubject<SyncStatus>({
      connectivity: 'online', syncing: false, paused: null, counts: { pending: 0, sending: 0, failed: 0, conflict: 0 },
      lastSyncAt: null, storage: 'ok', clients: 1, runtime: 'in-page', hostedHere: true, continuesAfterClose: false, connected: true,
      engineError: null, entities: { dirty: 0, conflicts: 0 }, updateRequired: false, unavailable: null,
    });
    const set = (next: Partial<SyncStatus>) => status$.next({ ...status$.value, ...next });
    const client = { status$: status$.asObservable(), syncNow: async () => {} } as unknown as SyncClient;
    const provider = await fixture(html`<sync-provider .client=${client} .announcer=${announcer}><sync-status></sync-status></sync-provider>`);
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
    expect(log.said).to.deep.equal(['Offline: changes are kept on this device', 'Back online: sending 2 changes', 'Waiting for sign-in: changes are kept on this device']);
  });
});
