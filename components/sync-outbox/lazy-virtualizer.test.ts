// <sync-outbox> loads @lit-labs/virtualizer only when a list is long enough to virtualize (its own test file: a fresh page and module graph).
import { expect, fixture, html } from '@open-wc/testing';
import '../define.ts';
import { testClient, until, type TestClient } from '../test/support.ts';

// An observer sees every request from now on, also once the page's resource timing buffer is full (it is, with the test framework's modules).
const fetched: string[] = [];
new PerformanceObserver((list) => fetched.push(...list.getEntries().map((entry) => entry.name))).observe({
  type: 'resource',
});

/** Whether the page has fetched any module of the virtualizer package since this file loaded. */
const virtualizerFetched = () => fetched.some((name) => name.includes('@lit-labs/virtualizer'));

describe('<sync-outbox> virtualizer loading', () => {
  let t: TestClient;
  beforeEach(() => {
    t = testClient('lazy');
  });
  afterEach(() => t.dispose());

  it('renders a short list without the virtualizer, and fetches it once a list is longer than virtualize-after', async () => {
    await t.offline();
    await t.client.enqueueMany([t.op('a'), t.op('b'), t.op('c')]);
    const provider = await fixture(
      html`<sync-provider .client=${t.client}><sync-outbox></sync-outbox></sync-provider>`,
    );
    const el = provider.querySelector('sync-outbox')!;
    await until(() => el.shadowRoot!.querySelectorAll('.item[data-id]').length === 3, 5000, 'three rows');
    expect(virtualizerFetched()).to.equal(false);
    // Not in use either: a short list is a plain list.
    expect(el.shadowRoot!.querySelector('[virtualizer-sizer]')).to.equal(null);

    el.virtualizeAfter = 2;
    await until(() => !!el.shadowRoot!.querySelector('.list.virtual [virtualizer-sizer]'), 8000, 'virtualized');
    expect(virtualizerFetched()).to.equal(true);
    await until(() => el.shadowRoot!.querySelectorAll('.item[data-id]').length === 3, 5000, 'three virtual rows');

    // Short again: every row back in the plain list.
    el.virtualizeAfter = 50;
    await until(
      () =>
        !el.shadowRoot!.querySelector('.list.virtual') &&
        el.shadowRoot!.querySelectorAll('.item[data-id]').length === 3,
      5000,
      'plain again',
    );
  });
});
