// <pending-marker>: nothing when saved, the pill for pending / failed / conflict, its details on focus and hover, focus kept, entity changes, strings and leaks.
import { expect, fixture, html } from '@open-wc/testing';
import { sendKeys, sendMouse, resetMouse } from '@web/test-runner-commands';
import { clearFaults } from '../../test/support/server.ts';
import '../define.ts';
import { PendingMarkerElement } from '../index.ts';
import { expectFocusOn } from '../test/a11y.ts';
import { countingClient, entityConflict, testClient, until, type TestClient } from '../test/support.ts';

describe('<pending-marker>', () => {
  let t: TestClient;
  beforeEach(() => {
    t = testClient('marker');
  });
  afterEach(() => t.dispose());

  const mount = async (entity: string, strings = {}) => {
    const provider = await fixture(
      html`<sync-provider .client=${t.client}><pending-marker entity=${entity} .strings=${strings}></pending-marker></sync-provider>`,
    );
    return provider.querySelector('pending-marker')!;
  };
  const pill = (el: PendingMarkerElement) => el.shadowRoot!.querySelector<HTMLElement>('[part="base"]');
  const details = (el: PendingMarkerElement) => el.shadowRoot!.querySelector<HTMLElement>('[part="details"]');
  const pillText = (el: PendingMarkerElement) => pill(el)!.textContent!.trim();
  const shown = (el: PendingMarkerElement) => details(el)!.getBoundingClientRect().width > 1;

  it('is defined by the define module', () => {
    expect(customElements.get('pending-marker')).to.equal(PendingMarkerElement);
  });

  it('renders nothing while nothing is unsent for its entity', async () => {
    await t.offline();
    await t.client.enqueue(t.op('other'));
    const el = await mount(`${t.collection}/42`);
    await new Promise((r) => setTimeout(r, 100));
    expect(el.getAttribute('state')).to.equal('saved');
    expect(pill(el)).to.equal(null);
    expect(el.getBoundingClientRect().width).to.equal(0);
    await expect(el).to.be.accessible();
  });

  it('shows "pending" for a queued change, with its label as the pill\'s description, and goes away once sent', async () => {
    await t.offline();
    const el = await mount(`${t.collection}/42`);
    await t.client.enqueue(t.op('42', { label: 'Rename <b>task</b>' }));
    await until(() => el.state === 'pending', 5000, 'pending');
    await el.updateComplete;
    expect(pillText(el)).to.equal('pending');
    // The description is real text tied to the pill, not a title only a mouse can reach.
    expect(pill(el)!.getAttribute('aria-describedby')).to.equal(details(el)!.id);
    expect(details(el)!.textContent).to.equal('Rename <b>task</b>');
    expect(el.shadowRoot!.querySelector('b')).to.equal(null);
    expect(pill(el)!.hasAttribute('title')).to.equal(false);
    await expect(el).to.be.accessible();
    await clearFaults(`/api/${t.collection}`);
    await clearFaults(`/api/health/${t.collection}`);
    await t.client.syncNow();
    await until(() => el.state === 'saved', 8000, 'sent');
    await el.updateComplete;
    expect(pill(el)).to.equal(null);
  });

  it('says sync stopped in place of "pending" once its client has closed; a saved item stays unmarked', async () => {
    await t.offline();
    const el = await mount(`${t.collection}/42`);
    const saved = await mount(`${t.collection}/43`);
    await t.client.enqueue(t.op('42'));
    await until(() => el.state === 'pending', 5000, 'pending');
    t.client.close();
    await until(() => !!el.shadowRoot!.querySelector('[part~="ended"]'), 5000, 'ended');
    expect(el.shadowRoot!.querySelector('[part~="ended"]')!.textContent).to.equal('Sync stopped: reload the page');
    await saved.updateComplete;
    expect(saved.shadowRoot!.querySelector('[part~="ended"], [part="base"]')).to.equal(null);
  });

  it('can be focused with Tab; its label and error then show beside it, and Escape hides them', async () => {
    await t.failWith(400);
    const before = await fixture(html`<button>before</button>`);
    const el = await mount(`${t.collection}/a`);
    await t.client.enqueue(t.op('a', { label: 'Rename a' }));
    await until(() => el.state === 'failed', 5000, 'failed');
    await el.updateComplete;
    expect(shown(el)).to.equal(false);
    (before as HTMLElement).focus();
    await sendKeys({ press: 'Tab' });
    expectFocusOn(pill(el));
    await el.updateComplete;
    expect(shown(el)).to.equal(true);
    expect(details(el)!.textContent).to.match(/^Rename a — .+/);
    await expect(el).to.be.accessible();
    await sendKeys({ press: 'Escape' });
    await el.updateComplete;
    expect(shown(el)).to.equal(false);
    expectFocusOn(pill(el));
  });

  it('shows its details while the pointer is over it', async () => {
    await t.offline();
    const el = await mount(`${t.collection}/a`);
    await t.client.enqueue(t.op('a'));
    await until(() => el.state === 'pending', 5000, 'pending');
    await el.updateComplete;
    const box = pill(el)!.getBoundingClientRect();
    try {
      await sendMouse({
        type: 'move',
        position: [Math.round(box.x + box.width / 2), Math.round(box.y + box.height / 2)],
      });
      await until(() => shown(el), 2000, 'details on hover');
      await sendKeys({ press: 'Escape' });
      await until(() => !shown(el), 2000, 'Escape hides them');
    } finally {
      await resetMouse();
    }
  });

  it('keeps focus when its change is saved: the focused pill says "saved" until focus leaves', async () => {
    await t.offline();
    const el = await mount(`${t.collection}/a`);
    await t.client.enqueue(t.op('a'));
    await until(() => el.state === 'pending', 5000, 'pending');
    await el.updateComplete;
    pill(el)!.focus();
    await clearFaults(`/api/${t.collection}`);
    await clearFaults(`/api/health/${t.collection}`);
    await t.client.syncNow();
    await until(() => el.state === 'saved', 8000, 'sent');
    await el.updateComplete;
    expectFocusOn(pill(el));
    expect(pillText(el)).to.equal('saved');
    pill(el)!.blur();
    await el.updateComplete;
    expect(pill(el)).to.equal(null);
  });

  it('shows "failed" and "conflict"', async () => {
    await t.failWith(400);
    const failed = await mount(`${t.collection}/a`);
    await t.client.enqueue(t.op('a'));
    await until(() => failed.state === 'failed', 5000, 'failed');
    await failed.updateComplete;
    expect(pillText(failed)).to.equal('failed');
    await clearFaults(`/api/${t.collection}`);
    await t.failWith(409);
    failed.entity = `${t.collection}/b`;
    await t.client.enqueue(t.op('b', { lane: 'b' }));
    await until(() => failed.state === 'conflict', 5000, 'conflict');
    await failed.updateComplete;
    expect(pillText(failed)).to.equal('conflict');
    await expect(failed).to.be.accessible();
  });

  it('takes overridden strings and slotted text', async () => {
    await t.offline();
    await t.client.enqueue(t.op('a'));
    const el = await mount(`${t.collection}/a`, { markerPending: 'wartet' });
    await until(() => el.state === 'pending', 5000, 'pending');
    await el.updateComplete;
    expect(pillText(el)).to.equal('wartet');
    el.textContent = 'saving…';
    const slot = el.shadowRoot!.querySelector('slot')!;
    expect(
      slot
        .assignedNodes()
        .map((n) => n.textContent)
        .join(''),
    ).to.equal('saving…');
  });

  it('marks an entity with an unpushed edit "pending", and "conflict" once a conflict holds it', async () => {
    const tasks = t.client.collection<{ title: string }>(t.collection, { conflict: 'manual', pullIntervalMs: 0 });
    const el = await mount(`${t.collection}/a`);
    await entityConflict(t, tasks, 'a', { title: 'base' }, { title: 'theirs' }, { title: 'mine' });
    await until(() => el.getAttribute('state') === 'conflict', 10_000, 'conflict');
    await el.updateComplete;
    expect(pillText(el)).to.equal('conflict');
    expect(details(el)!.textContent).to.contain(`${t.collection}/a`);
    await t.offline();
    const other = await mount(`${t.collection}/b`);
    await tasks.put('b', { title: 'offline' });
    await until(() => other.getAttribute('state') === 'pending', 5000, 'pending edit');
    await expect(other).to.be.accessible();
  });

  it('leaves no subscription open after removal', async () => {
    const counting = countingClient(t.client);
    const provider = await fixture(
      html`<sync-provider .client=${counting.client}><pending-marker entity="a/1"></pending-marker></sync-provider>`,
    );
    const el = provider.querySelector('pending-marker')!;
    await el.updateComplete;
    // The entity's operations and the unpushed edits.
    expect(counting.active).to.equal(2);
    el.remove();
    expect(counting.active).to.equal(0);
  });
});
