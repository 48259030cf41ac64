// Shared tokens in light and dark: focus rings at 3:1 or more on each element's real background, one button look, one override theming all.
import { expect, fixture, html } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import { BehaviorSubject } from 'rxjs';
import type { SyncClient, SyncStatus } from '../src/index.ts';
import './define.ts';
import type { SyncOutboxElement, SyncStatusElement } from './index.ts';
import { contrast, deepActiveElement, effectiveBackground, parseColor, useColorScheme } from './test/a11y.ts';
import { fakeStatus, testClient, until, type TestClient } from './test/support.ts';

const offlineStatus: SyncStatus = fakeStatus({
  connectivity: 'offline',
  counts: { pending: 1, sending: 0, failed: 0, conflict: 0 },
});

describe('theme', () => {
  let t: TestClient;
  let page: HTMLElement;
  let outbox: SyncOutboxElement;
  let status: SyncStatusElement;

  before(async () => {
    t = testClient('theme');
    await t.offline();
    await t.client.enqueue(t.op('a'));
  });
  after(async () => {
    await useColorScheme('light');
    await t.dispose();
  });

  beforeEach(async () => {
    const statusClient = {
      status$: new BehaviorSubject(offlineStatus).asObservable(),
      syncNow: async () => {},
    } as unknown as SyncClient;
    // A page that follows the colour scheme, as the demo does: its canvas is what the elements sit on.
    page =
      await fixture(html`<div style="color-scheme: light dark; background: Canvas; color: CanvasText; padding: 1rem">
      <button id="start">start</button>
      <sync-provider .client=${statusClient}><sync-status></sync-status></sync-provider>
      <sync-provider .client=${t.client}><sync-outbox></sync-outbox></sync-provider>
      <button id="end">end</button>
    </div>`);
    status = page.querySelector('sync-status')!;
    outbox = page.querySelector('sync-outbox')!;
    await until(() => !!status.shadowRoot!.querySelector('[part="sync-now"]'), 5000, 'sync now');
    await until(() => !!outbox.shadowRoot!.querySelector('.item [part="retry"]'), 8000, 'a row');
  });

  /**
   * Tabs from the start button through every control to the end button, with :focus-visible as a keyboard user
   * sees it. It never tabs past the page's last control: in Firefox that moves keyboard focus out of the page.
   */
  async function focusRings() {
    page.querySelector<HTMLElement>('#start')!.focus();
    const rings: { name: string; ratio: number; colour: string; style: string; width: number; background: string }[] =
      [];
    for (let i = 0; i < 12; i++) {
      await sendKeys({ press: 'Tab' });
      const active = deepActiveElement() as HTMLElement | null;
      if (!active || active.id === 'end') break;
      if (!(active.getRootNode() instanceof ShadowRoot)) continue;
      const style = getComputedStyle(active);
      const behind = effectiveBackground(active.parentElement ?? (active.getRootNode() as ShadowRoot).host);
      const colour = parseColor(style.outlineColor);
      rings.push({
        name: `${(active.getRootNode() as ShadowRoot).host.localName} ${active.getAttribute('part') ?? active.localName}`,
        ratio: contrast(colour, behind),
        colour: style.outlineColor,
        style: style.outlineStyle,
        width: parseFloat(style.outlineWidth),
        background: `rgb(${behind.r}, ${behind.g}, ${behind.b})`,
      });
    }
    return rings;
  }

  for (const scheme of ['light', 'dark'] as const) {
    it(`draws every focus ring at 3:1 or more against what is behind it (${scheme})`, async function () {
      // The dark defaults can be checked only where the scheme can be emulated (Chromium).
      if (!(await useColorScheme(scheme))) this.skip();
      const rings = await focusRings();
      expect(rings.map((r) => r.name)).to.include.members([
        'sync-status sync-now',
        'sync-outbox retry-all',
        'sync-outbox retry',
        'sync-outbox discard',
      ]);
      for (const ring of rings) {
        expect(ring.style, ring.name).to.not.equal('none');
        expect(ring.width, ring.name).to.be.at.least(2);
        expect(ring.ratio, `${ring.name}: ${ring.colour} on ${ring.background}`).to.be.at.least(3);
      }
    });
  }

  it('gives every element the same dark buttons, readable and bounded', async function () {
    if (!(await useColorScheme('dark'))) this.skip();
    const syncNow = status.shadowRoot!.querySelector<HTMLElement>('[part="sync-now"]')!;
    const retry = outbox.shadowRoot!.querySelector<HTMLElement>('[part="retry"]')!;
    const a = getComputedStyle(syncNow);
    const b = getComputedStyle(retry);
    expect(a.backgroundColor).to.equal(b.backgroundColor);
    expect(a.color).to.equal(b.color);
    expect(a.borderTopColor).to.equal(b.borderTopColor);
    const face = parseColor(a.backgroundColor);
    expect(contrast(parseColor(a.color), face)).to.be.at.least(4.5);
    // The button's edge against the page around it (WCAG 1.4.11).
    expect(contrast(parseColor(a.borderTopColor), effectiveBackground(syncNow.parentElement!))).to.be.at.least(3);
  });

  it("lets one --syncline-* override theme every element, under each element's own token", async () => {
    await useColorScheme('light');
    page.style.setProperty('--syncline-focus-color', 'rgb(200, 0, 0)');
    page.style.setProperty('--syncline-button-background', 'rgb(250, 240, 200)');
    outbox.style.setProperty('--sync-outbox-focus-color', 'rgb(0, 0, 200)');
    const rings = await focusRings();
    for (const ring of rings)
      expect(ring.colour, ring.name).to.equal(
        ring.name.startsWith('sync-outbox') ? 'rgb(0, 0, 200)' : 'rgb(200, 0, 0)',
      );
    const syncNow = status.shadowRoot!.querySelector<HTMLElement>('[part="sync-now"]')!;
    const retry = outbox.shadowRoot!.querySelector<HTMLElement>('[part="retry"]')!;
    expect(getComputedStyle(syncNow).backgroundColor).to.equal('rgb(250, 240, 200)');
    expect(getComputedStyle(retry).backgroundColor).to.equal('rgb(250, 240, 200)');
  });

  it("themes text, surfaces, frames and errors of every element from the shared palette, each element's own token first", async () => {
    await useColorScheme('light');
    // Open, as a live client's stream is: one that completes would show the resolver's "Sync stopped" state.
    const resolverClient = { conflicts$: new BehaviorSubject([]).asObservable() } as unknown as SyncClient;
    page.insertAdjacentHTML('beforeend', '<sync-provider><conflict-resolver></conflict-resolver></sync-provider>');
    const provider = page.lastElementChild as HTMLElement & { client: SyncClient };
    provider.client = resolverClient;
    const resolver = provider.querySelector('conflict-resolver')!;
    await until(() => !!resolver.shadowRoot?.querySelector('[part="empty"]'), 5000, 'resolver renders');
    page.style.setProperty('--syncline-color', 'rgb(10, 20, 30)');
    page.style.setProperty('--syncline-background', 'rgb(250, 250, 240)');
    page.style.setProperty('--syncline-border-color', 'rgb(40, 50, 60)');
    page.style.setProperty('--syncline-muted-color', 'rgb(70, 80, 90)');
    resolver.style.setProperty('--conflict-resolver-background', 'rgb(240, 250, 250)');
    const outboxBase = outbox.shadowRoot!.querySelector<HTMLElement>('[part="base"]')!;
    const resolverBase = resolver.shadowRoot!.querySelector<HTMLElement>('[part="base"]')!;
    const statusBase = status.shadowRoot!.querySelector<HTMLElement>('[part="base"]')!;
    for (const base of [outboxBase, resolverBase, statusBase])
      expect(getComputedStyle(base).color).to.equal('rgb(10, 20, 30)');
    expect(getComputedStyle(outboxBase).backgroundColor).to.equal('rgb(250, 250, 240)');
    expect(getComputedStyle(resolverBase).backgroundColor).to.equal('rgb(240, 250, 250)');
    expect(getComputedStyle(outboxBase).borderTopColor).to.equal('rgb(40, 50, 60)');
    expect(getComputedStyle(resolver.shadowRoot!.querySelector('[part="empty"]')!).color).to.equal('rgb(70, 80, 90)');
  });
});
