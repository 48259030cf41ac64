// Shared tokens in light and dark: the page's colour scheme picks the palette, focus rings at 3:1 or more on each element's real background, one button look, one override theming all.
import { expect, fixture, html } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import { BehaviorSubject } from 'rxjs';
import type { SyncClient, SyncStatus } from '../src/index.ts';
import './define.ts';
import type { SyncOutboxElement, SyncStatusElement } from './index.ts';
import { schemeDefaults } from './internal/styles.ts';
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

  /**
   * Adds to the page a <sync-status> showing its storage and engine warnings, a <conflict-resolver> with nothing to
   * resolve, a badge, and a <sync-status> with no provider (its note), and returns what the palette colours.
   */
  async function palettePage() {
    const warned = {
      status$: new BehaviorSubject(
        fakeStatus({ storage: 'quota-exceeded', engineError: { message: 'The disk is full.', at: 1 } }),
      ).asObservable(),
      syncNow: async () => {},
    } as unknown as SyncClient;
    const resolverClient = { conflicts$: new BehaviorSubject([]).asObservable() } as unknown as SyncClient;
    page.insertAdjacentHTML(
      'beforeend',
      `<sync-provider id="warned"><sync-status></sync-status></sync-provider>
      <sync-provider id="resolving"><conflict-resolver></conflict-resolver></sync-provider>
      <sync-provider id="badged"><pending-badge show-zero></pending-badge></sync-provider>
      <sync-status id="alone"></sync-status>`,
    );
    const provide = (id: string, client: SyncClient) =>
      ((page.querySelector(`#${id}`) as HTMLElement & { client: SyncClient }).client = client);
    provide('warned', warned);
    provide('resolving', resolverClient);
    provide('badged', t.client);
    const warnedStatus = page.querySelector('#warned sync-status')!;
    const resolver = page.querySelector('conflict-resolver')!;
    const badge = page.querySelector('pending-badge')!;
    const alone = page.querySelector('#alone')!;
    await until(() => warnedStatus.shadowRoot!.querySelectorAll('.warning').length === 2, 5000, 'two warnings');
    await until(() => !!resolver.shadowRoot?.querySelector('[part="empty"]'), 5000, 'resolver renders');
    await until(() => !!badge.shadowRoot?.querySelector('[part="base"]:not([hidden])'), 5000, 'badge renders');
    await until(() => !!alone.shadowRoot?.querySelector('[part~="no-provider"]'), 5000, 'no-provider note');
    const base = (el: Element) => el.shadowRoot!.querySelector<HTMLElement>('[part~="base"]')!;
    const readable = (el: Element) => {
      const colour = getComputedStyle(el).color;
      const behind = effectiveBackground(el);
      return {
        colour,
        ratio: contrast(parseColor(colour), behind),
        behind: `rgb(${behind.r}, ${behind.g}, ${behind.b})`,
      };
    };
    return {
      warnings: [...warnedStatus.shadowRoot!.querySelectorAll('.warning'), base(alone)].map(readable),
      outboxError: readable(outbox.shadowRoot!.querySelector('.error') ?? base(outbox)),
      surfaces: [base(outbox), base(resolver)].map((el) => getComputedStyle(el).backgroundColor),
      badge: getComputedStyle(base(badge)).backgroundColor,
    };
  }

  it('stays light on a page that declares no colour scheme, even when the OS prefers dark', async () => {
    // Where the preference cannot be emulated (Firefox, WebKit) the OS's own (light) stands in: still a check.
    await useColorScheme('dark');
    // A default page: no color-scheme, no colours of its own, so white under the inherited text colour.
    page.removeAttribute('style');
    const { warnings, surfaces, badge } = await palettePage();
    expect(warnings).to.have.length(3);
    for (const warning of warnings) {
      expect(warning.behind).to.equal('rgb(255, 255, 255)');
      expect(warning.ratio, `${warning.colour} on ${warning.behind}`).to.be.at.least(4.5);
    }
    // The outbox and resolver are light boxes, not dark ones on a light page.
    expect(surfaces).to.deep.equal(['rgb(255, 255, 255)', 'rgb(255, 255, 255)']);
    expect(badge).to.equal('rgb(138, 90, 0)');
  });

  it('takes the dark palette on a page that declares color-scheme: dark, even when the OS prefers light', async () => {
    // light-dark() is what lets the page's scheme decide: every engine under test must have it.
    expect(CSS.supports('color', 'light-dark(#000, #fff)')).to.equal(true);
    await useColorScheme('light');
    page.style.colorScheme = 'dark';
    const { warnings, outboxError, surfaces, badge } = await palettePage();
    expect(warnings).to.have.length(3);
    expect(warnings[0]!.colour).to.equal('rgb(255, 180, 171)');
    for (const warning of [...warnings, outboxError])
      expect(warning.ratio, `${warning.colour} on ${warning.behind}`).to.be.at.least(4.5);
    expect(surfaces).to.deep.equal(['rgb(30, 30, 30)', 'rgb(30, 30, 30)']);
    expect(badge).to.equal('rgb(255, 207, 112)');
  });

  it('falls back to the OS preference, as before, in an engine without light-dark()', () => {
    const text = schemeDefaults({ '--_x': [['--a', '--b'], '#111111', '#eeeeee'] }).cssText.replace(/\s+/g, ' ');
    expect(text).to.contain(':host { --_x: var(--a, var(--b, light-dark(#111111, #eeeeee))); }');
    expect(text).to.contain(
      '@supports not (color: light-dark(#000, #fff)) { :host { --_x: var(--a, var(--b, #111111)); } ' +
        '@media (prefers-color-scheme: dark) { :host { --_x: var(--a, var(--b, #eeeeee)); } } }',
    );
    // And it parses: the :host rule and the @supports rule.
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(text);
    expect(sheet.cssRules.length).to.equal(2);
  });

  it('follows the OS on a page that declares color-scheme: light dark', async function () {
    for (const [scheme, surface] of [
      ['dark', 'rgb(30, 30, 30)'],
      ['light', 'rgb(255, 255, 255)'],
    ] as const) {
      if (!(await useColorScheme(scheme))) continue;
      const { warnings, surfaces } = await palettePage();
      expect(surfaces, scheme).to.deep.equal([surface, surface]);
      for (const warning of warnings)
        expect(warning.ratio, `${scheme}: ${warning.colour} on ${warning.behind}`).to.be.at.least(4.5);
      for (const added of page.querySelectorAll('#warned, #resolving, #badged, #alone')) added.remove();
    }
  });
});
