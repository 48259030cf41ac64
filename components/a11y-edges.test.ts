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
    /** A client with one failed change to tasks/42 whose label and error are long: its details are wide. */
    const failedRename = () =>
      fakeClient({
        ops: [
          op('o1', 'tasks/42', 'failed', {
            label: 'Rename "Buy milk and bread for the weekend"',
            lastError: { kind: 'http', status: 400, message: 'The server refused the change: title too long' } as never,
          }),
        ],
      });

    const mountMarker = async (layout: 'inline' | 'end' = 'inline') => {
      const client = failedRename();
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

    /** A marker in the second row of a short scrolling list, a block below the list: what clipped details would show. */
    const mountInScrollingList = async (dir: 'ltr' | 'rtl' = 'ltr') => {
      const client = failedRename();
      const row = (text: string) => html`<li style="height:28px;white-space:nowrap">${text}</li>`;
      const page = await fixture(html`<sync-provider .client=${client} dir=${dir}>
        <div style="margin:20px 40px">
          <ul class="list" style="margin:0;padding:0 8px;list-style:none;width:160px;height:64px;overflow:auto">
            ${row('Call the plumber')}
            <li style="height:28px;white-space:nowrap">Buy milk <pending-marker entity="tasks/42"></pending-marker></li>
            ${row('Water the plants')} ${row('Pay the rent')} ${row('Book the tickets')}
          </ul>
          <div class="below" style="width:400px;height:200px;background:#eee"></div>
        </div>
      </sync-provider>`);
      const marker = page.querySelector<PendingMarkerElement>('pending-marker')!;
      await until(() => marker.state === 'failed', 3000, 'failed');
      await marker.updateComplete;
      return {
        marker,
        list: page.querySelector<HTMLElement>('.list')!,
        below: page.querySelector<HTMLElement>('.below')!,
      };
    };

    /** The marker in its scrolling list, its pill focused and its details shown (and laid out). */
    const focusedInScrollingList = async () => {
      const mounted = await mountInScrollingList();
      pill(mounted.marker).focus();
      await until(() => shown(mounted.marker), 2000, 'details on focus');
      await frames();
      return mounted;
    };

    /** What is hit at points spread over the details' box (a 3 × 3 grid, 3 px in from its edges), where it is not the details. */
    const notHitOver = (marker: PendingMarkerElement): string[] => {
      const box = details(marker).getBoundingClientRect();
      const misses: string[] = [];
      for (const fx of [0, 0.5, 1])
        for (const fy of [0, 0.5, 1]) {
          const x = Math.round(box.left + 3 + fx * (box.width - 6));
          const y = Math.round(box.top + 3 + fy * (box.height - 6));
          // The document sees the host for anything in its shadow root; the shadow root names the part.
          const hit = marker.shadowRoot!.elementFromPoint(x, y);
          if (hit !== details(marker))
            misses.push(
              `(${x}, ${y}): ${hit ? hit.localName + (hit.className ? '.' + hit.className : '') : 'nothing'}`,
            );
        }
      return misses;
    };

    it('shows its details whole over the clipping, scrolling list it is in (1.4.13)', async () => {
      const { marker, list, below } = await focusedInScrollingList();
      const box = details(marker).getBoundingClientRect();
      const edge = list.getBoundingClientRect();
      // The case in point: the details reach past the list's edges, over the block below it.
      expect(box.bottom, 'the details reach below the list').to.be.above(edge.bottom + 10);
      expect(box.right, 'the details reach past the list’s end').to.be.above(edge.right + 10);
      expect(notHitOver(marker), 'points of the details where something else is hit').to.deep.equal([]);
      // Still the pill's description: the top layer keeps the details in the marker's shadow root, where the id resolves.
      expect(marker.shadowRoot!.getElementById(pill(marker).getAttribute('aria-describedby')!)).to.equal(
        details(marker),
      );
      const middleBelow = [Math.round((box.left + box.right) / 2), Math.round((edge.bottom + box.bottom) / 2)] as const;
      expect(document.elementFromPoint(...middleBelow), 'hit below the list').to.equal(marker);
      expect(below.getBoundingClientRect().top, 'the block below starts at the list’s bottom').to.be.at.most(
        edge.bottom + 1,
      );
    });

    it('keeps its details right under the pill while the list holding it scrolls', async () => {
      const { marker, list } = await focusedInScrollingList();
      // Within a pixel: the details are placed at whole pixels, the pill may sit between two.
      const offPill = () => {
        const host = marker.getBoundingClientRect();
        const box = details(marker).getBoundingClientRect();
        const [dx, dy] = [box.left - host.left, box.top - host.bottom];
        return Math.abs(dx) <= 1 && Math.abs(dy) <= 1
          ? 'against the pill'
          : `${dx.toFixed(1)}, ${dy.toFixed(1)} px off`;
      };
      expect(offPill(), 'details before scrolling').to.equal('against the pill');
      const hostTop = marker.getBoundingClientRect().top;
      list.scrollTop = 14;
      // Scroll events are dispatched with the next frames; a bounded wait, so an engine that never moves them fails here.
      await until(() => Math.round(hostTop - marker.getBoundingClientRect().top) === 14, 2000, 'the list scrolled');
      await frames(3);
      expect(offPill(), 'details after the list scrolled 14 px').to.equal('against the pill');
      expect(notHitOver(marker), 'points of the details where something else is hit after scrolling').to.deep.equal([]);
    });

    it('hides its focused details while the pill is scrolled out of the list’s view, and shows them when it is back', async () => {
      const { marker, list } = await focusedInScrollingList();
      const hitInMiddle = () => {
        const box = details(marker).getBoundingClientRect();
        const x = Math.round(box.left + box.width / 2);
        const y = Math.round(box.top + box.height / 2);
        return marker.shadowRoot!.elementFromPoint(x, y) === details(marker);
      };
      expect(hitInMiddle(), 'details seen before scrolling').to.equal(true);
      list.scrollTop = list.scrollHeight;
      await until(
        () => marker.getBoundingClientRect().bottom <= list.getBoundingClientRect().top,
        2000,
        'pill out of view',
      );
      await frames(3);
      expect(hitInMiddle(), 'details seen with the pill scrolled out of view').to.equal(false);
      list.scrollTop = 0;
      await frames(3);
      expect(hitInMiddle(), 'details seen with the pill back in view').to.equal(true);
    });

    it('stops following scrolls and resizes once its details are hidden, and once it is removed', async () => {
      const { marker } = await mountInScrollingList();
      // Listeners for scroll and resize added and not yet removed, on the window and on any shadow root.
      const active = new Set<EventListenerOrEventListenerObject>();
      const add = EventTarget.prototype.addEventListener;
      const remove = EventTarget.prototype.removeEventListener;
      EventTarget.prototype.addEventListener = function (this: EventTarget, type: string, listener, options) {
        if ((type === 'scroll' || type === 'resize') && listener) active.add(listener);
        return add.call(this, type, listener, options);
      };
      EventTarget.prototype.removeEventListener = function (this: EventTarget, type: string, listener, options) {
        if ((type === 'scroll' || type === 'resize') && listener) active.delete(listener);
        return remove.call(this, type, listener, options);
      };
      try {
        pill(marker).focus();
        await until(() => shown(marker), 2000, 'details on focus');
        expect(active.size, 'listeners while shown').to.be.above(0);
        pill(marker).blur();
        await until(() => !shown(marker), 2000, 'details hidden on blur');
        expect(active.size, 'listeners left once hidden').to.equal(0);
        pill(marker).focus();
        await until(() => shown(marker), 2000, 'details on focus again');
        marker.remove();
        await marker.updateComplete;
        expect(active.size, 'listeners left once removed').to.equal(0);
      } finally {
        EventTarget.prototype.addEventListener = add;
        EventTarget.prototype.removeEventListener = remove;
      }
    });

    it('keeps the in-flow placement below the pill in an engine without the Popover API', async () => {
      const showPopover = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'showPopover');
      // An engine without it (Firefox before 125, Safari before 17): the element reads this at each render.
      delete (HTMLElement.prototype as Partial<HTMLElement>).showPopover;
      try {
        const marker = await mountMarker();
        pill(marker).focus();
        await until(() => shown(marker), 2000, 'details on focus');
        await marker.updateComplete;
        expect(details(marker).hasAttribute('popover'), 'a popover attribute').to.equal(false);
        expect(getComputedStyle(details(marker)).position).to.equal('absolute');
        const host = marker.getBoundingClientRect();
        const box = details(marker).getBoundingClientRect();
        expect(
          Math.abs(box.top - host.bottom),
          `details start at ${box.top}, the pill ends at ${host.bottom}`,
        ).to.be.at.most(1);
        expect(Math.abs(box.left - host.left), `details start at ${box.left}, the pill at ${host.left}`).to.be.at.most(
          1,
        );
      } finally {
        if (showPopover) Object.defineProperty(HTMLElement.prototype, 'showPopover', showPopover);
      }
    });

    it("aligns its details with the pill's right edge in a right-to-left list", async () => {
      const { marker } = await mountInScrollingList('rtl');
      pill(marker).focus();
      await until(() => shown(marker), 2000, 'details on focus');
      await frames();
      const host = marker.getBoundingClientRect();
      const box = details(marker).getBoundingClientRect();
      expect(Math.abs(box.right - host.right), `details end at ${box.right}, the pill at ${host.right}`).to.be.at.most(
        1,
      );
      expect(
        Math.abs(box.top - host.bottom),
        `details start at ${box.top}, the pill ends at ${host.bottom}`,
      ).to.be.at.most(1);
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
