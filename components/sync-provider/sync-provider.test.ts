// <sync-provider>: creating and taking clients, context through shadow roots, late upgrade, elements moved away from it, and the no-provider state of every element.
import { expect, fixture, fixtureCleanup, html, oneEvent } from '@open-wc/testing';
import { LitElement } from 'lit';
import type { SyncClient } from '../../src/index.ts';
import { deleteSynclineDB } from '../../src/testing.ts';
import { API, eventually, uniqueName } from '../../test/support/server.ts';
import '../define.ts';
import { PendingBadgeElement, SyncClientChangedEvent, SyncProviderElement, defaultStrings } from '../index.ts';
import { shadowText, testClient, until, type TestClient } from '../test/support.ts';

/** Who the server took each write of `collection` to be from (its principal comes from the Authorization header), by entity id. */
async function principals(collection: string): Promise<Record<string, string>> {
  const page = (await (await fetch(`${API}/_admin/changes?collection=${collection}`)).json()) as {
    items: { id: string; principal: string | null }[];
  };
  return Object.fromEntries(page.items.map((c) => [c.id, c.principal ?? '']));
}

/** Replaces console.warn for a test, recording calls. */
function captureWarnings(): { calls: unknown[][]; restore(): void } {
  const original = console.warn;
  const calls: unknown[][] = [];
  console.warn = (...args: unknown[]) => void calls.push(args);
  return { calls, restore: () => (console.warn = original) };
}

describe('<sync-provider>', () => {
  let t: TestClient;
  beforeEach(() => {
    t = testClient('provider');
  });
  afterEach(() => t.dispose());

  it('is defined and takes no room', async () => {
    expect(customElements.get('sync-provider')).to.equal(SyncProviderElement);
    const el = await fixture<SyncProviderElement>(html`<sync-provider></sync-provider>`);
    expect(getComputedStyle(el).display).to.equal('contents');
    // No attributes at all: it waits for a client handed in, which is no error.
    expect(el.shadowRoot!.querySelector('[part="error"]')).to.equal(null);
  });

  it('provides a client handed in, follows a new one, and does not close it on removal', async () => {
    const el = await fixture<SyncProviderElement>(
      html`<sync-provider .client=${t.client}><pending-badge></pending-badge></sync-provider>`,
    );
    const badge = el.querySelector('pending-badge')!;
    await until(() => badge.count !== undefined, 5000, 'count');
    const other = testClient('provider-b');
    try {
      await other.offline();
      await other.client.enqueue(other.op('x'));
      setTimeout(() => (el.client = other.client));
      const event = (await oneEvent(el, SyncClientChangedEvent.type)) as unknown as SyncClientChangedEvent;
      expect(event).to.be.instanceOf(SyncClientChangedEvent);
      expect(event.client).to.equal(other.client);
      expect(event.bubbles && event.composed).to.equal(true);
      await until(() => badge.count === 1, 5000, 'badge follows the new client');
      el.remove();
      // Still usable: the provider did not own it.
      expect(await other.client.discard('nope')).to.equal(false);
    } finally {
      await other.dispose();
    }
  });

  it('is forgotten by an element moved out from under it; a provider above it again is followed', async () => {
    const el = await fixture<SyncProviderElement>(
      html`<sync-provider .client=${t.client}><pending-badge show-zero></pending-badge></sync-provider>`,
    );
    const badge = el.querySelector('pending-badge')!;
    await until(() => badge.count === 0, 5000, 'count');
    // Moved within its provider: the same client at once, no flash of another state.
    const box = document.createElement('div');
    el.append(box);
    box.append(badge);
    expect(badge.count).to.equal(0);
    const warnings = captureWarnings();
    try {
      // Out from under any provider (say, a widget kept while the app logs the user out and in again).
      document.body.append(badge);
      await badge.updateComplete;
      expect(badge.count).to.equal(undefined);
      expect(badge.shadowRoot!.querySelector('[part~="no-provider"]')!.textContent).to.equal(defaultStrings.noProvider);
      // Under the provider again: its client, handed in as a property, is followed again.
      el.append(badge);
      await until(() => badge.count === 0, 5000, 'count again');
      await badge.updateComplete;
      expect(badge.shadowRoot!.querySelector('[part~="no-provider"]')).to.equal(null);
    } finally {
      warnings.restore();
      badge.remove();
    }
  });

  it('leaves an element the client it was given directly (a subclass setting client), wherever it moves', async () => {
    class DirectBadge extends PendingBadgeElement {
      set direct(client: SyncClient) {
        this.client = client;
      }
    }
    const tag = uniqueName('direct-badge');
    customElements.define(tag, DirectBadge);
    const badge = document.createElement(tag) as DirectBadge;
    badge.direct = t.client;
    try {
      (await fixture(html`<div></div>`)).append(badge);
      await until(() => badge.count === 0, 5000, 'count');
      document.body.append(badge);
      await badge.updateComplete;
      expect(badge.count).to.equal(0);
      expect(badge.shadowRoot!.querySelector('[part~="no-provider"]')).to.equal(null);
    } finally {
      badge.remove();
    }
  });

  it('creates a client from its attributes and closes it when removed', async () => {
    const namespace = uniqueName('el-own');
    const wrapper = await fixture(html`<div></div>`);
    const el = document.createElement('sync-provider');
    el.setAttribute('endpoint', '/api');
    el.setAttribute('namespace', namespace);
    el.setAttribute('mode', 'in-page');
    el.innerHTML = '<pending-badge show-zero></pending-badge>';
    const changed = new Promise<SyncClientChangedEvent>((resolve) =>
      el.addEventListener('sync-client-changed', resolve, { once: true }),
    );
    wrapper.append(el);
    const client = (await changed).client as SyncClient;
    expect(client).to.equal(el.client);
    expect(client.namespace).to.equal(namespace);
    expect(el.mode).to.equal('in-page');
    const badge = el.querySelector('pending-badge')!;
    await until(() => badge.count === 0, 5000, 'badge reads the created client');
    el.remove();
    expect(el.client).to.equal(undefined);
    let error: unknown;
    await client.enqueue(t.op('a')).catch((e: unknown) => (error = e));
    expect((error as { code?: string }).code).to.equal('closed');
    await deleteSynclineDB(namespace);
  });

  it('logs an error and provides nothing for a bad namespace, without crashing', async () => {
    const original = console.error;
    const errors: unknown[] = [];
    console.error = (...args: unknown[]) => void errors.push(args);
    const warnings = captureWarnings();
    try {
      const el = await fixture<SyncProviderElement>(
        html`<sync-provider endpoint="/api" namespace="no spaces" mode="in-page"><pending-badge></pending-badge></sync-provider>`,
      );
      expect(el.client).to.equal(undefined);
      expect(errors.length).to.equal(1);
      const badge = el.querySelector('pending-badge')!;
      await badge.updateComplete;
      expect(shadowText(badge)).to.equal(defaultStrings.noClient);
      // A provider is there: no "missing provider" warning.
      expect(warnings.calls).to.deep.equal([]);
    } finally {
      console.error = original;
      warnings.restore();
    }
  });

  it('shows why it could not create its client as a visible alert, gone once the attributes are fixed', async () => {
    const original = console.error;
    console.error = () => {};
    const namespace = uniqueName('el-fixed');
    try {
      const el = await fixture<SyncProviderElement>(
        html`<sync-provider endpoint="/api" namespace="no spaces" mode="in-page"><pending-badge></pending-badge></sync-provider>`,
      );
      await el.updateComplete;
      const error = el.shadowRoot!.querySelector<HTMLElement>('[part="error"]')!;
      expect(error).to.exist;
      expect(error.getAttribute('role')).to.equal('alert');
      expect(error.textContent).to.match(/^Sync could not start: \S/);
      // Visible: a box on the page, not only words for assistive technology.
      expect(error.getBoundingClientRect().height).to.be.greaterThan(0);
      await expect(el).to.be.accessible();
      el.namespace = namespace;
      await until(() => el.client !== undefined, 5000, 'client created');
      await el.updateComplete;
      expect(el.shadowRoot!.querySelector('[part="error"]')).to.equal(null);
    } finally {
      console.error = original;
      fixtureCleanup();
      await deleteSynclineDB(namespace);
    }
  });

  for (const [what, attribute] of [
    ['no endpoint', ''],
    ['an empty endpoint', 'endpoint=""'],
    ['a blank endpoint', 'endpoint="   "'],
  ]) {
    it(`shows a visible alert for a namespace with ${what}, gone once the endpoint is set`, async () => {
      const original = console.error;
      const errors: unknown[][] = [];
      console.error = (...args: unknown[]) => void errors.push(args);
      const warnings = captureWarnings();
      const namespace = uniqueName('el-no-endpoint');
      try {
        const el = await fixture<SyncProviderElement>(
          `<sync-provider ${attribute} namespace="${namespace}" mode="in-page"><pending-badge show-zero></pending-badge></sync-provider>`,
        );
        await el.updateComplete;
        expect(el.client).to.equal(undefined);
        const error = el.shadowRoot!.querySelector<HTMLElement>('[part="error"]')!;
        expect(error, 'the alert').to.exist;
        expect(error.getAttribute('role')).to.equal('alert');
        expect(error.textContent).to.match(/^Sync could not start: .*`endpoint`/);
        expect(error.getBoundingClientRect().height).to.be.greaterThan(0);
        expect(errors.length, 'logged once').to.equal(1);
        const badge = el.querySelector('pending-badge')!;
        await badge.updateComplete;
        expect(shadowText(badge)).to.equal(defaultStrings.noClient);
        el.endpoint = '/api';
        await until(() => el.client !== undefined, 5000, 'client created');
        await el.updateComplete;
        expect(el.shadowRoot!.querySelector('[part="error"]')).to.equal(null);
        await until(() => badge.count === 0, 5000, 'badge reads the created client');
        expect(errors.length).to.equal(1);
        expect(warnings.calls).to.deep.equal([]);
      } finally {
        console.error = original;
        warnings.restore();
        fixtureCleanup();
        await Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]);
      }
    });
  }

  it('judges its attributes once set, not as each arrives: set one by one after it connects, no error', async () => {
    const original = console.error;
    const errors: unknown[][] = [];
    console.error = (...args: unknown[]) => void errors.push(args);
    const namespace = uniqueName('el-late-attrs');
    try {
      const wrapper = await fixture(html`<div></div>`);
      // As a framework may: created, connected, then given its attributes in the same task.
      const el = document.createElement('sync-provider');
      wrapper.append(el);
      el.setAttribute('namespace', namespace);
      el.setAttribute('mode', 'in-page');
      el.setAttribute('endpoint', '/api');
      await el.updateComplete;
      expect(el.client).to.not.equal(undefined);
      expect(el.shadowRoot!.querySelector('[part="error"]')).to.equal(null);
      expect(errors).to.deep.equal([]);
    } finally {
      console.error = original;
      fixtureCleanup();
      await Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]);
    }
  });

  it('uses `authorize` set after it created its client from markup, and each new function at the next request', async () => {
    const namespace = uniqueName('el-attr-auth');
    const collection = t.collection;
    try {
      // As an app renders it in HTML and sets the property from script: the client already exists by then.
      const el = await fixture<SyncProviderElement>(
        `<sync-provider endpoint="/api" namespace="${namespace}" mode="in-page"></sync-provider>`,
      );
      expect(el.client, 'created from the attributes at once').to.not.equal(undefined);
      const asked: string[] = [];
      el.authorize = async (request) => {
        asked.push(`${request.method} ${request.url}`);
        return { Authorization: 'Bearer bob' };
      };
      await el.updateComplete;
      await el.client!.enqueue(t.op('first'));
      await eventually(async () => 'first' in (await principals(collection)), 10_000, 'the first write');
      expect((await principals(collection))['first']).to.equal('bearer:bob');
      expect(
        asked.some((a) => a.startsWith('POST ')),
        'asked for the write',
      ).to.equal(true);
      // Another function: the next request uses it, with the same client (the elements keep their subscriptions).
      const client = el.client;
      el.authorize = () => ({ Authorization: 'Bearer carol' });
      await el.updateComplete;
      expect(el.client).to.equal(client);
      await el.client!.enqueue(t.op('second'));
      await eventually(async () => 'second' in (await principals(collection)), 10_000, 'the second write');
      expect(await principals(collection)).to.deep.equal({ first: 'bearer:bob', second: 'bearer:carol' });
      // None again: a client without a hook takes its place, announced to the elements, and sends no credentials.
      const changed = oneEvent(el, SyncClientChangedEvent.type) as unknown as Promise<SyncClientChangedEvent>;
      el.authorize = undefined;
      expect((await changed).client).to.equal(el.client);
      expect(el.client).to.not.equal(client);
      await el.client!.enqueue(t.op('third'));
      await eventually(async () => 'third' in (await principals(collection)), 10_000, 'the third write');
      expect((await principals(collection))['third']).to.equal('anonymous');
    } finally {
      fixtureCleanup();
      await Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]);
    }
  });

  it("serves an element inside another element's shadow root (a micro-frontend)", async () => {
    class MicroFrontend extends LitElement {
      override render() {
        return html`<pending-badge show-zero></pending-badge>`;
      }
    }
    const tag = uniqueName('micro-frontend');
    customElements.define(tag, MicroFrontend);
    const warnings = captureWarnings();
    const provider = await fixture(html`<sync-provider .client=${t.client}></sync-provider>`);
    const mfe = document.createElement(tag) as MicroFrontend;
    provider.append(mfe);
    await mfe.updateComplete;
    const badge = mfe.shadowRoot!.querySelector('pending-badge')!;
    await until(() => badge.count === 0, 5000, 'badge in a shadow root gets the client');
    expect(shadowText(badge)).not.to.contain(defaultStrings.noProvider);
    expect(warnings.calls).to.deep.equal([]);
    warnings.restore();
  });

  it('reaches consumers connected before it was defined (late upgrade)', async () => {
    const warnings = captureWarnings();
    const namespace = uniqueName('el-late');
    const tag = uniqueName('late-provider');
    try {
      const el = await fixture(
        `<${tag} endpoint="/api" namespace="${namespace}" mode="in-page"><pending-badge show-zero></pending-badge></${tag}>`,
      );
      const badge = el.querySelector('pending-badge')!;
      await badge.updateComplete;
      expect(shadowText(badge)).to.equal(defaultStrings.noProvider);
      customElements.define(tag, class extends SyncProviderElement {});
      await until(() => badge.count === 0, 5000, 'badge served by the late provider');
      await badge.updateComplete;
      expect(shadowText(badge)).not.to.contain(defaultStrings.noProvider);
    } finally {
      warnings.restore();
      fixtureCleanup();
      await deleteSynclineDB(namespace);
    }
  });
});

describe('elements without a provider', () => {
  for (const tag of ['pending-badge', 'pending-marker', 'sync-outbox', 'sync-status'] as const) {
    it(`<${tag}> shows a visible "no sync provider" state and warns once`, async () => {
      const warnings = captureWarnings();
      try {
        const el = await fixture<PendingBadgeElement>(`<${tag} entity="tasks/1"></${tag}>`);
        el.strings = { ...el.strings };
        await el.updateComplete;
        el.requestUpdate();
        await el.updateComplete;
        const note = el.shadowRoot!.querySelector<HTMLElement>('[part~="no-provider"]')!;
        expect(note.textContent).to.equal(defaultStrings.noProvider);
        expect(note.offsetWidth).to.be.greaterThan(0);
        expect(warnings.calls.length).to.equal(1);
        expect(String(warnings.calls[0]![0])).to.contain(`<${tag}>`);
        el.strings = { noProvider: 'Offline sync is not set up' };
        await el.updateComplete;
        expect(shadowText(el)).to.equal('Offline sync is not set up');
        await expect(el).to.be.accessible();
      } finally {
        warnings.restore();
      }
    });
  }
});
