// <sync-outbox> for keyboard and assistive technology: focus never dropped, rows present off-screen, the confirmation as a named group, a real heading.
import { expect, fixture, html } from '@open-wc/testing';
import { executeServerCommand, sendKeys } from '@web/test-runner-commands';
import { addFault, clearFaults } from '../../test/support/server.ts';
import '../define.ts';
import { deepActiveElement, expectFocusOn, frames } from '../test/a11y.ts';
import { ignoringResizeObserverLoop, outboxHelpers } from '../test/outbox.ts';
import { testClient, until, type TestClient } from '../test/support.ts';

describe('<sync-outbox> accessibility', () => {
  let t: TestClient;
  beforeEach(() => {
    t = testClient('outbox-a11y');
  });
  afterEach(() => t.dispose());

  const { mount, rows, row, inRow, waitRow } = outboxHelpers(() => t, 8000);

  it("keeps focus on a row's Retry while its operation is sent again (aria-disabled, never disabled)", async () => {
    await addFault({ pathPrefix: `/api/${t.collection}`, status: 400, latencyMs: 1500 });
    await t.client.enqueue(t.op('a'));
    const el = await mount();
    await waitRow(el, 'Create a', (r) => r.dataset.status === 'failed');
    const retry = inRow(el, 'Create a', '[part="retry"]')!;
    retry.focus();
    await sendKeys({ press: 'Enter' });
    await waitRow(el, 'Create a', (r) => r.dataset.status === 'sending');
    await el.updateComplete;
    expectFocusOn(inRow(el, 'Create a', '[part="retry"]'));
    expect(inRow(el, 'Create a', '[part="retry"]')!.getAttribute('aria-disabled')).to.equal('true');
    await waitRow(el, 'Create a', (r) => r.dataset.status === 'failed');
    await el.updateComplete;
    expectFocusOn(inRow(el, 'Create a', '[part="retry"]'));
    expect(inRow(el, 'Create a', '[part="retry"]')!.getAttribute('aria-disabled')).to.equal('false');
  });

  it('keeps focus on "Retry all" once nothing is left to retry', async () => {
    await t.failWith(400);
    await t.client.enqueueMany([t.op('a', { lane: 'x' }), t.op('b', { lane: 'y' })]);
    const el = await mount();
    await until(() => rows(el).filter((r) => r.dataset.status === 'failed').length === 2, 5000, 'two failed');
    const button = el.shadowRoot!.querySelector<HTMLButtonElement>('[part="retry-all"]')!;
    const applies = () => !button.disabled && button.getAttribute('aria-disabled') !== 'true';
    await until(applies, 2000, 'retry all applies');
    await clearFaults(`/api/${t.collection}`);
    await addFault({ pathPrefix: `/api/${t.collection}`, latencyMs: 300 });
    button.focus();
    await sendKeys({ press: 'Enter' });
    await until(
      () => !applies() && rows(el).every((r) => r.dataset.status !== 'failed'),
      5000,
      'nothing left to retry',
    );
    await el.updateComplete;
    expectFocusOn(button);
    expect(button.getAttribute('aria-disabled')).to.equal('true');
    await until(() => el.total === 0, 8000, 'all sent');
    expectFocusOn(button);
  });

  it('moves focus to the next row after a discard, and to the empty message after the last one', async () => {
    await t.offline();
    await t.client.enqueueMany([t.op('a'), t.op('b')]);
    const el = await mount();
    await waitRow(el, 'Create b');
    const discardFromKeyboard = async (label: string) => {
      inRow(el, label, '[part="discard"]')!.focus();
      await sendKeys({ press: 'Enter' });
      await until(() => deepActiveElement() === inRow(el, label, '[part="keep"]'), 2000, 'focus on Keep');
      // A chord through the test runner config's press-chord: sendKeys' down/up do not exist for WebDriver.
      await executeServerCommand('press-chord', { keys: ['Shift', 'Tab'] });
      expectFocusOn(inRow(el, label, '[part="confirm-discard"]'));
      await sendKeys({ press: 'Enter' });
    };
    await discardFromKeyboard('Create a');
    await until(() => !row(el, 'Create a'), 5000, 'a discarded');
    await el.updateComplete;
    expectFocusOn(inRow(el, 'Create b', '[part="discard"]'));
    await discardFromKeyboard('Create b');
    await until(() => el.total === 0, 5000, 'b discarded');
    await el.updateComplete;
    expectFocusOn(el.shadowRoot!.querySelector('[part="empty"]'));
  });

  it('makes the confirmation a group named by its question, and Escape keeps the operation', async () => {
    await t.offline();
    await t.client.enqueue(t.op('a'));
    const el = await mount();
    await waitRow(el, 'Create a');
    inRow(el, 'Create a', '[part="discard"]')!.focus();
    await sendKeys({ press: 'Enter' });
    await until(() => deepActiveElement() === inRow(el, 'Create a', '[part="keep"]'), 2000, 'focus on Keep');
    const group = inRow(el, 'Create a', '[part="confirm-group"]')!;
    expect(group.getAttribute('role')).to.equal('group');
    const name = el.shadowRoot!.getElementById(group.getAttribute('aria-labelledby')!)!;
    expect(name.textContent).to.equal('Discard "Create a"?');
    expect(group.contains(inRow(el, 'Create a', '[part="keep"]'))).to.equal(true);
    await expect(el).to.be.accessible();
    await sendKeys({ press: 'Escape' });
    await el.updateComplete;
    expect(inRow(el, 'Create a', '[part="confirm-group"]')).to.equal(null);
    expectFocusOn(inRow(el, 'Create a', '[part="discard"]'));
    expect(el.total).to.equal(1);
  });

  it('has a real heading, level 2 unless heading-level says otherwise', async () => {
    const el = await mount();
    const heading = el.shadowRoot!.querySelector('[part="heading"]')!;
    expect(heading.getAttribute('role')).to.equal('heading');
    expect(heading.getAttribute('aria-level')).to.equal('2');
    el.setAttribute('heading-level', '3');
    await el.updateComplete;
    expect(heading.getAttribute('aria-level')).to.equal('3');
  });

  for (const [kind, count] of [
    ['short', 3],
    ['long', 120],
  ] as const) {
    it(`offers the rows of a ${kind} list to assistive technology while the outbox is below the fold`, async () => {
      // A long list is virtualized: see ignoringResizeObserverLoop.
      await ignoringResizeObserverLoop(async () => {
        await t.offline();
        await t.client.enqueueMany(Array.from({ length: count }, (_, i) => t.op(`r${i}`)));
        const provider = await fixture(
          html`<div><div style="height: 3000px"></div><sync-provider .client=${t.client}><sync-outbox></sync-outbox></sync-provider></div>`,
        );
        const el = provider.querySelector('sync-outbox')!;
        expect(el.getBoundingClientRect().top).to.be.greaterThan(window.innerHeight);
        await until(() => el.total === count, 5000, 'counted');
        // The virtualizer itself, not the plain first screenful shown while it loads.
        if (kind === 'long')
          await until(() => !!el.shadowRoot!.querySelector('[part="list"] [virtualizer-sizer]'), 8000, 'virtualized');
        await until(() => rows(el).length >= Math.min(count, 3), 5000, 'rows while off-screen');
        await frames();
        const items = el.shadowRoot!.querySelectorAll('[role="listitem"]');
        if (kind === 'short') expect(items.length).to.equal(count);
        else expect(items.length).to.be.greaterThan(0).and.lessThan(count);
        await expect(el).to.be.accessible();
      });
    });

    it(`keeps the focused row of a ${kind} list rendered and focused when the page scrolls the outbox out of view`, async () => {
      await ignoringResizeObserverLoop(async () => {
        await t.offline();
        await t.client.enqueueMany(Array.from({ length: count }, (_, i) => t.op(`r${i}`)));
        const provider = await fixture(
          html`<div><sync-provider .client=${t.client}><sync-outbox></sync-outbox></sync-provider><div style="height: 4000px"></div></div>`,
        );
        const el = provider.querySelector('sync-outbox')!;
        await until(() => !!row(el, 'Create r2'), 8000, 'row r2');
        // A long list virtualizes once its module has loaded.
        if (kind === 'long')
          await until(() => !!el.shadowRoot!.querySelector('[part="list"] [virtualizer-sizer]'), 8000, 'virtualized');
        const button = inRow(el, 'Create r2', '[part="discard"]')!;
        button.focus();
        try {
          window.scrollTo(0, 3000);
          await frames(4);
          await new Promise((r) => setTimeout(r, 300));
          await frames(2);
          expect(el.getBoundingClientRect().bottom).to.be.lessThan(0);
          expect(button.isConnected, 'the focused row is still rendered').to.equal(true);
          expectFocusOn(button);
        } finally {
          window.scrollTo(0, 0);
        }
      });
    });
  }
});
