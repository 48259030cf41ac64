// <pending-badge>: count, state in words and shape, filters, zero handling, strings, leaks and the no-provider state (announcements: ../announcements.test.ts).
import { expect, fixture, html } from '@open-wc/testing';
import '../define.ts';
import { PendingBadgeElement } from '../index.ts';
import { clearFaults } from '../../test/support/server.ts';
import { accessibleText } from '../test/a11y.ts';
import { countingClient, entityConflict, shadowText, testClient, until, type TestClient } from '../test/support.ts';

describe('<pending-badge>', () => {
  let t: TestClient;
  beforeEach(() => {
    t = testClient('badge');
  });
  afterEach(() => t.dispose());

  const mount = async (badge = html`<pending-badge></pending-badge>`) => {
    const provider = await fixture(html`<sync-provider .client=${t.client}>${badge}</sync-provider>`);
    const el = provider.querySelector('pending-badge')!;
    await until(() => el.count !== undefined, 5000, 'first count');
    await el.updateComplete;
    return el;
  };
  const count = (el: PendingBadgeElement) => el.shadowRoot!.querySelector('[part="count"]')!.textContent!.trim();
  const base = (el: PendingBadgeElement) => el.shadowRoot!.querySelector<HTMLElement>('[part="base"]')!;

  it('is defined by the define module', () => {
    expect(customElements.get('pending-badge')).to.equal(PendingBadgeElement);
    expect(document.createElement('pending-badge')).to.be.instanceOf(PendingBadgeElement);
  });

  it('is hidden at zero, and shows 0 with show-zero', async () => {
    const el = await mount();
    expect(el.count).to.equal(0);
    expect(el.getAttribute('state')).to.equal('saved');
    expect(base(el).hidden).to.equal(true);
    el.showZero = true;
    await el.updateComplete;
    expect(el.hasAttribute('show-zero')).to.equal(true);
    expect(base(el).hidden).to.equal(false);
    expect(count(el)).to.equal('0');
    await expect(el).to.be.accessible();
  });

  it('counts unsent changes and reflects state="pending"', async () => {
    await t.offline();
    const el = await mount();
    await t.client.enqueueMany([t.op('a'), t.op('b'), t.op('c')]);
    await until(() => el.count === 3, 5000, 'count 3');
    await el.updateComplete;
    expect(el.getAttribute('state')).to.equal('pending');
    expect(count(el)).to.equal('3');
    expect(shadowText(el)).to.contain('3 changes not yet saved');
    expect(base(el).hidden).to.equal(false);
    await expect(el).to.be.accessible();
  });

  it('reflects state="failed" for a rejected change and "conflict" over it', async () => {
    await t.failWith(400);
    const el = await mount();
    await t.client.enqueue(t.op('a'));
    await until(() => el.getAttribute('state') === 'failed', 5000, 'failed');
    await clearFaults(`/api/${t.collection}`);
    await t.failWith(409);
    await t.client.enqueue(t.op('b', { lane: 'other' }));
    await until(() => el.getAttribute('state') === 'conflict', 5000, 'conflict');
    expect(el.count).to.equal(2);
    await expect(el).to.be.accessible();
  });

  it('filters by lane, kind and entity, and follows attribute changes', async () => {
    await t.offline();
    await t.client.enqueueMany([
      t.op('a', { lane: 'x', kind: 'task.create' }),
      t.op('b', { lane: 'x', kind: 'task.delete' }),
      t.op('c', { lane: 'y', kind: 'task.delete' }),
    ]);
    const el = await mount(html`<pending-badge lane="x"></pending-badge>`);
    await until(() => el.count === 2, 5000, 'lane x');
    el.setAttribute('lane', 'y');
    await until(() => el.count === 1, 5000, 'lane y');
    el.removeAttribute('lane');
    el.setAttribute('kind', 'task.delete');
    await until(() => el.count === 2, 5000, 'kind');
    el.removeAttribute('kind');
    el.setAttribute('entity', `${t.collection}/c`);
    expect(el.entity).to.equal(`${t.collection}/c`);
    await until(() => el.count === 1, 5000, 'entity');
  });

  it('says failed and conflict in words and marks them with an icon, not by colour alone', async () => {
    await t.failWith(400);
    const el = await mount();
    const words = () => el.shadowRoot!.querySelector('.visually-hidden')!.textContent!.trim();
    const icon = () => el.shadowRoot!.querySelector<SVGElement>('[part="icon"]');
    await t.client.enqueue(t.op('a'));
    await until(() => el.getAttribute('state') === 'failed', 5000, 'failed');
    await el.updateComplete;
    expect(words()).to.equal('1 change failed to save');
    expect(icon()!.dataset.icon).to.equal('failed');
    expect(icon()!.getBoundingClientRect().width).to.be.greaterThan(0);
    await clearFaults(`/api/${t.collection}`);
    await t.failWith(409);
    await t.client.enqueue(t.op('b', { lane: 'other' }));
    await until(() => el.getAttribute('state') === 'conflict', 5000, 'conflict');
    await el.updateComplete;
    expect(words()).to.equal('1 change in conflict, 1 change failed to save');
    expect(icon()!.dataset.icon).to.equal('conflict');
    await expect(el).to.be.accessible();
  });

  it('shows no icon while changes are only pending, and names them', async () => {
    await t.offline();
    const el = await mount();
    await t.client.enqueueMany([t.op('a'), t.op('b')]);
    await until(() => el.count === 2, 5000, 'count 2');
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[part="icon"]')).to.equal(null);
    expect(accessibleText(el)).to.equal('2 changes not yet saved');
  });

  it('is really hidden at zero, and adds its words once to a heading that holds it', async () => {
    await t.offline();
    const provider = await fixture(
      html`<sync-provider .client=${t.client}><h2>Tasks <pending-badge></pending-badge></h2></sync-provider>`,
    );
    const heading = provider.querySelector('h2')!;
    const el = provider.querySelector('pending-badge')!;
    await until(() => el.count === 0, 5000, 'count 0');
    await el.updateComplete;
    expect(getComputedStyle(base(el)).display).to.equal('none');
    expect(el.getBoundingClientRect().width).to.equal(0);
    expect(accessibleText(heading)).to.equal('Tasks');
    await t.client.enqueueMany([t.op('a'), t.op('b'), t.op('c')]);
    await until(() => el.count === 3, 5000, 'count 3');
    await el.updateComplete;
    expect(accessibleText(heading)).to.equal('Tasks 3 changes not yet saved');
    // Announcements go to the page's region, never into the heading: the badge holds no live region of its own.
    expect(el.shadowRoot!.querySelector('[aria-live], [role="status"]')).to.equal(null);
  });

  it('counts unpushed Background Sync edits, and an edit in conflict as a conflict, but not under a lane filter', async () => {
    const tasks = t.client.collection<{ title: string }>(t.collection, { conflict: 'manual', pullIntervalMs: 0 });
    const el = await mount(
      html`<pending-badge entity=${`${t.collection}/a`}></pending-badge><pending-badge lane="x"></pending-badge><pending-badge></pending-badge>`,
    );
    const [one, lane, all] = [...el.parentElement!.querySelectorAll('pending-badge')];
    await entityConflict(t, tasks, 'a', { title: 'base' }, { title: 'theirs' }, { title: 'mine' });
    await until(
      () => one!.getAttribute('state') === 'conflict' && all!.getAttribute('state') === 'conflict',
      10_000,
      'conflict counted',
    );
    await t.offline();
    await tasks.put('b', { title: 'offline edit' });
    await until(() => all!.count === 2, 5000, 'edit counted');
    await all!.updateComplete;
    expect(one!.count).to.equal(1);
    expect(lane!.count).to.equal(0);
    expect(all!.shadowRoot!.querySelector('.visually-hidden')!.textContent!.trim()).to.equal(
      '1 change in conflict, 1 change not yet saved',
    );
    await expect(all!).to.be.accessible();
  });

  it('takes overridden strings', async () => {
    await t.offline();
    const el = await mount(
      html`<pending-badge .strings=${{ pendingCount: (n: number) => `${n} Änderungen offen` }}></pending-badge>`,
    );
    await t.client.enqueue(t.op('a'));
    await until(() => el.count === 1, 5000, 'count');
    await el.updateComplete;
    expect(shadowText(el)).to.contain('1 Änderungen offen');
  });

  it('says sync stopped once its client has closed, instead of a count that no longer moves', async () => {
    await t.offline();
    const el = await mount();
    await t.client.enqueue(t.op('a'));
    await until(() => el.count === 1, 5000, 'count 1');
    t.client.close();
    await until(() => !!el.shadowRoot!.querySelector('[part~="ended"]'), 5000, 'ended');
    expect(shadowText(el)).to.equal('Sync stopped: reload the page');
    expect(el.shadowRoot!.querySelector('[part="count"]')).to.equal(null);
    await expect(el).to.be.accessible();
  });

  it('leaves no subscription open after removal', async () => {
    const counting = countingClient(t.client);
    const provider = await fixture(
      html`<sync-provider .client=${counting.client}><pending-badge></pending-badge></sync-provider>`,
    );
    const el = provider.querySelector('pending-badge')!;
    await until(() => el.count !== undefined, 5000, 'count');
    // The three operation counts, the unpushed edits and the last sync time.
    expect(counting.active).to.equal(5);
    el.remove();
    expect(counting.active).to.equal(0);
    provider.append(el);
    await until(() => counting.active === 5, 5000, 'resubscribed on reconnect');
    provider.remove();
    expect(counting.active).to.equal(0);
  });
});
