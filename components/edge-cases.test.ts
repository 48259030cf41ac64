// The elements at their edges: nested providers, strings left undefined, a client replaced under focus, a marker moved, empty labels, failures in one burst.
import { expect, fixture, html } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import { BehaviorSubject, NEVER } from 'rxjs';
import type { Conflict, DirtyEntity, Operation, SyncClient, SyncStatus } from '../src/index.ts';
import './define.ts';
import {
  PageAnnouncer,
  documentAnnouncer,
  registerStrings,
  type Announcer,
  type PendingMarkerElement,
  type SyncProviderElement,
  type SyncStatusElement,
} from './index.ts';
import { deepActiveElement, liveLog } from './test/a11y.ts';
import { fakeConflict, fakeOperation, fakeStatus, frame, refusingClient, testClient, until } from './test/support.ts';

const conflict = fakeConflict;

/** A client with only what <conflict-resolver> reads. */
function conflictClient(initial: Conflict[]) {
  const list = new BehaviorSubject<Conflict[]>(initial);
  const client = { conflicts$: list.asObservable() } as unknown as SyncClient;
  return { client, list };
}

/** An announcer that records what it is asked to say (evaluating the words as a burst would). */
function recorder(): { announcer: Announcer; said: string[] } {
  const said: string[] = [];
  return {
    said,
    announcer: {
      announce: (_source, message) => {
        const words = typeof message === 'function' ? message() : message;
        if (words) said.push(words);
      },
      cancel: () => {},
    },
  };
}

/** Records what the page's shared announcer is asked to say, until `stop()`. */
function spyOnDocumentAnnouncer(): { said: string[]; stop(): void } {
  const shared = documentAnnouncer(document);
  const original = shared.announce;
  const said: string[] = [];
  shared.announce = (_source, message) => {
    const words = typeof message === 'function' ? message() : message;
    if (words) said.push(words);
  };
  return { said, stop: () => (shared.announce = original) };
}

const operation = fakeOperation;

/** A client with only what <pending-marker> reads. */
function markerClient(ops: Operation[], edits: DirtyEntity[] = []): SyncClient {
  // Live streams (a completed one means the client has closed).
  const list = new BehaviorSubject(ops);
  return {
    watchOperations: () => list.asObservable(),
    dirtyEntities$: new BehaviorSubject(edits).asObservable(),
  } as unknown as SyncClient;
}

/** A stand-in client with the streams <sync-status> reads: a status with `pending` unsent changes. */
function unloadClient(pending = 0): SyncClient {
  return {
    status$: new BehaviorSubject(fakeStatus({ counts: { pending, sending: 0, failed: 0, conflict: 0 } })),
  } as unknown as SyncClient;
}

describe('elements at their edges', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  /** A resolver under an inner provider under an outer one (`outer`: its silent and announcer), once a second conflict shows. */
  async function nestedResolverAfterSecondConflict(outer: { silent?: boolean; announcer?: Announcer }) {
    const fake = conflictClient([conflict('a')]);
    const root = await fixture<SyncProviderElement>(
      html`<sync-provider ?silent=${!!outer.silent} .announcer=${outer.announcer} .client=${fake.client}
        ><section><sync-provider .client=${fake.client}><conflict-resolver></conflict-resolver></sync-provider></section
      ></sync-provider>`,
    );
    const el = root.querySelector('conflict-resolver')!;
    await until(() => el.conflicts?.length === 1, 2000, 'first list');
    fake.list.next([...fake.list.value, conflict('b')]);
    await until(() => el.conflicts?.length === 2, 2000, 'second conflict');
    await el.updateComplete;
  }

  it('silences the elements below an inner <sync-provider> when an outer one is silent', async () => {
    const spy = spyOnDocumentAnnouncer();
    try {
      await nestedResolverAfterSecondConflict({ silent: true });
      // README: "<sync-provider silent> silences every element below it, as their own silent does".
      expect(spy.said, 'an element below a silent provider announced').to.deep.equal([]);
    } finally {
      spy.stop();
    }
  });

  it('speaks through the announcer handed to an outer <sync-provider> from below an inner one', async () => {
    const spy = spyOnDocumentAnnouncer();
    const own = recorder();
    try {
      await nestedResolverAfterSecondConflict({ announcer: own.announcer });
      expect(spy.said, 'said through the page announcer instead').to.deep.equal([]);
      expect(own.said).to.deep.equal(['2 conflicts need your decision']);
    } finally {
      spy.stop();
    }
  });

  it('falls back to English for a string left undefined in a table ("Sync now" keeps its name)', async () => {
    const messages: Record<string, string> = { online: 'En ligne' }; // a catalog that lacks "syncNow"
    registerStrings('zz-review', { online: messages.online, syncNow: messages.syncNow });
    const status = new BehaviorSubject<SyncStatus>(
      fakeStatus({ counts: { pending: 2, sending: 0, failed: 0, conflict: 0 } }),
    );
    const client = { status$: status.asObservable() } as unknown as SyncClient;
    const host = await fixture(
      html`<div lang="zz-review"><sync-provider .client=${client}><sync-status></sync-status></sync-provider></div>`,
    );
    const el = host.querySelector<SyncStatusElement>('sync-status')!;
    await until(() => !!el.shadowRoot!.querySelector('[part="sync-now"]'), 2000, 'Sync now');
    expect(el.shadowRoot!.querySelector('[part="state"]')!.textContent).to.equal('En ligne');
    // README: "a partial table falls back to its base language (pt under pt-BR), then English".
    expect(el.shadowRoot!.querySelector('[part="sync-now"]')!.textContent!.trim()).to.equal('Sync now');
  });

  it('<sync-status> keeps focus off <body> when the provided client is replaced while "Sync now" has focus', async () => {
    const first = {
      status$: new BehaviorSubject(
        fakeStatus({ counts: { pending: 2, sending: 0, failed: 0, conflict: 0 } }),
      ).asObservable(),
    } as unknown as SyncClient;
    // The next user's client, whose engine has not answered yet.
    const second = { status$: NEVER } as unknown as SyncClient;
    const provider = await fixture<SyncProviderElement>(
      html`<sync-provider .client=${first}><sync-status></sync-status></sync-provider>`,
    );
    const el = provider.querySelector('sync-status')!;
    await until(() => !!el.shadowRoot!.querySelector('[part="sync-now"]'), 2000, 'Sync now');
    el.shadowRoot!.querySelector<HTMLElement>('[part="sync-now"]')!.focus();
    expect(deepActiveElement()!.getAttribute('part')).to.equal('sync-now');
    provider.client = second;
    await provider.updateComplete;
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[part="sync-now"]')).to.equal(null);
    // README: "focus never falls to <body> ... when "Sync now" goes away focus moves to <sync-status>'s state words".
    expect(document.activeElement, 'focus fell to <body>').to.not.equal(document.body);
    expect(deepActiveElement()!.getAttribute('part')).to.equal('state');
  });

  it('a hovered <pending-marker> moved in the DOM hides its details, and Escape works once it is hovered again', async () => {
    const client = markerClient([
      operation({ status: 'failed', lastError: { kind: 'http', status: 400, message: 'Refused' } }),
    ]);
    const provider = await fixture<SyncProviderElement>(
      html`<sync-provider .client=${client}><ul><li>A <pending-marker entity="tasks/42"></pending-marker></li><li>B</li></ul></sync-provider>`,
    );
    const el = provider.querySelector<PendingMarkerElement>('pending-marker')!;
    const details = () => el.shadowRoot!.querySelector<HTMLElement>('[part="details"]')!;
    const shown = () => details().classList.contains('shown');
    await until(() => el.state === 'failed', 2000, 'failed');
    el.dispatchEvent(new PointerEvent('pointerenter'));
    await el.updateComplete;
    expect(shown()).to.equal(true);
    // The list re-sorts: the row (and its marker) moves; no pointerleave reaches a node being moved.
    provider.querySelectorAll('li')[1]!.append(el);
    await el.updateComplete;
    await sendKeys({ press: 'Escape' });
    await el.updateComplete;
    // README: "the change's label and error ... show beside it on focus or hover (Escape hides them)".
    expect(shown(), 'Escape did not hide the details after the move').to.equal(false);
  });

  it('a hovered <pending-marker> moved into an iframe listens for Escape there, not on the page it left', async () => {
    const client = markerClient([
      operation({ status: 'failed', lastError: { kind: 'http', status: 400, message: 'Refused' } }),
    ]);
    const provider = await fixture<SyncProviderElement>(
      html`<sync-provider .client=${client}><pending-marker entity="tasks/42"></pending-marker></sync-provider>`,
    );
    const el = provider.querySelector<PendingMarkerElement>('pending-marker')!;
    const shown = () => el.shadowRoot!.querySelector('[part="details"]')!.classList.contains('shown');
    await until(() => el.state === 'failed', 2000, 'failed');
    el.dispatchEvent(new PointerEvent('pointerenter'));
    await el.updateComplete;
    const iframe = await frame('');
    cleanups.push(() => iframe.remove());
    const doc = iframe.contentDocument!;
    doc.body.append(doc.adoptNode(provider));
    await until(() => el.state === 'failed', 2000, 'failed there');
    el.dispatchEvent(new PointerEvent('pointerenter'));
    await el.updateComplete;
    expect(shown(), 'hovered in the iframe').to.equal(true);
    // Escape in the page it left is not about this marker any more.
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
    await el.updateComplete;
    expect(shown(), 'hidden by an Escape on another page').to.equal(true);
    doc.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
    await el.updateComplete;
    expect(shown(), 'Escape where it is').to.equal(false);
  });

  it('<pending-marker> describes a failed change whose label is empty by its kind, with its error, focusable', async () => {
    const client = markerClient([
      operation({ label: '', status: 'failed', lastError: { kind: 'http', status: 422, message: 'Title too long' } }),
    ]);
    const provider = await fixture<SyncProviderElement>(
      html`<sync-provider .client=${client}><pending-marker entity="tasks/42"></pending-marker></sync-provider>`,
    );
    const el = provider.querySelector<PendingMarkerElement>('pending-marker')!;
    await until(() => el.state === 'failed', 2000, 'failed');
    await el.updateComplete;
    const pill = el.shadowRoot!.querySelector<HTMLElement>('[part="base"]')!;
    const details = el.shadowRoot!.querySelector<HTMLElement>('[part="details"]');
    // The label is '' (the engine accepts it); the error is what the user needs to see.
    expect(details?.textContent ?? '', 'the error is not the pill’s description').to.contain('Title too long');
    expect(pill.getAttribute('tabindex')).to.equal('0');
  });

  it('<sync-outbox> says both of two Retry failures in one burst', async () => {
    const t = testClient('review-retries');
    const announcer = new PageAnnouncer({ delay: 200, clearAfter: 10_000 });
    const log = liveLog();
    try {
      // Both refused by the server first (failed, so nothing is sending when the user acts).
      await t.failWith(422);
      await t.client.enqueueMany([t.op('a', { lane: 'a' }), t.op('b', { lane: 'b' })]);
      const client = refusingClient(t.client, { retry: () => Promise.reject(new Error('The engine stopped')) });
      const provider = await fixture(
        html`<sync-provider .client=${client} .announcer=${announcer}><sync-outbox></sync-outbox></sync-provider>`,
      );
      const el = provider.querySelector('sync-outbox')!;
      const retry = (label: string) =>
        [...el.shadowRoot!.querySelectorAll<HTMLElement>('.item[data-id]')]
          .find((r) => r.querySelector('[part="label"]')!.textContent === label)
          ?.querySelector<HTMLElement>('[part="retry"]');
      const failed = () =>
        [...el.shadowRoot!.querySelectorAll('.item[data-id]')].filter((r) => /failed/.test(r.textContent!));
      await until(() => !!retry('Create a') && !!retry('Create b') && failed().length === 2, 5000, 'two failed rows');
      // The user retries both rows, one after the other; the engine refuses each.
      retry('Create a')!.click();
      retry('Create b')!.click();
      await until(() => log.said.length > 0, 3000, 'something said');
      await new Promise((r) => setTimeout(r, 400));
      const said = log.said.join(' | ');
      expect(said).to.contain('Could not retry "Create b": The engine stopped');
      // README: "A user action that fails is said, never only logged".
      expect(said, 'the first failure was dropped').to.contain('Could not retry "Create a": The engine stopped');
    } finally {
      log.stop();
      announcer.dispose();
      await t.dispose();
    }
  });
  it('<sync-outbox> forgets the failures of operations gone from its list', async () => {
    const t = testClient('forget-failures');
    try {
      await t.failWith(422);
      const [op] = await t.client.enqueueMany([t.op('a')]);
      const provider = await fixture(
        html`<sync-provider .client=${t.client}><sync-outbox></sync-outbox></sync-provider>`,
      );
      const el = provider.querySelector('sync-outbox')!;
      const remembered = () => (el as unknown as { failedAttempts: Map<string, number> }).failedAttempts;
      await until(() => remembered().has(op!.id), 5000, 'the failure seen');
      await t.client.discard(op!.id);
      await until(() => !el.shadowRoot!.querySelector('.item[data-id]'), 5000, 'the list empty');
      expect(remembered().size).to.equal(0);
    } finally {
      await t.dispose();
    }
  });
  it('<sync-status warn-on-unload> moved into an iframe takes its beforeunload listener along: the page it left no longer asks', async () => {
    const client = unloadClient(1);
    type Status = HTMLElement & { unloadWouldStrandChanges: boolean };
    const provider = document.createElement('sync-provider') as HTMLElement & { client?: SyncClient };
    provider.client = client;
    const status = document.createElement('sync-status') as Status;
    status.setAttribute('warn-on-unload', '');
    provider.append(status);
    document.body.append(provider);
    const iframe = await frame('');
    cleanups.push(() => {
      // The listener left on this window would otherwise block the runner's navigation ("Leave site?").
      (client.status$ as BehaviorSubject<ReturnType<typeof fakeStatus>>).next(fakeStatus());
      provider.remove();
      iframe.remove();
    });
    /** Whether a page would ask before unloading: a cancelable beforeunload that a listener cancels. */
    const asks = (win: Window) => {
      const event = new Event('beforeunload', { cancelable: true });
      win.dispatchEvent(event);
      return event.defaultPrevented;
    };
    await until(() => status.unloadWouldStrandChanges, 5000, 'the status knows of the unsent change');
    expect(asks(window), 'sanity: the page holding it asks').to.equal(true);

    // Moved into the iframe's document with its provider (adoptNode, then appended there).
    const doc = iframe.contentDocument!;
    doc.body.append(doc.adoptNode(provider));
    await until(() => status.unloadWouldStrandChanges, 5000, 'the moved status has the client again');
    expect(asks(iframe.contentWindow!), 'the iframe it now lives in asks').to.equal(true);
    expect(asks(window), 'the page it left no longer asks').to.equal(false);
  });
  it("renders and styles an element created in the page and first connected in an iframe's (or popup's) document", async () => {
    const iframe = await frame('');
    cleanups.push(() => iframe.remove());
    const errors: string[] = [];
    const onError = (event: ErrorEvent) => {
      errors.push(String(event.message));
      event.preventDefault();
    };
    window.addEventListener('error', onError);
    cleanups.push(() => window.removeEventListener('error', onError));
    const status = document.createElement('sync-status') as HTMLElement & { updateComplete: Promise<unknown> };
    const doc = iframe.contentDocument!;
    doc.body.append(doc.adoptNode(status));
    await new Promise((r) => setTimeout(r, 300));
    expect(errors, 'no uncaught error').to.deep.equal([]);
    expect(status.shadowRoot?.querySelector('[part~="base"]'), 'it rendered').to.not.equal(null);
    expect(
      iframe.contentWindow!.getComputedStyle(status).display,
      'its styles apply (:host { display: block })',
    ).to.equal('block');
  });

  it("keeps the styles of a rendered element moved into an iframe's document", async () => {
    const status = document.createElement('sync-status') as HTMLElement & { updateComplete: Promise<unknown> };
    document.body.append(status);
    await status.updateComplete;
    expect(getComputedStyle(status).display, 'sanity: styled in the page').to.equal('block');
    const iframe = await frame('');
    cleanups.push(() => {
      status.remove();
      iframe.remove();
    });
    const doc = iframe.contentDocument!;
    doc.body.append(doc.adoptNode(status));
    await status.updateComplete;
    await new Promise((r) => setTimeout(r, 100));
    expect(iframe.contentWindow!.getComputedStyle(status).display).to.equal('block');
  });
});
