// The demo page's own markup and styles (no scripts): it fits a 320 px wide screen, and its link is readable in dark
// mode. And the demo app on the reference server: edits through Background Sync, deletes through the queue, only a
// task's own fields sent, and an offline edit that meets an "Edit on server" resolved in <conflict-resolver>.
import { expect } from '@open-wc/testing';
import '../components/define.ts';
import type { ConflictResolverElement } from '../components/index.ts';
import { firstValueFrom } from 'rxjs';
import { createSyncClient, type SyncClient } from '../src/index.ts';
import { contrast, effectiveBackground, parseColor, useColorScheme } from '../components/test/a11y.ts';
import { TaskBoard } from '../demo/tasks.ts';
import { mountConflictsCard, mountPlainPanel } from '../demo/plain.ts';
import { mountFaultPanel } from '../demo/faults.ts';
import { API, clearFaults, eventually, serverItems, uniqueName } from './support/server.ts';

/** demo/index.html with its scripts removed, in a same-origin frame of the given width. */
async function demoFrame(width: number): Promise<HTMLIFrameElement> {
  const source = await (await fetch('/demo/index.html')).text();
  // Scripts out; the stylesheet by its path from the root (an srcdoc frame resolves relative URLs against this page).
  const markup = source
    .replace(/<script\b[\s\S]*?<\/script>/g, '')
    .replace('href="./demo.css"', 'href="/demo/demo.css"');
  const frame = document.createElement('iframe');
  frame.style.cssText = `width: ${width}px; height: 600px; border: 0`;
  const loaded = new Promise((resolve) => frame.addEventListener('load', resolve, { once: true }));
  frame.srcdoc = markup;
  document.body.append(frame);
  await loaded;
  const doc = frame.contentDocument!;
  // The stylesheet, applied.
  await new Promise<void>((resolve) => {
    const check = () => (getComputedStyle(doc.body).margin === '0px' ? resolve() : setTimeout(check, 20));
    check();
  });
  return frame;
}

describe('demo page', () => {
  let frame: HTMLIFrameElement | undefined;
  afterEach(async () => {
    frame?.remove();
    frame = undefined;
    await useColorScheme('light');
  });

  it('fits a 320 px wide screen without scrolling sideways', async () => {
    frame = await demoFrame(320);
    const doc = frame.contentDocument!;
    // The layout width: 320 less a classic scrollbar where the engine draws one (Firefox).
    const width = doc.documentElement.clientWidth;
    expect(width).to.be.within(300, 320);
    const wide = [...doc.body.querySelectorAll('*')]
      .filter((el) => el.getBoundingClientRect().right > width + 0.5)
      .map((el) => el.localName + (el.id ? `#${el.id}` : ''));
    expect(wide, 'elements past the right edge').to.deep.equal([]);
    expect(doc.documentElement.scrollWidth).to.equal(width);
  });

  for (const scheme of ['light', 'dark'] as const) {
    it(`makes "Open in a second tab" readable at 4.5:1 (${scheme})`, async function () {
      // Dark is checked only where the scheme can be emulated (Chromium).
      if (!(await useColorScheme(scheme))) this.skip();
      frame = await demoFrame(800);
      const link = frame.contentDocument!.querySelector('header a')!;
      expect(link.textContent).to.equal('Open in a second tab');
      const colour = parseColor(frame.contentWindow!.getComputedStyle(link).color);
      expect(contrast(colour, effectiveBackground(link))).to.be.at.least(4.5);
    });
  }
});

interface StoredTask {
  version: number;
  data: Record<string, unknown>;
}

/** What the server stores for a task, read past the fault switches. */
async function stored(collection: string, id: string): Promise<StoredTask> {
  return (await fetch(`${API}/_admin/direct/${collection}/${id}`)).json() as Promise<StoredTask>;
}

/** Every write the server applied to a collection: [id, version, deleted, principal]. */
async function writes(collection: string): Promise<[string, number, boolean, string | null][]> {
  const page = (await (await fetch(`${API}/_admin/changes?collection=${collection}`)).json()) as {
    items: { id: string; version: number; deleted: boolean; principal: string | null }[];
  };
  return page.items.map((e) => [e.id, e.version, e.deleted, e.principal]);
}

describe('demo app', () => {
  let collection: string;
  let client: SyncClient;
  let root: HTMLElement;
  let subscriptions: { unsubscribe(): void }[];
  const realPrompt = window.prompt;

  beforeEach(async () => {
    collection = uniqueName('demo-tasks');
    client = createSyncClient({
      endpoint: '/api',
      namespace: uniqueName('demo'),
      mode: 'in-page',
      heartbeatMs: 200,
      probeIntervalMs: 250,
    });
    // The page's own markup, its provider given this test's client (no SharedWorker of its own, no unload warning).
    const source = await (await fetch('/demo/index.html')).text();
    const body = /<body>([\s\S]*)<\/body>/
      .exec(source)![1]!
      .replace(/<script\b[\s\S]*?<\/script>/g, '')
      .replace(/ warn-on-unload/g, '');
    const template = document.createElement('template');
    template.innerHTML = body.replace(' endpoint="/api" namespace="demo"', '');
    root = document.createElement('div');
    const content = document.importNode(template.content, true);
    (content.querySelector('sync-provider') as HTMLElement & { client: SyncClient }).client = client;
    root.append(content);
    document.body.append(root);
    const board = new TaskBoard(client, { path: collection, pullIntervalMs: 500 });
    subscriptions = [
      mountPlainPanel(board, root),
      mountConflictsCard(client, root.querySelector<HTMLElement>('#conflicts')!, board),
    ];
    mountFaultPanel(root.querySelector<HTMLFormElement>('#faults')!, { tasks: `/api/${collection}` });
  });

  afterEach(async () => {
    window.prompt = realPrompt;
    for (const s of subscriptions) s.unsubscribe();
    root.remove();
    client.close();
    await fetch(`${API}/_admin/faults`, { method: 'DELETE' });
    await clearFaults('/api/health');
  });

  const row = (title: string) =>
    [...root.querySelectorAll<HTMLLIElement>('#task-list li')].find(
      (li) => li.querySelector('.title')!.textContent === title,
    );
  const rowButton = (li: HTMLLIElement, text: string) =>
    [...li.querySelectorAll('button')].find((b) => b.textContent === text)!;
  const marker = (li: HTMLLIElement) => li.querySelector('pending-marker')!;
  const serverSwitch = async (off: boolean) => {
    const box = root.querySelector<HTMLInputElement>('#faults input[name="offline"]')!;
    expect(box.checked).to.equal(!off);
    box.click();
    await eventually(
      async () => {
        const { rules } = (await (await fetch(`${API}/_admin/faults`)).json()) as { rules: { offline?: boolean }[] };
        return rules.some((r) => r.offline) === off;
      },
      5000,
      `server switched ${off ? 'off' : 'on'}`,
    );
  };
  const add = async (title: string) => {
    const input = root.querySelector<HTMLInputElement>('#add-title')!;
    input.value = title;
    root.querySelector<HTMLFormElement>('#add-form')!.requestSubmit();
    await eventually(() => row(title) !== undefined, 5000, `"${title}" listed`);
    return row(title)!.dataset['id']!;
  };
  // Exactly these fields: the UI's own (pending, deleting, conflict, ...) never reach the server.
  const sorted = (data: Record<string, unknown> | null | undefined) =>
    JSON.stringify(Object.entries(data ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)));
  const onServer = (id: string, data: Record<string, unknown>) =>
    eventually(
      async () => sorted((await stored(collection, id)).data) === sorted(data),
      15_000,
      `server has exactly ${JSON.stringify(data)}`,
    );

  it("sends only a task's own fields: edits through Background Sync, the delete through the queue after them", async () => {
    const id = await add('Buy milk');
    await onServer(id, { title: 'Buy milk', done: false });
    row('Buy milk')!.querySelector<HTMLInputElement>('input[type="checkbox"]')!.click();
    await onServer(id, { title: 'Buy milk', done: true });

    // Offline: the edit shows at once and waits, marked; the delete waits in the queue, the task marked deleting.
    await serverSwitch(true);
    window.prompt = () => 'Buy oat milk';
    rowButton(row('Buy milk')!, 'Edit').click();
    await eventually(
      () => row('Buy oat milk') !== undefined && marker(row('Buy oat milk')!).getAttribute('state') === 'pending',
      5000,
      'edit shown, marked pending',
    );
    rowButton(row('Buy oat milk')!, 'Delete').click();
    await eventually(() => row('Buy oat milk')?.classList.contains('deleting') === true, 5000, 'marked deleting');
    const queued = await firstValueFrom(client.operations$);
    expect(queued.map((op) => [op.request.method, op.entity])).to.deep.equal([['DELETE', { type: 'tasks', id }]]);

    await serverSwitch(false);
    await eventually(
      () => root.querySelectorAll('#task-list li').length === 0,
      15_000,
      'the deleted task leaves the list',
    );
    // The edit went out before the delete; every stored version holds the task's own fields only.
    expect((await writes(collection)).map(([, version, deleted]) => [version, deleted])).to.deep.equal([
      [1, false],
      [2, false],
      [3, false],
      [4, true],
    ]);
    expect((await serverItems(collection)).map((i) => [i.id, i.deleted])).to.deep.equal([[id, true]]);
  });

  it('an offline edit that meets "Edit on server" is a conflict, resolved in <conflict-resolver>; the server gets the choice', async () => {
    const id = await add('Call the plumber');
    await onServer(id, { title: 'Call the plumber', done: false });
    const card = root.querySelector<HTMLElement>('#conflicts')!;
    expect(card.hidden, 'no conflicts card while there are none').to.equal(true);

    await serverSwitch(true);
    window.prompt = () => 'Call the plumber at 9';
    rowButton(row('Call the plumber')!, 'Edit').click();
    await eventually(() => row('Call the plumber at 9') !== undefined, 5000, 'offline edit shown');
    // Another user changes the same task on the server, past the switches.
    rowButton(row('Call the plumber at 9')!, 'Edit on server').click();
    await onServer(id, { title: 'Call the plumber (edited elsewhere)', done: false });
    const conflictMarked = () => marker(row('Call the plumber at 9')!).getAttribute('state') === 'conflict';
    expect(conflictMarked(), 'no conflict while offline').to.equal(false);

    await serverSwitch(false);
    const resolver = root.querySelector<ConflictResolverElement>('conflict-resolver')!;
    await eventually(() => resolver.conflicts?.length === 1, 15_000, 'the conflict shown');
    await eventually(() => !card.hidden && conflictMarked(), 5000, 'card shown, task marked in conflict');
    expect(root.querySelector('pending-badge')!.getAttribute('state')).to.equal('conflict');
    const [conflict] = resolver.conflicts!;
    expect([conflict!.entityId, conflict!.fields]).to.deep.equal([id, ['title']]);
    expect([conflict!.mine, conflict!.theirs]).to.deep.equal([
      { title: 'Call the plumber at 9', done: false },
      { title: 'Call the plumber (edited elsewhere)', done: false },
    ]);

    // Headed by the task's title, not its id.
    await resolver.updateComplete;
    expect(resolver.shadowRoot!.querySelector('[part~="heading"]')!.textContent).to.contain(
      '"Call the plumber at 9": changed here and on the server',
    );

    // Field by field: the title edited by hand, then Apply.
    const shadow = resolver.shadowRoot!;
    shadow.querySelector<HTMLInputElement>('input[type="radio"][name$=":title"][value="edit"]')!.click();
    await resolver.updateComplete;
    const input = shadow.querySelector<HTMLInputElement>('[part~="edit-input"]')!;
    input.value = 'Call the plumber at 10';
    input.dispatchEvent(new Event('input'));
    await resolver.updateComplete;
    shadow.querySelector<HTMLButtonElement>('[part~="apply"]')!.click();

    await onServer(id, { title: 'Call the plumber at 10', done: false });
    await eventually(
      () =>
        card.hidden &&
        row('Call the plumber at 10') !== undefined &&
        marker(row('Call the plumber at 10')!).getAttribute('state') === 'saved',
      10_000,
      'resolved, saved',
    );
    expect((await writes(collection)).map(([, version, , principal]) => [version, principal])).to.deep.equal([
      [1, 'anonymous'],
      [2, 'admin'],
      [3, 'anonymous'],
    ]);
  });
});
