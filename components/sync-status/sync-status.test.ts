// <sync-status>: each state from a real engine and from a scripted status (unavailable, update required, stopped too), the honest runtime copy, sync now, its failure and its focus, warn-on-unload, leaks.
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import { BehaviorSubject } from 'rxjs';
import {
  createSyncClient,
  SynclineError,
  SynclineErrorCode,
  type SyncClient,
  type SyncStatus,
} from '../../src/index.ts';
import { deleteSynclineDB } from '../../src/testing.ts';
import { uniqueName } from '../../test/support/server.ts';
import '../define.ts';
import { PageAnnouncer, SyncNowEvent, SyncReloadEvent, SyncStatusElement } from '../index.ts';
import { expectFocusOn, liveLog } from '../test/a11y.ts';
import { countingClient, fakeStatus, shadowText, testClient, until, type TestClient } from '../test/support.ts';
import { leaveNewerDatabase } from '../../test/support/databases.ts';

const baseStatus: SyncStatus = fakeStatus({ runtime: 'shared-worker', hostedHere: false });

/** A client that only has a scripted status$ and records syncNow calls: every state on demand. */
function scriptedClient(status: Partial<SyncStatus> = {}) {
  const status$ = new BehaviorSubject<SyncStatus>({ ...baseStatus, ...status });
  let syncs = 0;
  const client = { status$: status$.asObservable(), syncNow: async () => void syncs++ } as unknown as SyncClient;
  return {
    client,
    set: (next: Partial<SyncStatus>) => status$.next({ ...status$.value, ...next }),
    get syncs() {
      return syncs;
    },
  };
}

async function mountWith(client: SyncClient, warnOnUnload = false) {
  const provider = await fixture(
    html`<sync-provider .client=${client}><sync-status ?warn-on-unload=${warnOnUnload}></sync-status></sync-provider>`,
  );
  const el = provider.querySelector('sync-status')!;
  await until(() => el.status !== undefined, 5000, 'status');
  await el.updateComplete;
  return el;
}

const part = (el: SyncStatusElement, name: string) => el.shadowRoot!.querySelector<HTMLElement>(`[part="${name}"]`);

describe('<sync-status> with an engine', () => {
  let t: TestClient;
  beforeEach(() => {
    t = testClient('status');
  });
  afterEach(() => t.dispose());

  it('is defined by the define module', () => {
    expect(customElements.get('sync-status')).to.equal(SyncStatusElement);
  });

  it('says online, never synced, and that changes are sent while the tab is open (in-page)', async () => {
    const el = await mountWith(t.client);
    await until(() => el.state === 'online', 5000, 'online');
    await el.updateComplete;
    expect(part(el, 'state')!.textContent).to.equal('Online');
    expect(part(el, 'last-sync')!.textContent).to.equal('Not synced yet');
    expect(part(el, 'runtime')!.textContent).to.equal(
      'Changes are saved on this device and are sent while this app is open in a tab.',
    );
    expect(part(el, 'sync-now')).to.equal(null);
    await expect(el).to.be.accessible();
  });

  it('says offline with the unsent count, and "last synced just now" after a send', async () => {
    const el = await mountWith(t.client);
    await t.client.enqueue(t.op('a'));
    await until(() => el.status?.lastSyncAt !== null && el.status?.lastSyncAt !== undefined, 5000, 'synced');
    await el.updateComplete;
    expect(part(el, 'last-sync')!.textContent).to.equal('Last synced just now');
    await t.offline();
    await t.client.enqueue(t.op('b'));
    await until(() => el.state === 'offline', 5000, 'offline');
    await until(() => part(el, 'unsent')?.textContent === '1 change not yet sent', 5000, 'unsent');
    expect(part(el, 'state')!.textContent).to.equal('Offline');
    await expect(el).to.be.accessible();
  });

  it('says it waits for sign-in after a 401', async () => {
    await t.failWith(401);
    const el = await mountWith(t.client);
    await t.client.enqueue(t.op('a'));
    await until(() => el.state === 'paused', 5000, 'paused');
    await el.updateComplete;
    expect(part(el, 'state')!.textContent).to.equal('Waiting for sign-in');
  });

  it("says sync cannot run on this device when the engine cannot start, with the engine's reason", async () => {
    // The engine's database cannot be opened in this page (as without IndexedDB): the real engine fails to start.
    const namespace = uniqueName('el-status-broken');
    const idb = indexedDB as IDBFactory & { open: IDBFactory['open'] };
    idb.open = () => {
      throw new DOMException('IndexedDB is switched off for this test', 'InvalidStateError');
    };
    const client = createSyncClient({ endpoint: '/api', namespace, mode: 'in-page' });
    try {
      const provider = await fixture(
        html`<sync-provider .client=${client}><sync-status></sync-status></sync-provider>`,
      );
      const el = provider.querySelector('sync-status')!;
      await until(() => el.state === 'unavailable', 10_000, 'unavailable');
      await el.updateComplete;
      expect(part(el, 'state')!.textContent).to.equal('Sync cannot run on this device');
      expect(part(el, 'reason')!.textContent).to.contain('IndexedDB is switched off for this test');
      // Nothing to send from here, and no claim about what keeps sending.
      expect(part(el, 'sync-now')).to.equal(null);
      expect(part(el, 'runtime')).to.equal(null);
      await expect(el).to.be.accessible();
    } finally {
      delete (idb as Partial<typeof idb>).open;
      client.close();
      await deleteSynclineDB(namespace);
    }
  });

  it('says an update is required, with a Reload button (sync-reload, cancelable), and the badge stops claiming a live count', async () => {
    // A database left by a newer version of syncline: this page's code must not touch it, and must reload.
    const namespace = uniqueName('el-status-newer');
    await leaveNewerDatabase(namespace);
    const client = createSyncClient({ endpoint: '/api', namespace, mode: 'in-page' });
    try {
      const provider = await fixture(
        html`<sync-provider .client=${client}><sync-status></sync-status><pending-badge show-zero></pending-badge></sync-provider>`,
      );
      const el = provider.querySelector('sync-status')!;
      const badge = provider.querySelector('pending-badge')!;
      await until(() => el.state === 'update-required', 10_000, 'update-required');
      await el.updateComplete;
      expect(el.getAttribute('state')).to.equal('update-required');
      expect(part(el, 'state')!.textContent).to.equal(
        'A new version of this app is available: reload the page to keep syncing',
      );
      const reload = part(el, 'reload')!;
      expect(reload.textContent).to.equal('Reload');
      // Prevented, or the test page itself would reload.
      el.addEventListener(SyncReloadEvent.type, (event) => event.preventDefault(), { once: true });
      setTimeout(() => reload.click());
      const event = (await oneEvent(el, SyncReloadEvent.type)) as unknown as SyncReloadEvent;
      expect(event.cancelable && event.bubbles && event.composed).to.equal(true);
      expect(part(el, 'sync-now')).to.equal(null);
      await expect(el).to.be.accessible();
      // The badge's live queries ended with the engine: it says so instead of a count that no longer moves.
      await until(() => !!badge.shadowRoot!.querySelector('[part~="ended"]'), 5000, 'badge ended');
      expect(badge.shadowRoot!.querySelector('[part~="ended"]')!.textContent).to.equal('Sync stopped: reload the page');
    } finally {
      client.close();
      await deleteSynclineDB(namespace);
    }
  });

  it('says sync stopped once its client has closed, rather than "Connecting…" for ever', async () => {
    const el = await mountWith(t.client);
    await until(() => el.state === 'online', 5000, 'online');
    t.client.close();
    await until(() => el.state === 'stopped', 5000, 'stopped');
    await el.updateComplete;
    expect(part(el, 'state')!.textContent).to.equal('Sync stopped: reload the page');
    expect(part(el, 'reload')).to.exist;
    expect(part(el, 'runtime')).to.equal(null);
  });

  it('leaves no subscription open after removal', async () => {
    const counting = countingClient(t.client);
    const el = await mountWith(counting.client);
    expect(counting.active).to.equal(1);
    el.remove();
    expect(counting.active).to.equal(0);
  });
});

describe('<sync-status> states', () => {
  it('shows syncing, degraded and connecting', async () => {
    const s = scriptedClient({ syncing: true });
    const el = await mountWith(s.client);
    expect(el.state).to.equal('syncing');
    expect(part(el, 'state')!.textContent).to.equal('Syncing…');
    s.set({ syncing: false, connectivity: 'degraded' });
    await el.updateComplete;
    expect(el.getAttribute('state')).to.equal('degraded');
    expect(part(el, 'state')!.textContent).to.equal('Connection unstable');
    s.set({ connected: false });
    await el.updateComplete;
    expect(el.getAttribute('state')).to.equal('connecting');
  });

  it('says what is unsent: queued changes, unpushed edits and conflicts that need a decision', async () => {
    const scripted = scriptedClient({
      counts: { pending: 3, sending: 0, failed: 0, conflict: 0 },
      entities: { dirty: 3, conflicts: 1, failed: 0 },
    });
    const el = await mountWith(scripted.client);
    expect(part(el, 'unsent')!.textContent).to.equal('3 changes and 2 edits not yet sent');
    expect(part(el, 'conflicts')!.textContent).to.equal('1 conflict needs your decision');
    scripted.set({
      counts: { pending: 0, sending: 0, failed: 0, conflict: 0 },
      entities: { dirty: 2, conflicts: 0, failed: 0 },
    });
    await el.updateComplete;
    expect(part(el, 'unsent')!.textContent).to.equal('2 edits not yet sent');
    expect(part(el, 'conflicts')).to.equal(null);
    expect(part(el, 'sync-now')).to.exist;
    // Edits are pushed only while a tab is open, like queued changes.
    expect(el.unloadWouldStrandChanges).to.equal(true);
    scripted.set({ entities: { dirty: 2, conflicts: 2, failed: 0 } });
    await el.updateComplete;
    expect(part(el, 'unsent')).to.equal(null);
    expect(part(el, 'conflicts')!.textContent).to.equal('2 conflicts need your decision');
    await expect(el).to.be.accessible();
  });

  it('says refused changes apart from unsent ones: sent and refused is not "not yet sent"', async () => {
    const scripted = scriptedClient({ counts: { pending: 1, sending: 0, failed: 2, conflict: 1 } });
    const el = await mountWith(scripted.client);
    expect(part(el, 'unsent')!.textContent).to.equal('1 change not yet sent');
    expect(part(el, 'failed')!.textContent).to.equal('2 changes failed to save');
    // A queued change in conflict waits for a decision like an edit's conflict.
    expect(part(el, 'conflicts')!.textContent).to.equal('1 conflict needs your decision');
    scripted.set({ counts: { pending: 0, sending: 0, failed: 2, conflict: 0 } });
    await el.updateComplete;
    expect(part(el, 'unsent')).to.equal(null);
    expect(part(el, 'failed')!.textContent).to.equal('2 changes failed to save');
    // Nothing the engine would send by itself: "Sync now" has nothing to send.
    expect(part(el, 'sync-now')).to.equal(null);
    // An edit the server refused is no unsent edit either: it joins the refused changes.
    scripted.set({ entities: { dirty: 2, conflicts: 0, failed: 1 } });
    await el.updateComplete;
    expect(part(el, 'unsent')!.textContent).to.equal('1 edit not yet sent');
    expect(part(el, 'failed')!.textContent).to.equal('3 changes failed to save');
  });

  it("shows the engine's last error until a sync succeeds after it", async () => {
    const s = scriptedClient({ lastSyncAt: 1_000, engineError: { message: 'A drain step failed', at: 2_000 } });
    const el = await mountWith(s.client);
    expect(part(el, 'engine-error')!.textContent).to.equal('Sync problem: A drain step failed');
    s.set({ lastSyncAt: 3_000 });
    await el.updateComplete;
    expect(part(el, 'engine-error')).to.equal(null);
  });

  it('announces back online with the changes it sends, not the ones the server refused', async () => {
    const announcer = new PageAnnouncer({ delay: 50, clearAfter: 10_000 });
    const log = liveLog();
    try {
      const s = scriptedClient({ connectivity: 'offline', counts: { pending: 2, sending: 0, failed: 3, conflict: 1 } });
      const provider = await fixture(
        html`<sync-provider .client=${s.client} .announcer=${announcer}><sync-status></sync-status></sync-provider>`,
      );
      const el = provider.querySelector('sync-status')!;
      await until(() => el.state === 'offline', 5000, 'offline');
      s.set({ connectivity: 'online' });
      await until(() => log.said.some((t) => t.includes('Back online')), 5000, 'back online said');
      expect(log.said.join(' ')).to.contain('Back online: sending 2 changes');
    } finally {
      log.stop();
      announcer.dispose();
    }
  });

  it('announces that sync became unavailable, or that an update is required', async () => {
    const announcer = new PageAnnouncer({ delay: 50, clearAfter: 10_000 });
    const log = liveLog();
    try {
      const s = scriptedClient();
      const provider = await fixture(
        html`<sync-provider .client=${s.client} .announcer=${announcer}><sync-status></sync-status></sync-provider>`,
      );
      const el = provider.querySelector('sync-status')!;
      await until(() => el.state === 'online', 5000, 'online');
      s.set({ connected: false, unavailable: 'The database could not be opened' });
      await until(() => log.said.includes('Sync cannot run on this device'), 5000, 'unavailable said');
      s.set({ connected: false, unavailable: null, updateRequired: true });
      await until(
        () => log.said.includes('A new version of this app is available: reload the page to keep syncing'),
        5000,
        'update required said',
      );
    } finally {
      log.stop();
      announcer.dispose();
    }
  });

  it('says when "Sync now" fails, and announces it', async () => {
    const status$ = new BehaviorSubject<SyncStatus>({ ...baseStatus, connectivity: 'offline' });
    const client = {
      status$: status$.asObservable(),
      syncNow: () => Promise.reject(new SynclineError(SynclineErrorCode.Closed, 'The sync client is closed.')),
    } as unknown as SyncClient;
    const announcer = new PageAnnouncer({ delay: 50, clearAfter: 10_000 });
    const log = liveLog();
    try {
      const provider = await fixture(
        html`<sync-provider .client=${client} .announcer=${announcer}><sync-status></sync-status></sync-provider>`,
      );
      const el = provider.querySelector('sync-status')!;
      await until(() => el.status !== undefined, 5000, 'status');
      await el.updateComplete;
      part(el, 'sync-now')!.click();
      await until(
        () => part(el, 'action-error')?.textContent === 'Could not sync now: The sync client is closed.',
        5000,
        'failure shown',
      );
      await until(() => log.said.includes('Could not sync now: The sync client is closed'), 5000, 'failure said');
      await expect(el).to.be.accessible();
    } finally {
      log.stop();
      announcer.dispose();
    }
  });

  it('warns when storage is full and says other tabs keep sending when they do', async () => {
    const s = scriptedClient({
      storage: 'quota-exceeded',
      continuesAfterClose: true,
      clients: 2,
      lastSyncAt: Date.now() - 125_000,
    });
    const el = await mountWith(s.client);
    expect(part(el, 'warning')!.textContent).to.equal('Storage is full: new changes may not be saved on this device.');
    // Said through the page's one live region (and silenced with it), not a region of its own.
    expect(part(el, 'warning')!.getAttribute('role')).to.equal(null);
    expect(part(el, 'runtime')!.textContent).to.equal('Other open tabs keep sending your changes.');
    expect(part(el, 'last-sync')!.textContent).to.equal('Last synced 2 minutes ago');
    await expect(el).to.be.accessible();
  });

  it('fires a cancelable sync-now from the keyboard, then calls syncNow unless prevented', async () => {
    const s = scriptedClient({ connectivity: 'offline', counts: { pending: 2, sending: 0, failed: 0, conflict: 0 } });
    const el = await mountWith(s.client);
    const button = part(el, 'sync-now') as HTMLButtonElement;
    expect(button.textContent).to.equal('Sync now');
    button.focus();
    setTimeout(() => void sendKeys({ press: 'Enter' }));
    const event = (await oneEvent(el, SyncNowEvent.type)) as unknown as SyncNowEvent;
    expect(event).to.be.instanceOf(SyncNowEvent);
    expect(event.cancelable && event.bubbles && event.composed).to.equal(true);
    await until(() => s.syncs === 1, 2000, 'syncNow');
    el.addEventListener('sync-now', (e) => e.preventDefault(), { once: true });
    // ' ' rather than 'Space': the key value every engine's driver knows (WebDriver BiDi has no 'Space').
    await sendKeys({ press: ' ' });
    await new Promise((r) => setTimeout(r, 50));
    expect(s.syncs).to.equal(1);
  });

  it('moves focus to the state words when "Sync now" goes away under it (everything sent)', async () => {
    const s = scriptedClient({ connectivity: 'offline', counts: { pending: 2, sending: 0, failed: 0, conflict: 0 } });
    const el = await mountWith(s.client);
    part(el, 'sync-now')!.focus();
    await sendKeys({ press: 'Enter' });
    await until(() => s.syncs === 1, 2000, 'syncNow');
    s.set({ connectivity: 'online', syncing: true, counts: { pending: 0, sending: 2, failed: 0, conflict: 0 } });
    await el.updateComplete;
    expectFocusOn(part(el, 'sync-now'));
    s.set({ syncing: false, counts: { pending: 0, sending: 0, failed: 0, conflict: 0 }, lastSyncAt: Date.now() });
    await el.updateComplete;
    expect(part(el, 'sync-now')).to.equal(null);
    expectFocusOn(part(el, 'state'));
    expect(part(el, 'state')!.textContent).to.equal('Online');
    await expect(el).to.be.accessible();
  });

  it('asks before unload only while unsent changes would stop being sent', async () => {
    const unload = () => {
      const event = new Event('beforeunload', { cancelable: true });
      window.dispatchEvent(event);
      return event.defaultPrevented;
    };
    const s = scriptedClient({ counts: { pending: 1, sending: 0, failed: 0, conflict: 0 } });
    const el = await mountWith(s.client, true);
    expect(el.warnOnUnload).to.equal(true);
    expect(unload()).to.equal(true);
    s.set({ continuesAfterClose: true });
    expect(unload()).to.equal(false);
    s.set({ continuesAfterClose: false, counts: { pending: 0, sending: 0, failed: 0, conflict: 0 } });
    expect(unload()).to.equal(false);
    s.set({ counts: { pending: 0, sending: 0, failed: 1, conflict: 0 } });
    expect(unload()).to.equal(true);
    el.warnOnUnload = false;
    await el.updateComplete;
    expect(unload()).to.equal(false);
    el.warnOnUnload = true;
    await el.updateComplete;
    expect(unload()).to.equal(true);
    el.remove();
    expect(unload()).to.equal(false);
  });

  it('takes overridden strings', async () => {
    const s = scriptedClient();
    const el = await mountWith(s.client);
    el.strings = {
      online: 'En ligne',
      neverSynced: 'Jamais synchronisé',
      sentWhileOpen: 'Envoyé tant que l’onglet est ouvert.',
    };
    await el.updateComplete;
    expect(shadowText(el)).to.equal('En ligne Jamais synchronisé Envoyé tant que l’onglet est ouvert.');
  });
});
