// The same elements inside a React root and a Vue app, fed by one provider, follow an enqueue made from plain JS.
import { expect } from '@open-wc/testing';
import { createApp, createElement, createRoot, flushSync, h, type App, type Root } from './support/frameworks.ts';
import '../components/define.ts';
import { createSyncClient, type SyncClient } from '../src/index.ts';
import { deleteSynclineDB } from '../src/testing.ts';
import { addFault, clearFaults, eventually, uniqueName } from './support/server.ts';

describe('framework interop', () => {
  let client: SyncClient;
  let namespace: string;
  let collection: string;
  let provider: HTMLElement & { client?: SyncClient };
  let reactRoot: Root;
  let vueApp: App;

  beforeEach(async () => {
    namespace = uniqueName('fw');
    collection = uniqueName('c');
    await addFault({ pathPrefix: `/api/${collection}`, offline: true });
    await addFault({ pathPrefix: `/api/health/${collection}`, offline: true });
    client = createSyncClient({ endpoint: '/api', namespace, mode: 'in-page', healthUrl: `/api/health/${collection}` });
    provider = document.createElement('sync-provider');
    provider.client = client;
    document.body.append(provider);
  });

  afterEach(async () => {
    reactRoot?.unmount();
    vueApp?.unmount();
    provider.remove();
    client.close();
    await clearFaults(`/api/${collection}`);
    await clearFaults(`/api/health/${collection}`);
    await deleteSynclineDB(namespace);
  });

  it('updates a badge rendered by React and one rendered by Vue when plain JS enqueues', async () => {
    const reactHost = document.createElement('div');
    const vueHost = document.createElement('div');
    provider.append(reactHost, vueHost);
    reactRoot = createRoot(reactHost);
    flushSync(() => reactRoot.render(createElement('pending-badge', { 'show-zero': true, id: 'react-badge' })));
    vueApp = createApp({ render: () => h('pending-badge', { 'show-zero': '', id: 'vue-badge' }) });
    vueApp.mount(vueHost);

    const reactBadge = reactHost.querySelector('pending-badge') as HTMLElement & { count?: number };
    const vueBadge = vueHost.querySelector('pending-badge') as HTMLElement & { count?: number };
    expect(reactBadge).to.exist;
    expect(vueBadge).to.exist;
    await eventually(() => reactBadge.count === 0 && vueBadge.count === 0, 5000, 'both badges at zero');

    await client.enqueue({ kind: 'x', label: 'From plain JS', request: { method: 'POST', url: collection, body: { id: 'a' } } });
    await eventually(() => reactBadge.count === 1 && vueBadge.count === 1, 5000, 'both badges at one');
    const shown = (el: Element) => el.shadowRoot!.querySelector('[part="count"]')!.textContent!.trim();
    expect(shown(reactBadge)).to.equal('1');
    expect(shown(vueBadge)).to.equal('1');
  });
});
