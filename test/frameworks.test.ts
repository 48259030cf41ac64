// The same elements inside a React root and a Vue app, fed by one provider, follow an enqueue made from plain JS.
import { expect } from '@open-wc/testing';
import { createApp, createElement, createRoot, flushSync, h, type App, type Root } from './support/frameworks.ts';
import '../components/define.ts';
import { BehaviorSubject } from 'rxjs';
import { createSyncClient, type Conflict, type Resolution, type SyncClient } from '../src/index.ts';
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

    await client.enqueue({
      kind: 'x',
      label: 'From plain JS',
      request: { method: 'POST', url: collection, body: { id: 'a' } },
    });
    await eventually(() => reactBadge.count === 1 && vueBadge.count === 1, 5000, 'both badges at one');
    const shown = (el: Element) => el.shadowRoot!.querySelector('[part="count"]')!.textContent!.trim();
    expect(shown(reactBadge)).to.equal('1');
    expect(shown(vueBadge)).to.equal('1');
  });

  it('resolves a conflict from a <conflict-resolver> in plain HTML, in React and in Vue, with its events heard by each', async () => {
    const conflict = (id: string): Conflict => ({
      id: `k-${id}`,
      collection: 'tasks',
      entityId: id,
      base: { title: 'base' },
      mine: { title: 'mine' },
      mineRev: 1,
      theirs: { title: 'theirs' },
      theirsVersion: 2,
      fields: ['title'],
      detectedBy: '412',
      detectedAt: 1,
    });
    const list = new BehaviorSubject<Conflict[]>([conflict('plain'), conflict('react'), conflict('vue')]);
    const calls: [string, Resolution][] = [];
    // Only what the resolver reads: the framework wiring is what is under test here, the engine is tested beside the element.
    const fake = {
      conflicts$: list.asObservable(),
      resolve: async (id: string, resolution: Resolution) => {
        calls.push([id, resolution]);
        list.next(list.value.filter((c) => c.id !== id));
        return null;
      },
    } as unknown as SyncClient;
    const resolverProvider = document.createElement('sync-provider') as HTMLElement & { client?: SyncClient };
    resolverProvider.client = fake;
    provider.append(resolverProvider);
    const plainHost = document.createElement('div');
    plainHost.innerHTML = '<conflict-resolver entity="plain"></conflict-resolver>';
    const reactHost = document.createElement('div');
    const vueHost = document.createElement('div');
    resolverProvider.append(plainHost, reactHost, vueHost);
    const heard: string[] = [];
    reactRoot = createRoot(reactHost);
    flushSync(() =>
      reactRoot.render(
        createElement('conflict-resolver', {
          entity: 'react',
          'onconflict-resolved': () => heard.push('react'),
        } as never),
      ),
    );
    vueApp = createApp({
      render: () => h('conflict-resolver', { entity: 'vue', onConflictResolved: () => heard.push('vue') }),
    });
    vueApp.mount(vueHost);
    plainHost.addEventListener('conflict-resolved', () => heard.push('plain'));

    const resolvers = [plainHost, reactHost, vueHost].map(
      (host) =>
        host.querySelector('conflict-resolver') as HTMLElement & {
          conflicts?: readonly Conflict[];
          updateComplete: Promise<unknown>;
        },
    );
    await eventually(() => resolvers.every((r) => r.conflicts?.length === 1), 5000, 'each shows its conflict');
    for (const resolver of resolvers) {
      await resolver.updateComplete;
      resolver.shadowRoot!.querySelector<HTMLElement>('[part~="all-theirs"]')!.click();
      await resolver.updateComplete;
      resolver.shadowRoot!.querySelector<HTMLElement>('[part~="apply"]')!.click();
    }
    await eventually(() => heard.length === 3, 5000, 'three conflict-resolved events');
    expect(heard.sort()).to.deep.equal(['plain', 'react', 'vue']);
    expect(calls.map(([id, r]) => [id, r])).to.deep.equal([
      ['k-plain', { choose: 'theirs', theirsVersion: 2, mineRev: 1 }],
      ['k-react', { choose: 'theirs', theirsVersion: 2, mineRev: 1 }],
      ['k-vue', { choose: 'theirs', theirsVersion: 2, mineRev: 1 }],
    ]);
  });
});
