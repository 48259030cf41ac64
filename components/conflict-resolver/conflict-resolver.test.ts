// <conflict-resolver>: real conflicts from the reference server resolved and pushed; rendering, choices, edits, keyboard, focus, events, escaping, strings, announcements, axe in each state, leaks.
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import { BehaviorSubject } from 'rxjs';
import type { Collection, Conflict, Resolution, SyncClient } from '../../src/index.ts';
import { eventually, serverItems } from '../../test/support/server.ts';
import '../define.ts';
import {
  ConflictCancelEvent,
  ConflictResolverElement,
  ConflictResolvedEvent,
  ConflictResolveEvent,
  PageAnnouncer,
} from '../index.ts';
import { deepActiveElement, expectFocusOn, liveLog, useColorScheme } from '../test/a11y.ts';
import {
  countingClient,
  entityConflict,
  fakeConflict,
  shadowText,
  testClient,
  until,
  type TestClient,
} from '../test/support.ts';

interface Task {
  title: string;
  done?: boolean;
  note?: string;
  count?: number;
}

const conflict = fakeConflict;

/** A client with only what the resolver reads: a list of conflicts it controls, and a `resolve` that records. */
function fakeClient(initial: Conflict[]) {
  const list = new BehaviorSubject<Conflict[]>(initial);
  const calls: [string, Resolution][] = [];
  const client = {
    conflicts$: list.asObservable(),
    resolve: async (id: string, resolution: Resolution) => {
      calls.push([id, resolution]);
      list.next(list.value.filter((c) => c.id !== id));
      return null;
    },
  } as unknown as SyncClient;
  return { client, list, calls };
}

const part = <T extends HTMLElement = HTMLElement>(el: Element, name: string, within?: Element | null) =>
  (within ?? el.shadowRoot!).querySelector<T>(`[part~="${name}"]`);
const parts = <T extends HTMLElement = HTMLElement>(el: Element, name: string, within?: Element | null) => [
  ...(within ?? el.shadowRoot!).querySelectorAll<T>(`[part~="${name}"]`),
];
const section = (el: ConflictResolverElement, entityId: string) => {
  const c = el.conflicts!.find((x) => x.entityId === entityId)!;
  return el.shadowRoot!.querySelector<HTMLElement>(`[data-conflict="${CSS.escape(c.id)}"]`)!;
};
const radio = (_el: ConflictResolverElement, within: Element, field: string, value: string) =>
  within.querySelector<HTMLInputElement>(`input[type="radio"][name$=":${CSS.escape(field)}"][value="${value}"]`)!;

async function mountFake(conflicts: Conflict[], attrs = html`<conflict-resolver></conflict-resolver>`) {
  const fake = fakeClient(conflicts);
  const provider = await fixture(html`<sync-provider .client=${fake.client}>${attrs}</sync-provider>`);
  const el = provider.querySelector('conflict-resolver')!;
  await until(() => el.conflicts !== undefined, 5000, 'conflicts');
  await el.updateComplete;
  return { el, provider, ...fake };
}

describe('<conflict-resolver>', () => {
  it('is defined by the define module', () => {
    expect(customElements.get('conflict-resolver')).to.equal(ConflictResolverElement);
    expect(document.createElement('conflict-resolver')).to.be.instanceOf(ConflictResolverElement);
  });

  describe('with the reference server', () => {
    let t: TestClient;
    let tasks: Collection<Task>;
    beforeEach(() => {
      t = testClient('resolver');
      tasks = t.client.collection<Task>(t.collection, { conflict: 'manual', pullIntervalMs: 0 });
    });
    afterEach(() => t.dispose());

    const makeConflict = (id: string, base: Task, theirs: Task | null, mine: Task) =>
      entityConflict(t, tasks, id, base, theirs, mine);

    const mount = async (content = html`<conflict-resolver></conflict-resolver>`, count = 1) => {
      const provider = await fixture(html`<sync-provider .client=${t.client}>${content}</sync-provider>`);
      const el = provider.querySelector('conflict-resolver')!;
      await until(() => el.conflicts?.length === count, 10_000, `${count} conflicts shown`);
      await el.updateComplete;
      return el;
    };

    it('shows a real conflict side by side, the field changed on both sides first and marked, changes marked in words', async () => {
      await makeConflict(
        't1',
        { title: 'base', done: false, note: 'n' },
        { title: 'theirs', done: true, note: 'n' },
        { title: 'mine', done: false, note: 'n' },
      );
      const el = await mount();
      const [shown] = el.conflicts!;
      const name = (row: HTMLElement) =>
        part(el, 'field-name', row)!.textContent!.replace('changed on both sides', '').trim();
      const rows = parts(el, 'field');
      // The fields changed on both sides come first, in the engine's order, each marked in words.
      expect(rows.map(name)).to.deep.equal([
        ...shown!.fields,
        ...['title', 'done', 'note'].filter((f) => !shown!.fields.includes(f)),
      ]);
      for (const row of rows) {
        expect(part(el, 'field-name', row)!.textContent!.includes('changed on both sides'), name(row)).to.equal(
          shown!.fields.includes(name(row)),
        );
      }
      const row = (field: string) => rows.find((r) => name(r) === field)!;
      const [title, done, note] = [row('title'), row('done'), row('note')];
      expect(title.getAttribute('role')).to.equal('radiogroup');
      expect(parts(el, 'value', title).map((v) => v.textContent)).to.deep.equal(['base', 'mine', 'theirs']);
      // Each value that differs from before says so in words, not only by its background.
      const changed = (r: HTMLElement) => parts(el, 'marker', r).filter((m) => m.textContent === 'changed').length;
      expect(changed(title)).to.equal(2);
      expect(changed(done)).to.equal(1);
      expect(parts(el, 'marker', note)).to.have.length(0);
      // Defaults: yours where both changed, the server's where only the server changed.
      expect(radio(el, title, 'title', 'mine').checked).to.equal(true);
      await expect(el).to.be.accessible();
    });

    it('pushes a field-by-field resolution that the server accepts, with events, focus on the empty message and "Conflict resolved"', async () => {
      const announcer = new PageAnnouncer({ delay: 200, clearAfter: 10_000 });
      const log = liveLog();
      try {
        await makeConflict(
          't1',
          { title: 'base', done: false, count: 1 },
          { title: 'theirs', done: true, count: 1 },
          { title: 'mine', done: false, count: 2 },
        );
        const provider = await fixture(
          html`<sync-provider .client=${t.client} .announcer=${announcer}><conflict-resolver></conflict-resolver></sync-provider>`,
        );
        const el = provider.querySelector('conflict-resolver')!;
        await until(() => el.conflicts?.length === 1, 10_000, 'conflict shown');
        await el.updateComplete;
        const box = section(el, 't1');
        // Title: edited by hand; done: the server's (default); count: mine (default).
        radio(el, box, 'title', 'edit').click();
        await el.updateComplete;
        const input = part<HTMLInputElement>(el, 'edit-input', box)!;
        expect(input.value).to.equal('mine');
        input.value = 'both, merged';
        input.dispatchEvent(new Event('input'));
        await el.updateComplete;
        part(el, 'apply', box)!.focus();
        const resolving = oneEvent(el, ConflictResolveEvent.type) as unknown as Promise<ConflictResolveEvent>;
        const resolvedEvent = oneEvent(el, ConflictResolvedEvent.type) as unknown as Promise<ConflictResolvedEvent>;
        part(el, 'apply', box)!.click();
        const resolve = await resolving;
        expect(resolve.cancelable).to.equal(true);
        expect(resolve.resolution).to.deep.equal({ data: { title: 'both, merged', done: true, count: 2 } });
        const resolved = await resolvedEvent;
        expect(resolved.result!.data).to.deep.equal({ title: 'both, merged', done: true, count: 2 });
        await until(() => el.conflicts?.length === 0, 10_000, 'conflict gone');
        await el.updateComplete;
        expectFocusOn(part(el, 'empty'));
        await eventually(
          async () => {
            const item = (await serverItems(t.collection)).find((i) => i.id === 't1');
            return !!item && item.version === 3;
          },
          10_000,
          'resolution pushed',
        );
        const item = (await serverItems(t.collection)).find((i) => i.id === 't1')!;
        expect(item.data).to.deep.equal({ title: 'both, merged', done: true, count: 2 });
        await until(() => log.said.includes('Conflict resolved'), 5000, 'announced');
        await expect(el).to.be.accessible();
      } finally {
        log.stop();
        announcer.dispose();
      }
    });

    it('"Keep all of the server\'s" resolves with { choose: "theirs" } and the server copy stays', async () => {
      await makeConflict(
        't1',
        { title: 'base', done: false },
        { title: 'theirs', done: false },
        { title: 'mine', done: true },
      );
      const el = await mount();
      const box = section(el, 't1');
      part(el, 'all-theirs', box)!.click();
      await el.updateComplete;
      expect(radio(el, box, 'done', 'theirs').checked).to.equal(true);
      const resolving = oneEvent(el, ConflictResolveEvent.type) as unknown as Promise<ConflictResolveEvent>;
      part(el, 'apply', box)!.click();
      expect((await resolving).resolution).to.deep.equal({ choose: 'theirs' });
      await until(() => el.conflicts?.length === 0, 10_000, 'conflict gone');
      const items = tasks.items$;
      await eventually(
        async () => {
          const list = await new Promise<{ id: string; dirty: boolean; data: Task }[]>((resolve) => {
            const sub = items.subscribe((l) => {
              resolve(l);
              queueMicrotask(() => sub.unsubscribe());
            });
          });
          return list.some((e) => e.id === 't1' && !e.dirty && e.data.title === 'theirs');
        },
        10_000,
        "local copy is the server's",
      );
      const item = (await serverItems(t.collection)).find((i) => i.id === 't1')!;
      expect(item).to.deep.include({ version: 2, data: { title: 'theirs', done: false } });
    });

    it('offers the whole item when the server deleted it, and restores it with the local edit', async () => {
      await makeConflict('t1', { title: 'base' }, null, { title: 'mine' });
      const el = await mount();
      const box = section(el, 't1');
      expect(part(el, 'notice', box)!.textContent).to.equal('The server deleted this item; you edited it.');
      expect(parts(el, 'value', box).map((v) => v.textContent)).to.deep.equal(['base', 'mine', '(deleted)']);
      expect(box.querySelectorAll('[part~="field"] input')).to.have.length(0);
      await expect(el).to.be.accessible();
      const resolving = oneEvent(el, ConflictResolveEvent.type) as unknown as Promise<ConflictResolveEvent>;
      part(el, 'apply', box)!.click();
      expect((await resolving).resolution).to.deep.equal({ choose: 'mine' });
      await eventually(
        async () => {
          const item = (await serverItems(t.collection)).find((i) => i.id === 't1');
          return !!item && !item.deleted && (item.data as unknown as Task)?.title === 'mine';
        },
        10_000,
        'restored on the server',
      );
    });

    it('shows only the conflict of one entity with `entity` (and `collection`)', async () => {
      await makeConflict('a', { title: 'base' }, { title: 'theirs' }, { title: 'mine' });
      await makeConflict('b', { title: 'base' }, { title: 'theirs' }, { title: 'mine' });
      const all = await mount(html`<conflict-resolver></conflict-resolver>`, 2);
      all.remove();
      const el = await mount(html`<conflict-resolver entity="b" collection=${t.collection}></conflict-resolver>`);
      expect(el.conflicts!.map((c) => c.entityId)).to.deep.equal(['b']);
      el.collection = 'other';
      await el.updateComplete;
      expect(el.conflicts).to.deep.equal([]);
      expect(part(el, 'empty')!.textContent!.trim()).to.equal('No conflicts need your decision.');
    });
  });

  describe('rendering and interaction', () => {
    afterEach(() => useColorScheme('light'));

    it('renders values as text, never as HTML', async () => {
      const evil = '<img src=x onerror="window.__resolverXss = true">';
      const { el } = await mountFake([
        conflict('x', { base: { title: evil }, mine: { title: `${evil}!` }, theirs: { title: { html: evil } } }),
      ]);
      expect(el.shadowRoot!.querySelector('img')).to.equal(null);
      expect(parts(el, 'value').map((v) => v.textContent)).to.deep.equal([
        evil,
        `${evil}!`,
        JSON.stringify({ html: evil }),
      ]);
      await new Promise((r) => setTimeout(r, 50));
      expect((window as unknown as { __resolverXss?: boolean }).__resolverXss).to.equal(undefined);
    });

    it('takes a renderValue hook for a field view', async () => {
      const { el } = await mountFake([conflict('x')]);
      el.renderValue = (value, field, side) =>
        field === 'done' ? html`<b class="flag">${side}:${value ? 'yes' : 'no'}</b>` : undefined;
      await el.updateComplete;
      expect([...el.shadowRoot!.querySelectorAll('.flag')].map((b) => b.textContent)).to.deep.equal([
        'base:no',
        'mine:no',
        'theirs:yes',
      ]);
      expect(parts(el, 'value')[0]!.textContent).to.equal('base');
    });

    it('handles an item deleted here, and one created on both sides (no base)', async () => {
      const { el } = await mountFake([
        conflict('deleted-here', { mine: null, fields: ['title', 'done', 'count'] }),
        conflict('created-twice', {
          id: 'k-2',
          base: null,
          mine: { title: 'a' },
          theirs: { title: 'b' },
          fields: ['title'],
        }),
      ]);
      const here = section(el, 'deleted-here');
      expect(part(el, 'notice', here)!.textContent).to.equal('You deleted this item; the server changed it.');
      expect(here.textContent).to.contain('(deleted)');
      const labels = parts(el, 'choice', part(el, 'whole', here)).map((l) => l.textContent!.trim());
      expect(labels).to.deep.equal(['Delete it', "Keep the server's version"]);
      const twice = section(el, 'created-twice');
      expect(parts(el, 'value', twice).map((v) => v.textContent)).to.deep.equal(['(not set)', 'a', 'b']);
      await expect(el).to.be.accessible();
    });

    it('resolves with { choose: "mine" } when every field is yours, and cancelling its event stops it', async () => {
      const { el, calls } = await mountFake([conflict('x')]);
      const box = section(el, 'x');
      part(el, 'all-mine', box)!.click();
      await el.updateComplete;
      const stop = (event: Event) => event.preventDefault();
      el.addEventListener(ConflictResolveEvent.type, stop);
      part(el, 'apply', box)!.click();
      await el.updateComplete;
      expect(calls).to.deep.equal([]);
      expect(el.conflicts).to.have.length(1);
      el.removeEventListener(ConflictResolveEvent.type, stop);
      part(el, 'apply', box)!.click();
      await until(() => calls.length === 1, 2000, 'resolved');
      // On the server copy shown (version 2): the engine refuses it if a newer one came in meanwhile.
      expect(calls[0]).to.deep.equal(['k-x', { choose: 'mine', theirsVersion: 2, mineRev: 1 }]);
    });

    it("keeps the user's choices when a pull brings a newer server copy, sets the fields it changed again, and says so", async () => {
      const { el, list, calls } = await mountFake([conflict('x')]);
      let box = section(el, 'x');
      // The user takes the server's title; "done" defaults to the server's (only it changed it).
      radio(el, box, 'title', 'theirs').click();
      await el.updateComplete;
      expect(part(el, 'moved', box)).to.equal(null);
      // A pull brings version 3: the server added a priority and changed "done" back; the title is as it was.
      list.next([
        conflict('x', {
          theirs: { title: 'theirs', done: false, count: 1, priority: 'high' },
          theirsVersion: 3,
        }),
      ]);
      await el.updateComplete;
      box = section(el, 'x');
      expect(radio(el, box, 'title', 'theirs').checked, 'the choice on an unchanged field stands').to.equal(true);
      expect(radio(el, box, 'priority', 'theirs').checked, 'a field the server added: its value').to.equal(true);
      expect(part(el, 'moved', box)!.textContent).to.contain("The server's copy changed");
      part(el, 'apply', box)!.click();
      await until(() => calls.length === 1, 2000, 'resolved');
      // Everything the server's newest copy holds, nothing of it dropped.
      expect(calls[0]).to.deep.equal(['k-x', { choose: 'theirs', theirsVersion: 3, mineRev: 1 }]);
    });

    it("keeps the user's choices when an edit of this device's replaces its copy, sets the fields it changed again, and answers on it", async () => {
      const { el, list, calls } = await mountFake([conflict('x')]);
      let box = section(el, 'x');
      radio(el, box, 'done', 'mine').click();
      radio(el, box, 'title', 'theirs').click();
      await el.updateComplete;
      // The user edits the entity elsewhere meanwhile: the title again; "done" as it was.
      list.next([conflict('x', { mine: { title: 'mine, later', done: false, count: 1 }, mineRev: 2 })]);
      await el.updateComplete;
      box = section(el, 'x');
      expect(radio(el, box, 'done', 'mine').checked, 'the choice on a field the edit left stands').to.equal(true);
      expect(radio(el, box, 'title', 'mine').checked, 'a field the edit changed: its default again').to.equal(true);
      expect(part(el, 'moved', box), "the user's own edit is no news").to.equal(null);
      part(el, 'apply', box)!.click();
      await until(() => calls.length === 1, 2000, 'resolved');
      expect(calls[0]).to.deep.equal(['k-x', { choose: 'mine', theirsVersion: 2, mineRev: 2 }]);
    });

    it('offers and sends back every own field, also one named __proto__', async () => {
      // JSON.parse makes `__proto__` an own field, as data from the server or IndexedDB has it.
      const { el, calls } = await mountFake([
        conflict('x', {
          base: JSON.parse('{"title": "base", "__proto__": "b"}') as Record<string, unknown>,
          mine: JSON.parse('{"title": "mine", "__proto__": "m"}') as Record<string, unknown>,
          theirs: JSON.parse('{"title": "theirs", "__proto__": "t"}') as Record<string, unknown>,
          fields: ['title', '__proto__'],
        }),
      ]);
      const box = section(el, 'x');
      expect(radio(el, box, '__proto__', 'mine').checked, 'a choice for __proto__, yours by default').to.equal(true);
      radio(el, box, 'title', 'theirs').click();
      radio(el, box, '__proto__', 'edit').click();
      await el.updateComplete;
      const inputs = parts<HTMLInputElement>(el, 'edit-input', box);
      expect(inputs).to.have.length(1);
      expect(inputs[0]!.value, 'the edit starts from yours').to.equal('m');
      inputs[0]!.value = 'edited';
      inputs[0]!.dispatchEvent(new Event('input'));
      await el.updateComplete;
      part(el, 'apply', box)!.click();
      await until(() => calls.length === 1, 2000, 'resolved');
      const resolution = calls[0]![1] as { data: Record<string, unknown> };
      expect(Object.keys(resolution.data).sort()).to.deep.equal(['__proto__', 'title']);
      expect(Object.hasOwn(resolution.data, '__proto__')).to.equal(true);
      expect(resolution.data['__proto__']).to.equal('edited');
      expect(resolution.data['title']).to.equal('theirs');
      expect(Object.getPrototypeOf(resolution.data)).to.equal(Object.prototype);
    });

    it('Cancel puts the choices back and fires conflict-cancel', async () => {
      const { el } = await mountFake([conflict('x')]);
      const box = section(el, 'x');
      part(el, 'all-theirs', box)!.click();
      await el.updateComplete;
      expect(radio(el, box, 'title', 'theirs').checked).to.equal(true);
      const cancelled = oneEvent(el, 'conflict-cancel') as unknown as Promise<ConflictCancelEvent>;
      part(el, 'cancel', box)!.click();
      expect((await cancelled).conflict.id).to.equal('k-x');
      await el.updateComplete;
      expect(radio(el, box, 'title', 'mine').checked).to.equal(true);
      expect(el.conflicts).to.have.length(1);
    });

    it('reads an edited non-text value as JSON, with an inline error when it is not valid', async () => {
      const { el, calls } = await mountFake([conflict('x')]);
      const box = section(el, 'x');
      radio(el, box, 'count', 'edit').click();
      await el.updateComplete;
      const input = part<HTMLInputElement>(el, 'edit-input', box)!;
      expect(input.value).to.equal('1');
      input.value = 'seven';
      input.dispatchEvent(new Event('input'));
      part(el, 'apply', box)!.click();
      await el.updateComplete;
      expect(calls).to.deep.equal([]);
      const error = part(el, 'field-error', box)!;
      expect(error.textContent).to.contain('count: not a valid value');
      expect(input.getAttribute('aria-invalid')).to.equal('true');
      expect(input.getAttribute('aria-describedby')).to.equal(error.id);
      expectFocusOn(input);
      await expect(el).to.be.accessible();
      input.value = '7';
      input.dispatchEvent(new Event('input'));
      await el.updateComplete;
      expect(part(el, 'field-error', box)).to.equal(null);
      part(el, 'apply', box)!.click();
      await until(() => calls.length === 1, 2000, 'resolved');
      expect(calls[0]![1]).to.deep.equal({
        data: { title: 'mine', done: true, count: 7 },
        theirsVersion: 2,
        mineRev: 1,
      });
    });

    it("is operated by keyboard: arrows move a field's choice, Space presses the buttons", async () => {
      const { el, calls } = await mountFake([conflict('x')]);
      const box = section(el, 'x');
      part(el, 'all-theirs', box)!.focus();
      // Tab from "Keep all of the server's" into the first field's radio group, on its checked radio.
      await sendKeys({ press: 'Tab' });
      expectFocusOn(radio(el, box, 'title', 'mine'));
      await sendKeys({ press: 'ArrowRight' });
      await el.updateComplete;
      expectFocusOn(radio(el, box, 'title', 'theirs'));
      expect(radio(el, box, 'title', 'theirs').checked).to.equal(true);
      await sendKeys({ press: 'ArrowRight' });
      await el.updateComplete;
      expect(radio(el, box, 'title', 'edit').checked).to.equal(true);
      // The edit field follows its radio in tab order.
      await sendKeys({ press: 'Tab' });
      expectFocusOn(part(el, 'edit-input', box));
      await sendKeys({ press: 'ArrowLeft' });
      part(el, 'apply', box)!.focus();
      await sendKeys({ press: ' ' });
      await until(() => calls.length === 1, 2000, 'resolved');
      expect(calls[0]![1]).to.deep.equal({ choose: 'theirs', theirsVersion: 2, mineRev: 1 });
    });

    it('moves focus to the next conflict after Apply, and to the previous one after the last', async () => {
      const { el } = await mountFake([conflict('a'), conflict('b', { id: 'k-b' }), conflict('c', { id: 'k-c' })]);
      part(el, 'apply', section(el, 'b'))!.focus();
      part(el, 'apply', section(el, 'b'))!.click();
      await until(() => el.conflicts!.length === 2, 2000, 'b gone');
      await el.updateComplete;
      expectFocusOn(part(el, 'heading', section(el, 'c')));
      part(el, 'apply', section(el, 'c'))!.focus();
      part(el, 'apply', section(el, 'c'))!.click();
      await until(() => el.conflicts!.length === 1, 2000, 'c gone');
      await el.updateComplete;
      expectFocusOn(part(el, 'heading', section(el, 'a')));
      expect(deepActiveElement()).to.not.equal(document.body);
    });

    it('is accessible with a list, one conflict, editing, and empty, in light and dark', async () => {
      // The elements follow the page's colour scheme: this page declares both, so the dark pass gets the dark palette.
      document.documentElement.style.colorScheme = 'light dark';
      try {
        for (const scheme of ['light', 'dark'] as const) {
          if (!(await useColorScheme(scheme))) continue;
          const { el, list } = await mountFake([
            conflict('a'),
            conflict('b', { id: 'k-b', theirs: null, fields: ['title', 'done', 'count'] }),
          ]);
          expect(getComputedStyle(part(el, 'base')!).backgroundColor, scheme).to.equal(
            scheme === 'dark' ? 'rgb(30, 30, 30)' : 'rgb(255, 255, 255)',
          );
          await expect(el).to.be.accessible();
          radio(el, section(el, 'a'), 'title', 'edit').click();
          await el.updateComplete;
          await expect(el).to.be.accessible();
          el.entity = 'a';
          await el.updateComplete;
          await expect(el).to.be.accessible();
          list.next([]);
          await el.updateComplete;
          expect(part(el, 'empty')).to.exist;
          await expect(el).to.be.accessible();
        }
      } finally {
        document.documentElement.style.removeProperty('color-scheme');
      }
    });

    it('takes overridden strings', async () => {
      const { el } = await mountFake(
        [conflict('x')],
        html`<conflict-resolver
        .strings=${{ apply: 'Übernehmen', conflictMarker: 'beidseitig geändert', sideMine: 'Deine' }}
      ></conflict-resolver>`,
      );
      expect(part(el, 'apply')!.textContent).to.equal('Übernehmen');
      expect(parts(el, 'marker')[0]!.textContent).to.equal('beidseitig geändert');
      expect(shadowText(el)).to.contain('Deine');
    });

    it('announces more conflicts, and nothing when silent', async () => {
      const announcer = new PageAnnouncer({ delay: 100, clearAfter: 10_000 });
      const log = liveLog();
      try {
        const fake = fakeClient([conflict('a')]);
        const provider = await fixture(
          html`<sync-provider .client=${fake.client} .announcer=${announcer}><conflict-resolver></conflict-resolver></sync-provider>`,
        );
        const el = provider.querySelector('conflict-resolver')!;
        await until(() => el.conflicts?.length === 1, 2000, 'first');
        fake.list.next([...fake.list.value, conflict('b', { id: 'k-b' })]);
        await until(() => log.said.includes('2 conflicts need your decision'), 3000, 'announced');
        el.silent = true;
        await el.updateComplete;
        fake.list.next([...fake.list.value, conflict('c', { id: 'k-c' })]);
        await new Promise((r) => setTimeout(r, 400));
        expect(log.said).to.deep.equal(['2 conflicts need your decision']);
      } finally {
        log.stop();
        announcer.dispose();
      }
    });

    it('says a refused resolve and a server copy that moved through the page announcer, with no live region of its own', async () => {
      const announcer = new PageAnnouncer({ delay: 100, clearAfter: 10_000 });
      const log = liveLog();
      try {
        const fake = fakeClient([conflict('x')]);
        (fake.client as { resolve: unknown }).resolve = () => Promise.reject(new Error('The engine stopped'));
        const provider = await fixture(
          html`<sync-provider .client=${fake.client} .announcer=${announcer}><conflict-resolver></conflict-resolver></sync-provider>`,
        );
        const el = provider.querySelector('conflict-resolver')!;
        await until(() => el.conflicts?.length === 1, 2000, 'first');
        radio(el, section(el, 'x'), 'title', 'theirs').click();
        await el.updateComplete;
        part(el, 'apply', section(el, 'x'))!.click();
        await until(() => log.said.includes('Could not resolve: The engine stopped'), 3000, 'the failure said');
        expect(part(el, 'error', section(el, 'x'))!.textContent).to.contain('The engine stopped');
        fake.list.next([conflict('x', { theirs: { title: 'newer', done: false, count: 1 }, theirsVersion: 3 })]);
        await until(() => log.said.some((s) => s.includes("The server's copy changed")), 3000, 'the move said');
        // Said once, however often the list comes again.
        fake.list.next([...fake.list.value]);
        await new Promise((r) => setTimeout(r, 300));
        expect(log.said.filter((s) => s.includes("The server's copy changed"))).to.have.length(1);
        expect(el.shadowRoot!.querySelectorAll('[role="status"], [role="alert"], [aria-live]')).to.have.length(0);
      } finally {
        log.stop();
        announcer.dispose();
      }
    });

    it('leaves no subscription open after removal', async () => {
      const t = testClient('resolver-leak');
      try {
        const counting = countingClient(t.client);
        const provider = await fixture(
          html`<sync-provider .client=${counting.client}><conflict-resolver></conflict-resolver></sync-provider>`,
        );
        const el = provider.querySelector('conflict-resolver')!;
        await until(() => el.conflicts !== undefined, 5000, 'conflicts');
        expect(counting.active).to.equal(1);
        el.remove();
        expect(counting.active).to.equal(0);
        provider.remove();
      } finally {
        await t.dispose();
      }
    });
  });
});
