// Localization: the nearest `lang` picks the table (German shipped), plurals and relative times through Intl, strings
// provided page-wide by <sync-provider> under each element's own, registered tables, and announcements in the page's language.
import { expect, fixture, html } from '@open-wc/testing';
import { BehaviorSubject } from 'rxjs';
import type { Conflict, DirtyEntity, OperationFilter, SyncClient, SyncStatus } from '../src/index.ts';
import './define.ts';
import { germanStrings } from './locales/de.ts';
import type { Announcer } from './index.ts';
import {
  defaultStrings,
  langOf,
  plural,
  registerStrings,
  stringsFor,
  timeAgo,
  timeUntil,
  type ConflictResolverElement,
  type PendingBadgeElement,
  type SyncProviderElement,
  type SyncStatusElement,
} from './index.ts';
import { fakeStatus, until } from './test/support.ts';

const status = (over: Partial<SyncStatus> = {}): SyncStatus =>
  fakeStatus({
    counts: { pending: 2, sending: 0, failed: 0, conflict: 0 },
    lastSyncAt: Date.now() - 5 * 60_000,
    ...over,
  });

/** A stream that stays open, as a live client's do: one that completes tells the elements the client has ended. */
const live = <T>(value: T) => new BehaviorSubject(value).asObservable();

/** A client with fixed streams: a badge count, a status and conflicts, enough for what each element reads. */
function fakeClient(count: BehaviorSubject<number>, conflicts: Conflict[] = []): SyncClient {
  return {
    count$: (filter: OperationFilter) => (filter.status ? live(0) : count.asObservable()),
    dirtyEntities$: live([] as DirtyEntity[]),
    status$: live(status()),
    conflicts$: live(conflicts),
    syncNow: async () => {},
  } as unknown as SyncClient;
}

const part = (el: Element, name: string) => el.shadowRoot!.querySelector<HTMLElement>(`[part~="${name}"]`)!;
const hiddenText = (badge: Element) => badge.shadowRoot!.querySelector('.visually-hidden')!.textContent!.trim();

describe('localization', () => {
  afterEach(() => {
    document.documentElement.removeAttribute('lang');
  });

  it('ships a German table as complete as the English one', () => {
    expect(Object.keys(germanStrings).sort()).to.deep.equal(Object.keys(defaultStrings).sort());
    expect(Object.keys(germanStrings.status).sort()).to.deep.equal(Object.keys(defaultStrings.status).sort());
    expect(Object.keys(germanStrings.editStatus).sort()).to.deep.equal(Object.keys(defaultStrings.editStatus).sort());
    expect(stringsFor('de').retry).to.equal('Erneut senden');
    expect(stringsFor('de-AT').retry, 'a regional tag falls back to its language').to.equal('Erneut senden');
    expect(stringsFor('xx').retry, 'an unknown language is English').to.equal('Retry');
  });

  it('picks plural forms with Intl.PluralRules, in every category a language has', () => {
    expect(defaultStrings.attempts(1)).to.equal('1 attempt');
    expect(defaultStrings.attempts(2)).to.equal('2 attempts');
    expect(germanStrings.pendingCount(1)).to.equal('1 Änderung noch nicht gespeichert');
    expect(germanStrings.pendingCount(3)).to.equal('3 Änderungen noch nicht gespeichert');
    expect(germanStrings.conflictsNeedDecision(1)).to.equal('1 Konflikt wartet auf deine Entscheidung');
    expect(germanStrings.conflictsNeedDecision(2)).to.equal('2 Konflikte warten auf deine Entscheidung');
    // Polish has one, few and many: English-only "1 or not" logic cannot pick these.
    const forms = { one: '# zmiana', few: '# zmiany', many: '# zmian', other: '# zmiany' };
    expect([1, 2, 5, 22, 25].map((n) => plural('pl', n, forms))).to.deep.equal([
      '1 zmiana',
      '2 zmiany',
      '5 zmian',
      '22 zmiany',
      '25 zmian',
    ]);
    expect(plural('de', 1234, { other: '# Änderungen' }), 'the number formatted for the language').to.equal(
      '1.234 Änderungen',
    );
  });

  it('says relative times with Intl.RelativeTimeFormat', () => {
    expect(timeAgo('en', 5 * 60_000)).to.equal('5 minutes ago');
    expect(timeAgo('de', 5 * 60_000)).to.equal('vor 5 Minuten');
    expect(timeAgo('de', 3 * 3600_000)).to.equal('vor 3 Stunden');
    expect(timeUntil('de', 30)).to.equal('in 30 Sekunden');
    expect(timeUntil('en', 58.2 * 60)).to.equal('in 59 minutes');
    expect(timeUntil('en', 59.2 * 60)).to.equal('in 1 hour');
    expect(timeUntil('en', 3600)).to.equal('in 1 hour');
    expect(timeUntil('de', 5 * 3600)).to.equal('in 5 Stunden');
    expect(timeUntil('en', 2 * 86_400)).to.equal('in 2 days');
    expect(defaultStrings.lastSynced(2 * 86_400_000)).to.equal('Last synced 2 days ago');
    expect(germanStrings.lastSynced(5 * 60_000)).to.equal('Zuletzt synchronisiert vor 5 Minuten');
    expect(germanStrings.retryIn(90)).to.equal('neuer Versuch in 2 Minuten');
  });

  it('renders German under lang="de", from the nearest lang or the document\'s, and follows a change', async () => {
    const count = new BehaviorSubject(3);
    const page = await fixture(html`<div lang="de">
      <sync-provider .client=${fakeClient(count)}><pending-badge></pending-badge><sync-status></sync-status></sync-provider>
    </div>`);
    const badge = page.querySelector<PendingBadgeElement>('pending-badge')!;
    const statusEl = page.querySelector<SyncStatusElement>('sync-status')!;
    await until(() => hiddenText(badge) !== '', 3000, 'badge words');
    expect(langOf(badge)).to.equal('de');
    expect(hiddenText(badge)).to.equal('3 Änderungen noch nicht gespeichert');
    await until(() => !!statusEl.shadowRoot!.querySelector('[part="last-sync"]'), 3000, 'status');
    expect(part(statusEl, 'state').textContent).to.equal('Online');
    expect(part(statusEl, 'last-sync').textContent).to.equal('Zuletzt synchronisiert vor 5 Minuten');
    expect(part(statusEl, 'unsent').textContent).to.equal('2 Änderungen noch nicht gesendet');
    expect(part(statusEl, 'sync-now').textContent).to.equal('Jetzt synchronisieren');
    count.next(1);
    await badge.updateComplete;
    expect(hiddenText(badge)).to.equal('1 Änderung noch nicht gespeichert');

    // The attribute changes: the elements re-render in English (nothing nearer, no document lang).
    page.removeAttribute('lang');
    await until(() => hiddenText(badge) === '1 change not yet saved', 3000, 'English after lang removed');
    // The document's lang applies when no ancestor has one.
    document.documentElement.lang = 'de';
    await until(() => hiddenText(badge) === '1 Änderung noch nicht gespeichert', 3000, 'German from <html lang>');
    // The element's own lang is the nearest.
    badge.setAttribute('lang', 'en');
    await until(() => hiddenText(badge) === '1 change not yet saved', 3000, 'English from its own lang');
  });

  it('renders <conflict-resolver> in German', async () => {
    const conflict: Conflict = {
      id: 'c1',
      collection: 'tasks',
      entityId: '7',
      base: { title: 'a' },
      mine: { title: 'b' },
      theirs: { title: 'c' },
      theirsVersion: 2,
      fields: ['title'],
      detectedBy: '412',
      detectedAt: 1,
    };
    const page =
      await fixture(html`<div lang="de"><sync-provider .client=${fakeClient(new BehaviorSubject(0), [conflict])}>
      <conflict-resolver></conflict-resolver>
    </sync-provider></div>`);
    const resolver = page.querySelector<ConflictResolverElement>('conflict-resolver')!;
    await until(() => !!resolver.shadowRoot!.querySelector('[part="apply"]'), 3000, 'conflict shown');
    expect(part(resolver, 'heading').textContent).to.equal('tasks/7: hier und auf dem Server geändert');
    expect(part(resolver, 'apply').textContent).to.equal('Übernehmen');
    expect(part(resolver, 'cancel').textContent).to.equal('Abbrechen');
    expect(part(resolver, 'all-mine').textContent).to.equal('Alles von dir behalten');
    expect(part(resolver, 'marker').textContent).to.equal('auf beiden Seiten geändert');
    expect([...part(resolver, 'columns').children].map((c) => c.textContent)).to.deep.equal([
      '',
      'Vorher',
      'Deine',
      'Server',
    ]);
  });

  it("takes strings page-wide from <sync-provider>, nested providers layered, each element's own winning", async () => {
    const client = fakeClient(new BehaviorSubject(2));
    const page = await fixture(html`<div lang="de">
      <sync-provider .client=${client} .strings=${{ online: 'Verbunden', syncNow: 'Los' }}>
        <sync-status id="a"></sync-status>
        <sync-status id="b" .strings=${{ online: 'Am Netz' }}></sync-status>
        <sync-provider .client=${client} .strings=${{ syncNow: 'Jetzt' }}><sync-status id="c"></sync-status></sync-provider>
      </sync-provider>
    </div>`);
    const [a, b, c] = ['a', 'b', 'c'].map((id) => page.querySelector<SyncStatusElement>(`#${id}`)!) as [
      SyncStatusElement,
      SyncStatusElement,
      SyncStatusElement,
    ];
    await until(() => [a, b, c].every((el) => !!el.shadowRoot!.querySelector('[part="sync-now"]')), 3000, 'statuses');
    expect(part(a, 'state').textContent, "the provider's string").to.equal('Verbunden');
    expect(part(a, 'sync-now').textContent).to.equal('Los');
    expect(part(a, 'last-sync').textContent, "the rest from the language's table").to.equal(
      'Zuletzt synchronisiert vor 5 Minuten',
    );
    expect(part(b, 'state').textContent, "the element's own string wins").to.equal('Am Netz');
    expect(part(b, 'sync-now').textContent).to.equal('Los');
    expect(part(c, 'state').textContent, "an inner provider keeps the outer one's strings").to.equal('Verbunden');
    expect(part(c, 'sync-now').textContent, 'and overrides them').to.equal('Jetzt');

    const provider = page.querySelector<SyncProviderElement>('sync-provider')!;
    provider.strings = { online: 'Erreichbar' };
    await until(() => part(a, 'state').textContent === 'Erreichbar', 3000, 'new provider strings');
    expect(part(a, 'sync-now').textContent).to.equal('Jetzt synchronisieren');
    expect(part(b, 'state').textContent).to.equal('Am Netz');
  });

  it('uses a table an app registers, partial tables falling back to English, and re-renders on registration', async () => {
    const page = await fixture(
      html`<div lang="fr-CA"><sync-provider .client=${fakeClient(new BehaviorSubject(2))}><sync-status></sync-status></sync-provider></div>`,
    );
    const el = page.querySelector<SyncStatusElement>('sync-status')!;
    await until(() => !!el.shadowRoot!.querySelector('[part="sync-now"]'), 3000, 'status');
    expect(part(el, 'state').textContent).to.equal('Online');
    registerStrings('fr', {
      online: 'En ligne',
      unsent: (n) => plural('fr', n, { one: '# modification non envoyée', other: '# modifications non envoyées' }),
    });
    await until(() => part(el, 'state').textContent === 'En ligne', 3000, 'French after registration');
    expect(part(el, 'unsent').textContent).to.equal('2 modifications non envoyées');
    expect(part(el, 'sync-now').textContent, 'missing from the table: English').to.equal('Sync now');
    registerStrings('fr', {});
  });

  it("announces in the element's language", async () => {
    const count = new BehaviorSubject(0);
    const said: string[] = [];
    const announcer: Announcer = {
      // Evaluated at once, as a real announcer does when the burst settles; empty words are nothing to say.
      announce: (_source, message) => {
        const words = typeof message === 'function' ? message() : message;
        if (words) said.push(words);
      },
      cancel: () => {},
    };
    const page = await fixture(html`<div lang="de"><sync-provider .client=${fakeClient(count)} .announcer=${announcer}>
      <pending-badge></pending-badge><sync-status></sync-status>
    </sync-provider></div>`);
    const badge = page.querySelector<PendingBadgeElement>('pending-badge')!;
    await until(() => badge.count === 0, 3000, 'baseline');
    count.next(2);
    await until(() => said.length > 0, 3000, 'announced');
    expect(said).to.deep.equal(['2 Änderungen noch nicht gespeichert']);
    // Emptied with no sync in between (this client's last sync never moves): not "saved", in German too.
    count.next(0);
    await until(() => said.length > 1, 3000, 'emptied');
    expect(said[1]).to.equal('Keine ungesendeten Änderungen');
  });

  it("shows <sync-provider>'s own error in the page's language", async () => {
    const original = console.error;
    console.error = () => {};
    try {
      const page = await fixture(
        html`<div lang="de"><sync-provider endpoint="/api" namespace="no spaces" mode="in-page"></sync-provider></div>`,
      );
      const provider = page.querySelector<SyncProviderElement>('sync-provider')!;
      await provider.updateComplete;
      expect(part(provider, 'error').textContent).to.match(/^Synchronisierung konnte nicht starten: ./);
    } finally {
      console.error = original;
    }
  });
});
