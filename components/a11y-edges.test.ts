// Accessibility at the edges: the storage warning through the one region, announcements in their language, details reachable by pointer.
import { expect, fixture, html } from '@open-wc/testing';
import { resetMouse, sendMouse, setViewport } from '@web/test-runner-commands';
import { BehaviorSubject, type Observable } from 'rxjs';
import type {
  Conflict,
  DirtyEntity,
  Operation,
  OperationFilter,
  OperationStatus,
  SyncClient,
  SyncStatus,
} from '../src/index.ts';
import './define.ts';
import './locales/de.ts';
import { PageAnnouncer, type PendingMarkerElement, type SyncStatusElement } from './index.ts';
import { frames, liveLog } from './test/a11y.ts';
import { fakeOperation, fakeStatus, until } from './test/support.ts';

/** A stream that stays open, as a live client's do (one that completes tells the elements the client has ended). */
const live = <T>(value: T): Observable<T> => new BehaviorSubject(value).asObservable();

function op(id: string, entity: string, status: OperationStatus, extra: Partial<Operation> = {}): Operation {
  const [type, entityId] = entity.split('/') as [string, string];
  return fakeOperation({
    id,
    label: `Rename ${entityId}`,
    request: { method: 'PUT', url: `${type}/${entityId}` },
    entity: { type, id: entityId },
    entityKey: entity,
    status,
    attempts: 1,
    ...extra,
  });
}

/** A client with fixed or scripted streams: enough for what the badge, the marker and the status read. */
function fakeClient(over: {
  count?: BehaviorSubject<number>;
  status?: BehaviorSubject<SyncStatus>;
  ops?: Operation[];
  conflicts?: Conflict[];
}): SyncClient {
  const count = over.count ?? new BehaviorSubject(0);
  return {
    count$: (filter: OperationFilter) => (filter.status ? live(0) : count.asObservable()),
    dirtyEntities$: live([] as DirtyEntity[]),
    status$: (over.status ?? new BehaviorSubject(fakeStatus())).asObservable(),
    conflicts$: live(over.conflicts ?? []),
    watchOperations: () => live(over.ops ?? []),
    syncNow: async () => {},
  } as unknown as SyncClient;
}

/** The language a node is read in: the nearest `lang` above it, across shadow roots, else the document's. */
function languageOf(node: Node): string {
  for (let at: Node | null = node; at; at = at.parentNode ?? (at instanceof ShadowRoot ? at.host : null)) {
    if (at instanceof Element && at.hasAttribute('lang')) return at.getAttribute('lang')!;
  }
  return document.documentElement.lang;
}

/** The first text node under `root` (through shadow roots) whose text includes `words`. */
function textNode(root: Node, words: string): Text | undefined {
  const visit = (node: Node): Text | undefined => {
    if (node.nodeType === Node.TEXT_NODE && (node.textContent ?? '').includes(words)) return node as Text;
    for (const child of [...((node as Element).shadowRoot?.childNodes ?? []), ...node.childNodes]) {
      const found = visit(child);
      if (found) return found;
    }
    return undefined;
  };
  return visit(root);
}

describe('accessibility at the edges', () => {
  afterEach(async () => {
    document.documentElement.removeAttribute('lang');
    await resetMouse();
  });

  describe('announcements', () => {
    it("says the storage warning of <sync-status> through the page's one region: silent statuses say nothing (4.1.3)", async () => {
      const status = new BehaviorSubject(fakeStatus());
      const client = fakeClient({ status });
      const provider = await fixture(html`<sync-provider .client=${client}>
        <sync-status silent></sync-status><sync-status silent></sync-status>
      </sync-provider>`);
      const statuses = [...provider.querySelectorAll<SyncStatusElement>('sync-status')];
      await until(() => statuses.every((s) => s.status !== undefined), 3000, 'statuses');
      const log = liveLog();
      try {
        status.next(fakeStatus({ storage: 'quota-exceeded' }));
        await until(
          () => statuses.every((s) => !!s.shadowRoot!.querySelector('[part="warning"]')),
          3000,
          'warnings shown',
        );
        // Longer than a burst of the page announcer: whatever the page would say has been said.
        await new Promise((r) => setTimeout(r, 1500));
        expect(
          log.said,
          `what live regions said for two <sync-status silent> (${log.regions().length} live regions on the page)`,
        ).to.deep.equal([]);
      } finally {
        log.stop();
      }
    });

    it('says the storage warning of a <sync-status> that is not silent, once', async () => {
      const status = new BehaviorSubject(fakeStatus());
      const announcer = new PageAnnouncer({ delay: 100 });
      try {
        const provider = await fixture(html`<sync-provider .client=${fakeClient({ status })} .announcer=${announcer}>
          <sync-status></sync-status>
        </sync-provider>`);
        const el = provider.querySelector<SyncStatusElement>('sync-status')!;
        await until(() => el.status !== undefined, 3000, 'status');
        status.next(fakeStatus({ storage: 'quota-exceeded' }));
        await until(() => (announcer.region?.textContent ?? '') !== '', 3000, 'announced');
        expect(announcer.region!.textContent).to.equal('Storage is full: new changes may not be saved on this device');
      } finally {
        announcer.dispose();
      }
    });

    it('says what happens in an open modal <dialog> inside it, where it is not inert, and outside it again once closed (4.1.3)', async () => {
      const count = new BehaviorSubject(0);
      const announcer = new PageAnnouncer({ delay: 100 });
      const dialog = await fixture<HTMLDialogElement>(html`<dialog>
        <sync-provider .client=${fakeClient({ count })} .announcer=${announcer}><pending-badge></pending-badge></sync-provider>
      </dialog>`);
      try {
        dialog.showModal();
        const badge = dialog.querySelector('pending-badge')!;
        await until(() => badge.count === 0, 3000, 'baseline');
        count.next(3);
        await until(() => announcer.region?.textContent === '3 changes not yet saved', 3000, 'said');
        // Not inert: it takes focus (an inert node does not), as assistive technology reads it.
        const region = announcer.region!;
        region.tabIndex = -1;
        region.focus();
        expect({ inDialog: region.parentNode === dialog, focusable: document.activeElement === region }).to.deep.equal({
          inDialog: true,
          focusable: true,
        });
        region.removeAttribute('tabindex');
        dialog.close();
        count.next(5);
        await until(() => announcer.region?.textContent === '5 changes not yet saved', 3000, 'said after closing');
        expect(announcer.region!.parentNode).to.equal(document.body);
      } finally {
        if (dialog.open) dialog.close();
        announcer.dispose();
      }
    });

    it('marks a lang="de" element\'s German announcement as German in the page\'s English live region (3.1.2)', async () => {
      document.documentElement.lang = 'en';
      const count = new BehaviorSubject(0);
      const announcer = new PageAnnouncer({ delay: 100 });
      try {
        const page = await fixture(html`<div lang="de">
          <sync-provider .client=${fakeClient({ count })} .announcer=${announcer}><pending-badge></pending-badge></sync-provider>
        </div>`);
        const badge = page.querySelector('pending-badge')!;
        await until(() => badge.count === 0, 3000, 'baseline');
        count.next(2);
        await until(() => (announcer.region?.textContent ?? '') !== '', 3000, 'announced');
        const said = textNode(announcer.region!, 'Änderungen')!;
        expect(!!said, `the region says "${announcer.region!.textContent}"`).to.equal(true);
        expect(languageOf(said), `language of "${said.textContent}" in the live region`).to.equal('de');
      } finally {
        announcer.dispose();
      }
    });
  });

  describe('<pending-marker>', () => {
    const mountMarker = async (layout: 'inline' | 'end' = 'inline') => {
      const client = fakeClient({
        ops: [
          op('o1', 'tasks/42', 'failed', {
            label: 'Rename "Buy milk and bread for the weekend"',
            lastError: { kind: 'http', status: 400, message: 'The server refused the change: title too long' } as never,
          }),
        ],
      });
      const page = await fixture(
        layout === 'end'
          ? html`<sync-provider .client=${client}><p style="margin:0;text-align:right">Buy milk <pending-marker entity="tasks/42"></pending-marker></p></sync-provider>`
          : html`<sync-provider .client=${client}><p style="margin:40px">Buy milk <pending-marker entity="tasks/42"></pending-marker></p></sync-provider>`,
      );
      const marker = page.querySelector<PendingMarkerElement>('pending-marker')!;
      await until(() => marker.state === 'failed', 3000, 'failed');
      await marker.updateComplete;
      return marker;
    };
    const pill = (m: PendingMarkerElement) => m.shadowRoot!.querySelector<HTMLElement>('[part="base"]')!;
    const details = (m: PendingMarkerElement) => m.shadowRoot!.querySelector<HTMLElement>('[part="details"]')!;
    const shown = (m: PendingMarkerElement) => details(m).classList.contains('shown');

    it('keeps its details within the viewport for a marker at the end of a right-aligned line (1.4.10)', async () => {
      const marker = await mountMarker('end');
      pill(marker).focus();
      await until(() => shown(marker), 2000, 'details on focus');
      await marker.updateComplete;
      const box = details(marker).getBoundingClientRect();
      const width = document.documentElement.clientWidth;
      expect(box.right, `details end at ${box.right} in a viewport ${width} px wide`).to.be.at.most(width);
      expect(box.left).to.be.at.least(0);
    });

    it('keeps shown details within the viewport when it narrows while they are shown (zoom, a phone turned: 1.4.10)', async function () {
      const marker = await mountMarker();
      marker.closest('p')!.style.cssText = 'margin:0;padding-left:420px;white-space:nowrap';
      pill(marker).focus();
      await until(() => shown(marker), 2000, 'details on focus');
      await marker.updateComplete;
      try {
        await setViewport({ width: 560, height: 600 });
      } catch {
        // A driver that cannot resize its window (WebKitGTK's).
        this.skip();
      }
      try {
        await frames(3);
        const box = details(marker).getBoundingClientRect();
        const width = document.documentElement.clientWidth;
        expect(box.right, `details end at ${box.right} in a viewport now ${width} px wide`).to.be.at.most(width);
      } finally {
        await setViewport({ width: 800, height: 600 });
      }
    });

    it('keeps its hover details shown while the pointer moves from the pill onto them (1.4.13)', async () => {
      const marker = await mountMarker();
      const box = pill(marker).getBoundingClientRect();
      const x = Math.round(box.left + box.width / 2);
      await sendMouse({ type: 'move', position: [x, Math.round(box.top + box.height / 2)] });
      await until(() => shown(marker), 2000, 'details on hover');
      const host = marker.getBoundingClientRect();
      const tip = details(marker).getBoundingClientRect();
      // The pointer on its way down from the pill to the details: the strip between them.
      const gapY = Math.round((host.bottom + tip.top) / 2);
      await sendMouse({ type: 'move', position: [x, gapY] });
      await frames();
      await sendMouse({ type: 'move', position: [x, Math.round(tip.top + tip.height / 2)] });
      await frames();
      await marker.updateComplete;
      expect(
        shown(marker),
        `details still shown with the pointer over them (host bottom ${host.bottom}, details top ${tip.top})`,
      ).to.equal(true);
    });
  });
});
