// One engine per namespace, whatever runs it: the engine lock, version hand-over, liveness by locks, bounded and deduplicated calls.
import { expect } from '@open-wc/testing';
import { createSyncClient, resolveConfig, SynclineError, type Operation, type SyncClient } from '../src/index.ts';
import { deleteSynclineDB, operationId } from '../src/testing.ts';
import { DB_VERSION } from '../src/engine/db.ts';
import { EngineHost } from '../src/rpc/host.ts';
import { EngineConnection, type ConnectionState, type PageAuthorizeHook } from '../src/rpc/connection.ts';
import { PROTOCOL_VERSION, portLink, type Link } from '../src/rpc/protocol.ts';
import { broadcastLink } from '../src/runtime/broadcast.ts';
import { channelName, engineLockName, queuedLockName, tabLockName } from '../src/runtime/names.ts';
import { startEngine } from '../src/runtime/start-engine.ts';
import type { TabCall } from '../src/engine/background.ts';
import { CollectionHandle, conflictList } from '../src/collection.ts';
import {
  API,
  addFault,
  clearFaults,
  eventually,
  requestCount,
  serverItems,
  serverPut,
  uniqueName,
} from './support/server.ts';
import { follow, openFrame, type Frame } from './support/frames.ts';
import { leaveNewerDatabase } from './support/databases.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function newHost(options: Partial<ConstructorParameters<typeof EngineHost>[0]> = {}): EngineHost {
  const host = new EngineHost({ runtime: 'in-page', startEngine, ...options });
  cleanups.push(() => host.close());
  return host;
}

/**
 * A runtime whose engine does `method`, then keeps its answer until the test ends: as if the engine went (its tab
 * closed, its worker was killed) after the call took effect and before its answer left.
 */
function hostWithheldAnswer(method: 'enqueue' | 'discard' | 'entityDelete' | 'entityPut' | 'entityPatch'): EngineHost {
  let answer!: () => void;
  const answered = new Promise<void>((r) => (answer = r));
  cleanups.push(() => answer());
  return newHost({
    startEngine: async (config, onVersionChange) => {
      const engine = await startEngine(config, onVersionChange);
      const calls = engine as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      const run = calls[method]!.bind(engine);
      calls[method] = async (...args) => {
        const value = await run(...args);
        await answered;
        return value;
      };
      return engine;
    },
  });
}

/** An engine of the previous protocol running the namespace, with a tab of its version on it (a deploy's "before"). */
async function olderEngine(namespace: string): Promise<{ oldHost: EngineHost; oldTab: TestTab }> {
  cleanups.push(() => deleteSynclineDB(namespace));
  const older = { protocol: PROTOCOL_VERSION - 1, schema: DB_VERSION };
  const oldHost = newHost({ versions: older });
  const oldTab = await tab(namespace, oldHost, { versions: older });
  await oldTab.connection.ready(5_000);
  return { oldHost, oldTab };
}

/**
 * Tabs (as many as asked) on `first`, a runtime whose answers the test keeps back, with a collection registered;
 * `handOver()` closes `first` and sends them to a second runtime: as when an engine goes before answering.
 */
async function tabsOnEngineThatGoes(
  namespace: string,
  collection: string,
  first: EngineHost,
  { tabs = 1, conflict = 'merge' }: { tabs?: number; conflict?: 'merge' | 'manual' } = {},
): Promise<{ tabs: TestTab[]; second: EngineHost; handOver(): Promise<void> }> {
  cleanups.push(() => deleteSynclineDB(namespace));
  const second = newHost();
  let runtime = first;
  const opened = await Promise.all(
    Array.from({ length: tabs }, () => tab(namespace, () => runtime, { callTimeoutMs: 15_000 })),
  );
  await Promise.all(opened.map((t) => t.connection.ready(5_000)));
  await opened[0]!.connection.call('registerCollection', {
    name: collection,
    url: `${API}/${collection}`,
    conflict,
    pullIntervalMs: 0,
  });
  return {
    tabs: opened,
    second,
    handOver: async () => {
      runtime = second;
      await first.close();
    },
  };
}

function linkTo(host: EngineHost): Link {
  const channel = new MessageChannel();
  host.accept(portLink(channel.port1));
  channel.port1.start();
  return portLink(channel.port2);
}

interface TestTab {
  connection: EngineConnection;
  states: ConnectionState[];
  release(): void;
}

/**
 * A tab as the client builds one: it holds its tab lock, then connects to `host` (or over the channel when sent
 * elsewhere). `host` may be a function: the tab's runtime as it is each time the tab opens a link (a new worker).
 */
async function tab(
  namespace: string,
  host: EngineHost | (() => EngineHost),
  options: {
    versions?: { protocol: number; schema: number };
    authorize?: PageAuthorizeHook;
    visible?: boolean;
    callTimeoutMs?: number;
  } = {},
): Promise<TestTab> {
  const client = uniqueName('tab');
  const release = await holdLock(tabLockName(namespace, client));
  const connection = new EngineConnection({
    client,
    config: resolveConfig({ endpoint: API, namespace }),
    connectPrimary: () => linkTo(typeof host === 'function' ? host() : host),
    connectBroadcast: (onAnnounce) => broadcastLink(channelName(namespace), client, onAnnounce),
    locks: navigator.locks,
    heartbeatMs: 60_000,
    deadAfterMs: 180_000,
    callTimeoutMs: options.callTimeoutMs ?? 5_000,
    environment: () => ({ online: true, visible: options.visible ?? true }),
    ...(options.authorize ? { authorize: options.authorize } : {}),
    ...(options.versions ? { versions: options.versions } : {}),
  });
  const states: ConnectionState[] = [];
  connection.state$.subscribe((s) => states.push(s));
  connection.start();
  const t = {
    connection,
    states,
    release: () => {
      void connection.close();
      release();
    },
  };
  cleanups.push(() => t.release());
  return t;
}

/** Resolves once the lock `name` is held; it is held until the function it gives is called, or the test ends. */
async function holdLock(name: string): Promise<() => void> {
  let release!: () => void;
  const life = new Promise<void>((r) => (release = r));
  await new Promise<void>(
    (held) =>
      void navigator.locks.request(name, () => {
        held();
        return life;
      }),
  );
  cleanups.push(() => release());
  return release;
}

/** The page's lock manager, with what its `query()` answers passed through `answer` (late, or with locks left out). */
function locksAnswering(answer: (snapshot: LockManagerSnapshot) => Promise<LockManagerSnapshot>): LockManager {
  const real = navigator.locks;
  return { request: real.request.bind(real), query: async () => answer(await real.query()) } as unknown as LockManager;
}

/** A tab id whose liveness lock is held until the test ends (a host takes a tab without it for gone). */
async function holdTabLock(namespace: string): Promise<string> {
  const client = uniqueName('raw');
  await holdLock(tabLockName(namespace, client));
  return client;
}

const create = (collection: string, id: string) => ({
  kind: 'x',
  label: id,
  request: { method: 'POST' as const, url: `${API}/${collection}`, body: { id } },
});

describe('one engine per namespace', () => {
  it('lets only the holder of the engine lock run an engine; a second runtime sends its tabs there, then takes over', async () => {
    const namespace = uniqueName('one');
    const collection = uniqueName('c');
    cleanups.push(() => deleteSynclineDB(namespace));
    const first = newHost();
    const second = newHost({ runtime: 'leader-tab' });
    const a = await tab(namespace, first);
    await a.connection.ready(5_000);
    const b = await tab(namespace, second);
    await b.connection.ready(5_000);
    expect(first.stateKind).to.equal('running');
    expect(second.stateKind).to.equal('waiting');
    // b reached the engine of `first` over the channel: one seq order for both tabs' work.
    expect(b.connection.runtime).to.equal('in-page');
    const ops = (
      await Promise.all(
        [0, 1, 2, 3, 4, 5].map((i) => (i % 2 ? a : b).connection.call('enqueue', [create(collection, `n${i}`)])),
      )
    ).flat();
    expect(new Set(ops.map((op) => op.seq)).size).to.equal(6);
    await eventually(async () => (await serverItems(collection)).length === 6, 10_000, 'drained');
    expect((await serverItems(collection)).map((i) => i.id)).to.deep.equal(
      ops.sort((x, y) => x.seq - y.seq).map((op) => (op.request.body as { id: string }).id),
    );

    // The first runtime goes away: the second takes the lock, and both tabs find it without any heartbeat.
    a.release();
    await first.close();
    await eventually(() => second.stateKind === 'running', 10_000, 'second host took over');
    await eventually(() => b.connection.connected, 10_000, 'b reconnected');
    const [next] = await b.connection.call('enqueue', [create(collection, 'after')]);
    expect(next!.seq).to.equal(7);
  });

  it('hands the namespace to a newer version: the older engine stops and its tabs are told to reload', async () => {
    const namespace = uniqueName('deploy');
    const { oldHost, oldTab } = await olderEngine(namespace);
    expect(oldHost.stateKind).to.equal('running');

    const newHost_ = newHost();
    const newTab = await tab(namespace, newHost_);
    await newTab.connection.ready(5_000);
    expect(newHost_.stateKind).to.equal('running');
    expect(oldHost.stateKind).to.equal('superseded');
    await eventually(() => oldTab.states.some((s) => s.updateRequired !== null), 5_000, 'old tab told to reload');
    const error = await oldTab.connection.call('count', {}).catch((e: SynclineError) => e);
    expect((error as SynclineError).code).to.equal('update-required');
    expect(await newTab.connection.call('count', {})).to.equal(0);
  });

  it('two runtimes of the newer version starting together take over once: neither tab is told to reload', async () => {
    const namespace = uniqueName('deploy-two');
    const { oldHost } = await olderEngine(namespace);
    // Two tabs (or two clients of one page) of the new build start at about the same time.
    const [h1, h2] = [newHost(), newHost()];
    const [t1, t2] = await Promise.all([tab(namespace, h1), tab(namespace, h2)]);
    await eventually(() => oldHost.stateKind === 'superseded', 10_000, 'older engine superseded');
    const outcomes = await Promise.all(
      [t1, t2].map((t) =>
        t.connection.ready(10_000).then(
          () => 'ready',
          (e: SynclineError) => e.code,
        ),
      ),
    );
    expect({ outcomes, hosts: [h1.stateKind, h2.stateKind].sort() }).to.deep.equal({
      outcomes: ['ready', 'ready'],
      hosts: ['running', 'waiting'],
    });
  });

  it('never lets an older runtime that queued for the engine run it ahead of a newer one queued behind it', async () => {
    const namespace = uniqueName('deploy-queue');
    const { oldHost } = await olderEngine(namespace);
    // A second runtime of the older build (another leader tab) waits behind the older engine.
    const older = { protocol: PROTOCOL_VERSION - 1, schema: DB_VERSION };
    const oldQueued = newHost({ versions: older });
    await tab(namespace, oldQueued, { versions: older });
    await eventually(() => oldQueued.stateKind === 'waiting', 5_000, 'older runtime queued');
    // The new build takes over; a second runtime of it queues behind the first (after the older one).
    const first = newHost();
    await (await tab(namespace, first)).connection.ready(5_000);
    expect(oldHost.stateKind).to.equal('superseded');
    const second = newHost();
    const newTab = await tab(namespace, second);
    await eventually(() => second.stateKind === 'waiting', 5_000, 'newer runtime queued');
    // The first new runtime goes: the lock must reach the newer one, or new tabs wait for the old tab to close.
    await first.close();
    await eventually(() => second.stateKind === 'running', 10_000, 'newer runtime took the engine');
    expect(oldQueued.stateKind).to.equal('superseded');
    expect(await newTab.connection.call('count', {})).to.equal(0);
  });

  it('steps aside, telling its tabs to reload, when it finds the engine lock free while a newer version queues', async () => {
    const namespace = uniqueName('deploy-free');
    cleanups.push(() => deleteSynclineDB(namespace));
    // A runtime of the next build queues for the lock (as it shows itself), and the lock is free: the newer engine
    // it queued behind has just gone, and its own request is a step behind.
    await holdLock(queuedLockName(namespace, DB_VERSION, PROTOCOL_VERSION + 1, 'next'));
    const host = newHost();
    const t = await tab(namespace, host);
    await eventually(() => t.states.some((s) => s.updateRequired !== null), 5_000, 'tab told to reload');
    expect(host.stateKind).to.equal('superseded');
    const { held = [] } = await navigator.locks.query();
    expect(held.map((lock) => lock.name)).not.to.include(engineLockName(namespace));
  });

  it('takes over from an older engine when another runtime holds the takeover lock as it starts', async () => {
    const namespace = uniqueName('deploy-busy');
    const { oldHost } = await olderEngine(namespace);
    // Another runtime (of any version) is in its check, holding the takeover lock, as the new build starts.
    const free = await holdLock(`${engineLockName(namespace)}:takeover`);
    const host = newHost();
    const t = await tab(namespace, host);
    await new Promise((r) => setTimeout(r, 300));
    free();
    await t.connection.ready(5_000);
    expect({ newer: host.stateKind, older: oldHost.stateKind }).to.deep.equal({
      newer: 'running',
      older: 'superseded',
    });
  });

  it('hands over when an older runtime is granted the lock as a newer one reads which engine runs', async () => {
    const namespace = uniqueName('deploy-race');
    cleanups.push(() => deleteSynclineDB(namespace));
    const older = { protocol: PROTOCOL_VERSION - 1, schema: DB_VERSION };
    // The older runtime's reads of the locks answer late, as of the moment asked: the newer one starts meanwhile.
    const slow = locksAnswering(async (snapshot) => {
      await new Promise((r) => setTimeout(r, 800));
      return snapshot;
    });
    const oldHost = newHost({ versions: older, locks: slow });
    await tab(namespace, oldHost, { versions: older });
    await eventually(
      async () => ((await navigator.locks.query()).held ?? []).some((l) => l.name === engineLockName(namespace)),
      5_000,
      'older runtime granted the lock',
    );
    const host = newHost();
    const t = await tab(namespace, host);
    await t.connection.ready(10_000);
    expect({ newer: host.stateKind, older: oldHost.stateKind }).to.deep.equal({
      newer: 'running',
      older: 'superseded',
    });
  });

  it('steps aside for a newer runtime queued behind it once a tab of that runtime reaches it', async () => {
    const namespace = uniqueName('deploy-behind');
    const { oldHost, oldTab } = await olderEngine(namespace);
    // A newer runtime that missed the older engine (its read of the locks did not show it) queues behind it, and
    // sends its tab there over the channel.
    const blind = locksAnswering(async ({ held = [], pending = [] }) => ({
      held: held.filter((l) => !l.name?.includes(':instance:')),
      pending,
    }));
    const host = newHost({ locks: blind });
    const t = await tab(namespace, host);
    await t.connection.ready(10_000);
    expect({ newer: host.stateKind, older: oldHost.stateKind }).to.deep.equal({
      newer: 'running',
      older: 'superseded',
    });
    await eventually(() => oldTab.states.some((s) => s.updateRequired !== null), 5_000, 'old tab told to reload');
  });

  it('tells a tab older than the running engine to reload instead of talking to it', async () => {
    const namespace = uniqueName('oldtab');
    cleanups.push(() => deleteSynclineDB(namespace));
    const host = newHost();
    const current = await tab(namespace, host);
    await current.connection.ready(5_000);
    const stale = await tab(namespace, host, { versions: { protocol: PROTOCOL_VERSION - 1, schema: DB_VERSION } });
    const outcome = await stale.connection.ready(5_000).then(
      () => 'ready',
      (e: SynclineError) => e.code,
    );
    expect(outcome).to.equal('update-required');
  });

  it('says update-required, not a hang, when the database is newer than this code (a downgrade)', async () => {
    const namespace = uniqueName('downgrade');
    cleanups.push(() => deleteSynclineDB(namespace));
    await leaveNewerDatabase(namespace);
    const client = createSyncClient({ endpoint: '/api', namespace, mode: 'in-page' });
    cleanups.push(() => client.close());
    const status = follow(client.status$);
    cleanups.push(() => status.stop());
    const error = await client.enqueue(create('x', 'a')).catch((e: SynclineError) => e);
    expect((error as SynclineError).code).to.equal('update-required');
    await eventually(() => status.value?.updateRequired === true, 5_000, 'status says update-required');
  });

  it('rejects settled() with update-required, one asked before the engine answered and one after, instead of hanging', async () => {
    const namespace = uniqueName('downgrade-settled');
    cleanups.push(() => deleteSynclineDB(namespace));
    await leaveNewerDatabase(namespace);
    const client = createSyncClient({ endpoint: '/api', namespace, mode: 'in-page' });
    cleanups.push(() => client.close());
    // Asked at once: the tab is not even connected yet, so this waits on a live query that no engine will answer.
    const before = client.settled('op-asked-before');
    expect(await before.catch((e: SynclineError) => e.code)).to.equal('update-required');
    expect(await client.settled('op-asked-after').catch((e: SynclineError) => e.code)).to.equal('update-required');
  });

  it('fails calls fast with unavailable when the engine cannot start, and says why in status', async () => {
    const namespace = uniqueName('broken');
    const host = newHost({ startEngine: () => Promise.reject(new Error('IndexedDB is not available here')) });
    const t = await tab(namespace, host);
    const error = await t.connection.call('enqueue', [create('x', 'a')]).catch((e: SynclineError) => e);
    expect((error as SynclineError).code).to.equal('unavailable');
    expect((error as SynclineError).message).to.contain('IndexedDB is not available here');
    await eventually(
      () => t.states.some((s) => s.unavailable?.includes('IndexedDB') ?? false),
      5_000,
      'unavailable state',
    );
    // A call made once the engine has said so fails at once with its reason: no round trip, no call timeout.
    let settled = false;
    const call = t.connection.call('count', {}).catch((e: SynclineError) => ((settled = true), e));
    await Promise.resolve();
    await Promise.resolve();
    expect(settled, 'rejected without waiting for the engine').to.equal(true);
    const later = await call;
    expect((later as SynclineError).code).to.equal('unavailable');
    expect((later as SynclineError).message).to.contain('IndexedDB is not available here');
  });
});

describe('sent elsewhere to an engine that goes away', () => {
  it('comes back to its own runtime when the channel stays silent, and is served once that runtime starts', async () => {
    const namespace = uniqueName('silent-channel');
    cleanups.push(() => deleteSynclineDB(namespace));
    // Another tab's engine holds the namespace (the lock only: it dies before it ever answers on the channel).
    const releaseOther = await holdLock(engineLockName(namespace));
    // This tab's own runtime: its first start fails (a passing storage error), the next one works.
    let starts = 0;
    const host = newHost({
      startEngine: (config, onVersionChange) =>
        ++starts === 1 ? Promise.reject(new Error('a passing failure')) : startEngine(config, onVersionChange),
    });
    const t = await tab(namespace, host);
    await eventually(() => (t.connection as unknown as { via: string }).via === 'broadcast', 5_000, 'sent elsewhere');
    releaseOther();
    // The runtime takes the lock and fails to start: it serves no channel. The tab must not wait there for good.
    await eventually(() => starts >= 1, 5_000, 'first start');
    await t.connection.ready(20_000);
    expect(starts).to.equal(2);
    const [op] = (await t.connection.call('enqueue', [create(uniqueName('c'), 'a')])) as Operation[];
    expect(op!.label).to.equal('a');
  });
});

describe('a deleted database (logout)', () => {
  it('lets the deletion through and serves a tab still open from a fresh engine, not as a newer version', async () => {
    const namespace = uniqueName('deleted');
    const collection = uniqueName('c');
    cleanups.push(() => deleteSynclineDB(namespace));
    const host = newHost();
    const t = await tab(namespace, host);
    await t.connection.ready(5_000);
    await addFault({ pathPrefix: `/api/${collection}`, offline: true });
    cleanups.push(() => clearFaults(`/api/${collection}`));
    await t.connection.call('enqueue', [create(collection, 'before')]);
    await deleteSynclineDB(namespace);
    await eventually(() => host.engine !== null && t.connection.connected, 10_000, 'the tab on a fresh engine');
    expect(t.states.every((s) => s.updateRequired === null)).to.equal(true);
    expect(await t.connection.call('count', {})).to.equal(0);
    await clearFaults(`/api/${collection}`);
    await t.connection.call('enqueue', [create(collection, 'after')]);
    await eventually(async () => (await serverItems(collection)).length === 1, 10_000, 'drained');
    expect((await serverItems(collection)).map((i) => i.id)).to.deep.equal(['after']);
  });

  it('asks the fresh engine a call the closing one failed as it went, not answer it with that failure', async () => {
    const namespace = uniqueName('deleted-call');
    const collection = uniqueName('c');
    cleanups.push(() => deleteSynclineDB(namespace));
    await addFault({ pathPrefix: `/api/${collection}`, offline: true });
    cleanups.push(() => clearFaults(`/api/${collection}`));
    // The first engine takes the call up only once the database is being deleted under it: it fails, closed.
    let first = true;
    let closing!: () => void;
    const closed = new Promise<void>((r) => (closing = r));
    const host = newHost({
      startEngine: async (config, onVersionChange) => {
        const engine = await startEngine(config, (v) => {
          closing();
          onVersionChange(v);
        });
        if (first) {
          first = false;
          const run = engine.enqueue.bind(engine);
          engine.enqueue = (...args) => closed.then(() => run(...args));
        }
        return engine;
      },
    });
    const t = await tab(namespace, host, { callTimeoutMs: 15_000 });
    await t.connection.ready(5_000);
    const call = t.connection.call('enqueue', [create(collection, 'kept')]);
    await new Promise((r) => setTimeout(r, 100));
    await deleteSynclineDB(namespace);
    const [op] = await call;
    expect(op!.id).to.be.a('string');
    expect(await t.connection.call('count', {})).to.equal(1);
  });
});

describe('liveness by locks', () => {
  it('does not take a busy engine for dead: one huge enqueue, no reconnect', async () => {
    const namespace = uniqueName('busy');
    const client = createSyncClient({
      endpoint: '/api',
      namespace,
      mode: 'shared-worker',
      heartbeatMs: 20,
      maxPayloadBytes: 64 * 1024 * 1024,
    });
    cleanups.push(() => Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]));
    cleanups.push(() => client.close());
    const status = follow(client.status$);
    cleanups.push(() => status.stop());
    await client.ready();
    client.status$.subscribe(() => {}).unsubscribe();
    await addFault({ pathPrefix: `/api/${namespace}`, offline: true });
    cleanups.push(() => clearFaults(`/api/${namespace}`));
    // 24 MB of JSON: cloned to the worker, validated, serialised and written while the tab's timer ticks every 20 ms.
    const big = { blob: 'x'.repeat(24 * 1024 * 1024) };
    await client.enqueue({ kind: 'big', label: 'big', request: { method: 'POST', url: namespace, body: big } });
    const connectedStates = status.values.map((s) => s.connected);
    expect(connectedStates.indexOf(true)).to.be.greaterThan(-1);
    expect(connectedStates.slice(connectedStates.indexOf(true))).to.not.include(false);
  });
});

describe('a link that leads nowhere', () => {
  it('is replaced by a fresh one when its hellos go unanswered (a port to a worker killed as it was made)', async function () {
    this.timeout(20_000);
    const namespace = uniqueName('deadlink');
    cleanups.push(() => deleteSynclineDB(namespace));
    const host = newHost();
    const client = await holdTabLock(namespace);
    let opened = 0;
    const connection = new EngineConnection({
      client,
      config: resolveConfig({ endpoint: API, namespace }),
      // The first link swallows everything, as a port to a dying worker does.
      connectPrimary: () => (++opened === 1 ? { send() {}, onMessage() {}, close() {} } : linkTo(host)),
      connectBroadcast: null,
      locks: navigator.locks,
      heartbeatMs: 60_000,
      deadAfterMs: 180_000,
      callTimeoutMs: 15_000,
      environment: () => ({ online: true, visible: true }),
    });
    connection.start();
    cleanups.push(() => connection.close());
    await connection.ready(10_000);
    expect(opened).to.equal(2);
  });
});

/** The hello a tab (`client`, holding its tab lock) sends for `namespace`: offline, visible, this build's versions. */
function helloFrom(client: string, namespace: string, extra: { epoch?: number } = {}) {
  return {
    t: 'hello',
    client,
    config: resolveConfig({ endpoint: API, namespace }),
    online: false,
    visible: true,
    canAuthorize: false,
    protocol: PROTOCOL_VERSION,
    schema: DB_VERSION,
    ...extra,
  };
}

describe('hellos out of order', () => {
  it('keeps a tab on its newest link when a hello from a link it already left arrives late', async () => {
    const namespace = uniqueName('epoch');
    cleanups.push(() => deleteSynclineDB(namespace));
    const host = newHost();
    const client = await holdTabLock(namespace);
    const hello = (epoch: number) => helloFrom(client, namespace, { epoch });
    const [older, newer] = [linkTo(host), linkTo(host)];
    const heard = { older: [] as string[], newer: [] as string[] };
    older.onMessage((m) => heard.older.push((m as { t: string }).t));
    newer.onMessage((m) => heard.newer.push((m as { t: string }).t));
    // Messages on two channels are not ordered: the newer link's hello lands first here.
    newer.send(hello(2));
    await eventually(() => heard.newer.includes('welcome'), 5_000, 'welcome on the newer link');
    older.send(hello(1));
    await new Promise((r) => setTimeout(r, 200));
    expect(heard.older).to.deep.equal([]);
    expect(host.clientCount).to.equal(1);
    newer.send({ t: 'call', id: 1, method: 'count', args: [{}] });
    await eventually(() => heard.newer.includes('result'), 5_000, 'the newer link still served');
  });
});

describe('calls', () => {
  it('answers a discard re-sent to the next engine with what the first one did (true), not false', async () => {
    const namespace = uniqueName('rediscard');
    const collection = uniqueName('c');
    cleanups.push(() => deleteSynclineDB(namespace));
    await addFault({ pathPrefix: `/api/${collection}`, offline: true });
    cleanups.push(() => clearFaults(`/api/${collection}`));
    // The first engine discards, then is gone before its answer leaves.
    const first = hostWithheldAnswer('discard');
    const second = newHost();
    let runtime = first;
    const t = await tab(namespace, () => runtime, { callTimeoutMs: 15_000 });
    await t.connection.ready(5_000);
    const [op] = await t.connection.call('enqueue', [create(collection, 'a')]);
    const call = t.connection.call('discard', op!.id);
    await eventually(async () => (await first.engine!.count()) === 0, 5_000, 'discarded by the first engine');
    runtime = second;
    await first.close();
    expect(await call, 'the discard this tab asked for happened').to.equal(true);
    // A discard of an operation the server has answered is still false, re-sent or not.
    await clearFaults(`/api/${collection}`);
    const [sent] = await t.connection.call('enqueue', [create(collection, 'b')]);
    await eventually(async () => (await second.engine!.result(sent!.id)) !== undefined, 10_000, 'sent');
    expect(await second.engine!.discard(sent!.id, { resent: true })).to.equal(false);
  });

  it('names a call that keeps its answer by tab and call, with when the tab stops waiting for it', async () => {
    const namespace = uniqueName('named');
    const collection = uniqueName('c');
    cleanups.push(() => deleteSynclineDB(namespace));
    const seen: (TabCall | null | undefined)[] = [];
    const host = newHost({
      startEngine: async (config, onVersionChange) => {
        const engine = await startEngine(config, onVersionChange);
        const run = engine.entityRevert.bind(engine);
        engine.entityRevert = (c, id, call) => {
          seen.push(call);
          return run(c, id, call);
        };
        return engine;
      },
    });
    const t = await tab(namespace, host, { callTimeoutMs: 7_000 });
    await t.connection.ready(5_000);
    await t.connection.call('registerCollection', {
      name: collection,
      url: `${API}/${collection}`,
      conflict: 'merge',
      pullIntervalMs: 0,
    });
    const before = Date.now();
    expect(await t.connection.call('entityRevert', collection, 'x')).to.equal(false);
    const [call] = seen;
    expect(call?.key).to.match(/^[^#]+#\d+$/);
    expect(call?.resent).to.equal(false);
    expect(call?.until).to.be.within(before + 7_000, Date.now() + 7_000);
  });

  it("answers a collection's delete re-sent to the next engine with what the first one did (true), not false", async () => {
    const namespace = uniqueName('redelete');
    const collection = uniqueName('c');
    // On the server already: its delete must be pushed, so the device keeps it as deleted (a delete of an entity
    // never pushed may drop it altogether).
    await serverPut(collection, 'x', { title: 'x' });
    const first = hostWithheldAnswer('entityDelete');
    const {
      tabs: [t],
      handOver,
    } = await tabsOnEngineThatGoes(namespace, collection, first);
    await eventually(async () => (await first.engine!.entities(collection)).length === 1, 5_000, 'pulled');
    await addFault({ pathPrefix: `/api/${collection}`, offline: true });
    cleanups.push(() => clearFaults(`/api/${collection}`));
    const call = t!.connection.call('entityDelete', collection, 'x');
    await eventually(
      async () => (await first.engine!.entities(collection)).length === 0,
      5_000,
      'deleted by the first',
    );
    await handOver();
    expect(await call, 'the delete this tab asked for happened').to.equal(true);
    // Asked afresh (not re-sent), a delete of what is gone is still false.
    expect(await t!.connection.call('entityDelete', collection, 'x')).to.equal(false);
  });

  it("answers a conflict's resolve and a revert re-sent to the next engine with what the first one did", async () => {
    const namespace = uniqueName('reresolve');
    const collection = uniqueName('c');
    await Promise.all([serverPut(collection, 'x', { title: 'base' }), serverPut(collection, 'y', { title: 'base' })]);
    const first = newHost({
      startEngine: async (config, onVersionChange) => {
        const engine = await startEngine(config, onVersionChange);
        // Both calls do their work, then their answers are kept back: as if the engine went before answering.
        for (const method of ['resolve', 'entityRevert'] as const) {
          const run = engine[method].bind(engine) as (...args: unknown[]) => Promise<unknown>;
          (engine as unknown as Record<string, unknown>)[method] = (...args: unknown[]) =>
            run(...args).then(() => new Promise(() => {}));
        }
        return engine;
      },
    });
    const {
      tabs: [t],
      handOver,
    } = await tabsOnEngineThatGoes(namespace, collection, first, { conflict: 'manual' });
    await eventually(async () => (await first.engine!.entities(collection)).length === 2, 5_000, 'pulled');
    // x: changed on the server after the pull, then here: its push meets a 412, a conflict for the user.
    await serverPut(collection, 'x', { title: 'theirs' });
    await t!.connection.call('entityPatch', collection, 'x', { title: 'mine' });
    await eventually(async () => (await first.engine!.conflicts(collection)).length === 1, 5_000, 'conflict');
    const [conflict] = await first.engine!.conflicts(collection);
    // y: an edit held here, unsent (its pushes fail), to be reverted.
    await addFault({ pathPrefix: `/api/${collection}/y`, offline: true });
    cleanups.push(() => clearFaults(`/api/${collection}/y`));
    await t!.connection.call('entityPatch', collection, 'y', { title: 'unsent' });
    const resolved = t!.connection.call('resolve', conflict!.id, { choose: 'mine' });
    const reverted = t!.connection.call('entityRevert', collection, 'y');
    await eventually(
      async () =>
        (await first.engine!.conflicts(collection)).length === 0 &&
        (await first.engine!.entities(collection)).find((e) => e.id === 'y')?.dirty === false,
      5_000,
      'both done by the first engine',
    );
    await handOver();
    expect((await resolved)?.data, 'the resolve this tab asked for happened').to.deep.equal({ title: 'mine' });
    expect(await reverted, 'the revert this tab asked for happened').to.equal(true);
    // Asked afresh (not re-sent), they answer what is left.
    const again = await t!.connection.call('resolve', conflict!.id, { choose: 'mine' }).catch((e: SynclineError) => e);
    expect((again as SynclineError).code).to.equal('not-found');
    expect(await t!.connection.call('entityRevert', collection, 'y')).to.equal(false);
  });

  it('answers a delete re-sent to the next engine with what the first did, and does not delete what was made since', async () => {
    const namespace = uniqueName('redelete-local');
    const collection = uniqueName('c');
    await addFault({ pathPrefix: `/api/${collection}`, offline: true });
    cleanups.push(() => clearFaults(`/api/${collection}`));
    const first = hostWithheldAnswer('entityDelete');
    const {
      tabs: [a, b],
      second,
      handOver,
    } = await tabsOnEngineThatGoes(namespace, collection, first, { tabs: 2 });
    // Made on this device and never pushed: its delete removes it outright.
    await a!.connection.call('entityPut', collection, 'x', { title: 'draft' });
    const deleted = a!.connection.call('entityDelete', collection, 'x');
    await eventually(
      async () => (await first.engine!.entities(collection)).length === 0,
      5_000,
      'deleted by the first',
    );
    // Made again by another tab, answered, before the first engine goes.
    await b!.connection.call('entityPut', collection, 'x', { title: 'again' });
    await handOver();
    expect(await deleted, 'the delete this tab asked for happened').to.equal(true);
    await eventually(() => second.engine !== null, 5_000, 'second engine');
    expect((await second.engine!.entities(collection)).map((e) => e.data)).to.deep.equal([{ title: 'again' }]);
  });

  it("does not undo, re-sent, another tab's edit saved after the first engine did a put or a patch", async () => {
    const namespace = uniqueName('reput');
    const collection = uniqueName('c');
    await addFault({ pathPrefix: `/api/${collection}`, offline: true });
    cleanups.push(() => clearFaults(`/api/${collection}`));
    const first = hostWithheldAnswer('entityPut');
    const {
      tabs: [a, b],
      second,
      handOver,
    } = await tabsOnEngineThatGoes(namespace, collection, first, { tabs: 2 });
    const put = a!.connection.call('entityPut', collection, 'x', { title: 'a' });
    await eventually(
      async () => (await first.engine!.entities(collection)).length === 1,
      5_000,
      'put by the first engine',
    );
    // Another tab's edit, saved (and answered) before the first engine goes.
    await b!.connection.call('entityPatch', collection, 'x', { title: 'b' });
    await handOver();
    expect((await put).data, 'answered with the entity as it is').to.deep.equal({ title: 'b' });
    await eventually(() => second.engine !== null, 5_000, 'second engine');
    expect((await second.engine!.entities(collection)).map((e) => e.data)).to.deep.equal([{ title: 'b' }]);
  });

  it('does not make again, re-sent, an entity deleted on the server after the first engine made it', async () => {
    const namespace = uniqueName('reput-deleted');
    const collection = uniqueName('c');
    const first = hostWithheldAnswer('entityPut');
    const {
      tabs: [a],
      second,
      handOver,
    } = await tabsOnEngineThatGoes(namespace, collection, first);
    const put = a!.connection.call('entityPut', collection, 'x', { title: 'made here' });
    await eventually(async () => (await serverItems(collection)).length === 1, 5_000, 'pushed by the first engine');
    // Another device deletes it; the feed brings that here, and the row goes.
    const deleted = await fetch(`${API}/${collection}/x`, { method: 'DELETE' });
    expect(deleted.ok).to.equal(true);
    await eventually(
      async () => {
        await first.engine!.syncNow();
        return (await first.engine!.entities(collection)).length === 0;
      },
      5_000,
      'deletion pulled',
    );
    await handOver();
    expect((await put).deleted, 'answered: deleted since').to.equal(true);
    await eventually(() => second.engine !== null, 5_000, 'second engine');
    expect(await second.engine!.entities(collection)).to.deep.equal([]);
    expect(second.engine!.status.entities.dirty, 'nothing to push').to.equal(0);
  });

  it("settles a collection's call within one callTimeoutMs, its registration included", async function () {
    this.timeout(20_000);
    const namespace = uniqueName('bound');
    const collection = uniqueName('c');
    cleanups.push(() => deleteSynclineDB(namespace));
    // An engine slow to start (a busy device, an upgrade in another tab) that then never answers the put.
    const host = newHost({
      startEngine: async (config, onVersionChange) => {
        await new Promise((r) => setTimeout(r, 2_500));
        const engine = await startEngine(config, onVersionChange);
        engine.entityPut = () => new Promise(() => {});
        return engine;
      },
    });
    const t = await tab(namespace, host, { callTimeoutMs: 3_000 });
    const handle = new CollectionHandle<{ title: string }>(
      collection,
      t.connection,
      `${API}/${collection}`,
      { pullIntervalMs: 0 },
      conflictList(t.connection),
      (id, resolution) => t.connection.call('resolve', id, resolution),
    );
    cleanups.push(() => handle.close());
    const start = Date.now();
    const error = await handle.put('a', { title: 'a' }).catch((e: SynclineError) => e);
    const elapsed = Date.now() - start;
    expect((error as SynclineError).code).to.equal('unavailable');
    expect((error as SynclineError).detail).to.deep.include({ method: 'entityPut', sent: true });
    // Registration (2.5 s) and the put each had a whole callTimeoutMs before: 5.5 s. Now 3 s, with room for a slow
    // machine, and still short of what it was.
    expect(elapsed, `settled after ${elapsed} ms`).to.be.below(4_500);
  });

  it('rejects ready() at its time with the reason the engine gave for not starting', async () => {
    const namespace = uniqueName('ready-unavailable');
    const host = newHost({ startEngine: () => Promise.reject(new Error('IndexedDB is not available here')) });
    const t = await tab(namespace, host);
    // Waiting when the answer comes, and asked after it.
    const waiting = t.connection.ready(1_500).catch((e: SynclineError) => `${e.code}: ${e.message}`);
    await eventually(() => t.states.some((s) => s.unavailable !== null), 5_000, 'unavailable');
    const asked = t.connection.ready(1_500).catch((e: SynclineError) => `${e.code}: ${e.message}`);
    expect(await waiting).to.match(/^unavailable: .*within 1500 ms: .*IndexedDB is not available here/);
    expect(await asked).to.match(/^unavailable: .*within 1500 ms: .*IndexedDB is not available here/);
  });

  it('does not revert, re-sent, an edit saved after the first engine found nothing to revert', async () => {
    const namespace = uniqueName('rerevert');
    const collection = uniqueName('c');
    await serverPut(collection, 'y', { title: 'base' });
    let firstAnswer: unknown;
    const first = newHost({
      startEngine: async (config, onVersionChange) => {
        const engine = await startEngine(config, onVersionChange);
        const run = engine.entityRevert.bind(engine);
        // The revert is done (nothing to revert: y is clean), and its answer kept back.
        engine.entityRevert = (...args) =>
          run(...args).then((value) => {
            firstAnswer = value;
            return new Promise<boolean>(() => {});
          });
        return engine;
      },
    });
    const {
      tabs: [a, b],
      second,
      handOver,
    } = await tabsOnEngineThatGoes(namespace, collection, first, { tabs: 2 });
    await eventually(async () => (await first.engine!.entities(collection)).length === 1, 5_000, 'pulled');
    await addFault({ pathPrefix: `/api/${collection}/y`, offline: true });
    cleanups.push(() => clearFaults(`/api/${collection}/y`));
    const reverted = a!.connection.call('entityRevert', collection, 'y');
    await eventually(() => firstAnswer === false, 5_000, 'nothing reverted by the first engine');
    // Another tab's edit, saved (and answered) before the first engine goes.
    await b!.connection.call('entityPatch', collection, 'y', { title: 'saved by b' });
    await handOver();
    expect(await reverted).to.equal(false);
    await eventually(() => second.engine !== null, 5_000, 'second engine');
    const y = (await second.engine!.entities(collection)).find((e) => e.id === 'y');
    expect(y?.data).to.deep.equal({ title: 'saved by b' });
  });

  it('keeps a call that reached an engine gone before answering through a failed start: the next engine answers it, once', async function () {
    this.timeout(30_000);
    const namespace = uniqueName('applied');
    const collection = uniqueName('c');
    cleanups.push(() => deleteSynclineDB(namespace));
    await addFault({ pathPrefix: `/api/${collection}`, offline: true });
    cleanups.push(() => clearFaults(`/api/${collection}`));
    // The first engine stores the operation, then is gone before its answer leaves (its tab closed, a worker killed).
    const first = hostWithheldAnswer('enqueue');
    // The runtime that takes over fails its first start (a passing storage error), then starts.
    let failures = 0;
    const second = newHost({
      startEngine: (config, onVersionChange) =>
        failures++ === 0 ? Promise.reject(new Error('a passing failure')) : startEngine(config, onVersionChange),
    });
    let runtime = first;
    const t = await tab(namespace, () => runtime, { callTimeoutMs: 25_000 });
    await t.connection.ready(5_000);
    const call = t.connection.call('enqueue', [{ ...create(collection, 'a'), id: 'op-applied-0001' }]);
    await eventually(async () => (await first.engine!.count()) === 1, 5_000, 'stored');
    runtime = second;
    await first.close();
    // Not rejected as if it had not happened ("could not start"): answered by the engine that did start.
    const [op] = await call;
    expect(op!.id).to.equal('op-applied-0001');
    expect(failures, 'a start failed first').to.equal(2);
    expect(await second.engine!.count(), 'queued once').to.equal(1);
  });

  it("answers an enqueue re-sent to the next engine from the first one's result, also for an id the tab made up", async () => {
    const namespace = uniqueName('resent-done');
    const collection = uniqueName('c');
    cleanups.push(() => deleteSynclineDB(namespace));
    // The first engine stores and sends the operation, then is gone before its answer leaves.
    const first = hostWithheldAnswer('enqueue');
    const second = newHost();
    let runtime = first;
    const t = await tab(namespace, () => runtime, { callTimeoutMs: 25_000 });
    await t.connection.ready(5_000);
    // As the client sends it: an id made up in the tab, marked so (a first send of it is not looked up).
    const id = operationId();
    const call = t.connection.call('enqueue', [{ ...create(collection, 'a'), id }], { generated: [true] });
    await eventually(async () => (await first.engine!.result(id)) !== undefined, 10_000, 'done by the first engine');
    runtime = second;
    await first.close();
    const [op] = await call;
    expect(op!.id).to.equal(id);
    expect(await second.engine!.count(), 'not queued again').to.equal(0);
    expect(await requestCount(`/api/${collection}`), 'sent once').to.equal(1);
  });

  it('answers a call re-sent on the same engine from memory: the operation is queued once', async () => {
    const namespace = uniqueName('resend');
    cleanups.push(() => deleteSynclineDB(namespace));
    const host = newHost();
    const client = await holdTabLock(namespace);
    const link = linkTo(host);
    const heard: { t: string; id?: number; value?: Operation[] }[] = [];
    link.onMessage((m) => heard.push(m as never));
    link.send(helloFrom(client, namespace));
    await eventually(() => heard.some((m) => m.t === 'welcome'), 5_000, 'welcome');
    const input = { ...create('c', 'a'), id: 'op-resent-0001' };
    link.send({ t: 'call', id: 7, method: 'enqueue', args: [[input]] });
    link.send({ t: 'call', id: 7, method: 'enqueue', args: [[input]], resent: true });
    await eventually(() => heard.filter((m) => m.t === 'result').length === 2, 5_000, 'two answers');
    const [r1, r2] = heard.filter((m) => m.t === 'result');
    expect(r1!.value![0]!.seq).to.equal(r2!.value![0]!.seq);
    expect(await host.engine!.count()).to.equal(1);
  });

  it('does not queue again an operation a replaced engine had already sent', async () => {
    const namespace = uniqueName('replaced');
    const collection = uniqueName('c');
    cleanups.push(() => deleteSynclineDB(namespace));
    const config = resolveConfig({ endpoint: API, namespace });
    const first = await startEngine(config);
    const input = { ...create(collection, 'once'), id: 'op-sent-before-00001' };
    await first.enqueue([input]);
    await eventually(async () => (await first.result(input.id)) !== undefined, 10_000, 'done and recorded');
    first.close();
    // The tab re-sends the call to the new engine: it answers from the kept result, and nothing is queued.
    const second = await startEngine(config);
    cleanups.push(() => second.close());
    const [again] = await second.enqueue([input], { resent: true });
    expect(again!.id).to.equal(input.id);
    expect(await second.count()).to.equal(0);
    await new Promise((r) => setTimeout(r, 300));
    expect((await serverItems(collection)).map((i) => [i.id, i.version])).to.deep.equal([['once', 1]]);
  });

  it('keeps operations queued after a clear was first sent when the clear is re-sent', async () => {
    const namespace = uniqueName('clear');
    cleanups.push(() => deleteSynclineDB(namespace));
    const engine = await startEngine(resolveConfig({ endpoint: API, namespace }));
    cleanups.push(() => engine.close());
    engine.setNetwork(false);
    await engine.enqueue([create('c', 'old')]);
    const issuedAt = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    await engine.enqueue([create('c', 'new')]);
    expect(await engine.clear({ discardUnsent: true, before: issuedAt }, { key: 't#1', resent: true })).to.equal(1);
    expect((await engine.list()).map((op) => op.label)).to.deep.equal(['new']);
  });

  it('resolves an enqueue posted just before close(); only calls never posted are refused as closed', async () => {
    const namespace = uniqueName('closing');
    const client = createSyncClient({
      endpoint: '/api',
      namespace,
      mode: 'shared-worker',
      healthUrl: '/api/health/none',
    });
    cleanups.push(() => Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]));
    await client.ready();
    await addFault({ pathPrefix: `/api/${namespace}`, offline: true });
    cleanups.push(() => clearFaults(`/api/${namespace}`));
    const posted = client.enqueue(create(namespace, 'kept'));
    client.close();
    const op = await posted;
    const other = createSyncClient({ endpoint: '/api', namespace, mode: 'shared-worker' });
    cleanups.push(() => other.close());
    const list = follow(other.operations$);
    cleanups.push(() => list.stop());
    await eventually(() => list.value?.some((o) => o.id === op.id) === true, 5_000, 'the resolved op is in the queue');
    expect(await client.enqueue(create(namespace, 'late')).catch((e: SynclineError) => e.code)).to.equal('closed');
  });

  it('refuses a body it cannot send to the engine (a function) with invalid-operation instead of hanging', async () => {
    const namespace = uniqueName('clone');
    const client = createSyncClient({ endpoint: '/api', namespace, mode: 'shared-worker' });
    cleanups.push(() => Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]));
    cleanups.push(() => client.close());
    for (const body of [{ f: () => 1 }, { s: Symbol('x') }, { node: document.body }]) {
      const error = await client
        .enqueue({ kind: 'x', label: 'x', request: { method: 'POST', url: 'x', body } })
        .catch((e: SynclineError) => e);
      expect((error as SynclineError).code).to.equal('invalid-operation');
    }
  });
});

describe('credentials from tabs', () => {
  it('asks another tab when the first cannot answer in time, and never pauses for it', async () => {
    const namespace = uniqueName('auth');
    const collection = uniqueName('c');
    cleanups.push(() => deleteSynclineDB(namespace));
    const host = newHost();
    const silent = await tab(namespace, host, { visible: true, authorize: () => new Promise(() => {}) });
    await silent.connection.ready(5_000);
    host.engine!.config.authorizeTimeoutMs = 200;
    let asked = 0;
    const helpful = await tab(namespace, host, {
      visible: false,
      authorize: async () => {
        asked++;
        return { 'X-Token': 'fresh' };
      },
    });
    await helpful.connection.ready(5_000);
    const [op] = await silent.connection.call('enqueue', [create(collection, 'a')]);
    await eventually(
      async () => (await serverItems(collection)).length === 1,
      10_000,
      "sent with the second tab's credentials",
    );
    expect(asked).to.be.greaterThan(0);
    expect(host.engine!.status.paused).to.equal(null);
    // Its success is recorded behind the requests, a moment after the server has it.
    await eventually(async () => !(await host.engine!.has(op!.id)), 5_000, 'recorded as done');
  });
});

describe('credentials from a tab that arrives after the engine started', () => {
  it('sends as they are while no tab can give credentials, and asks the first that can from then on', async () => {
    const namespace = uniqueName('auth-late');
    const collection = uniqueName('c');
    cleanups.push(() => deleteSynclineDB(namespace));
    const host = newHost();
    const plain = await tab(namespace, host);
    await plain.connection.ready(5_000);
    // No tab has said it can give credentials: requests do not ask for them at all.
    expect(host.engine!.authorize).to.equal(null);
    let asked = 0;
    const signedIn = await tab(namespace, host, {
      authorize: async () => {
        asked++;
        return { 'X-Token': 'late' };
      },
    });
    await signedIn.connection.ready(5_000);
    await plain.connection.call('enqueue', [create(collection, 'a')]);
    await eventually(async () => (await serverItems(collection)).length === 1, 10_000, 'sent');
    expect(asked).to.be.greaterThan(0);
  });
});

describe('credentials after the tabs that give them close', () => {
  it('holds requests, with no strike and no pause, until a tab that can authorize is open again', async () => {
    const namespace = uniqueName('auth-gone');
    const collection = uniqueName('c');
    cleanups.push(() => deleteSynclineDB(namespace));
    const host = newHost();
    const signedIn = await tab(namespace, host, { authorize: async () => ({ 'X-Token': 'fresh' }) });
    await signedIn.connection.ready(5_000);
    // A tab of the app without the hook stays (another micro-frontend); the one that gave credentials closes.
    const other = await tab(namespace, host);
    await other.connection.ready(5_000);
    signedIn.release();
    await eventually(() => host.engine!.status.clients === 1, 5_000, 'the signed-in tab gone');
    const [op] = await other.connection.call('enqueue', [create(collection, 'a')]);
    let waiting: Operation | undefined;
    await eventually(
      async () =>
        !!(waiting = (await host.engine!.list()).find((o) => o.id === op!.id && o.lastError?.kind === 'auth')),
      5_000,
      'waiting for credentials',
    );
    expect(waiting).to.include({ status: 'pending', strikes: 0, attempts: 0 });
    expect(host.engine!.status.paused).to.equal(null);
    expect(await serverItems(collection)).to.deep.equal([]);
    // Signed in again in a new tab: sent with its credentials.
    const back = await tab(namespace, host, { authorize: async () => ({ 'X-Token': 'again' }) });
    await back.connection.ready(5_000);
    await eventually(async () => (await serverItems(collection)).length === 1, 15_000, 'sent once a tab can authorize');
  });
});

describe('authorize answers', () => {
  it('never applies a late answer to the question of a gone engine to the same-numbered question of the next', async () => {
    const namespace = uniqueName('stale-auth');
    cleanups.push(() => deleteSynclineDB(namespace));
    const first = newHost();
    const second = newHost();
    let runtime = first;
    const asked: { request: { method: string; url: string }; answer(headers: Record<string, string>): void }[] = [];
    const t = await tab(namespace, () => runtime, {
      // A slow hook: each question waits until the test answers it.
      authorize: (request) => new Promise((answer) => asked.push({ request, answer })),
    });
    await t.connection.ready(5_000);
    const firstAsk = first.engine!.authorize!({ method: 'PUT', url: `${API}/x` }).catch(() => 'given up');
    await eventually(() => asked.length === 1, 5_000, 'the first engine asked');
    // That engine dies with the question open (as a killed worker does); the tab's runtime is a new one now.
    runtime = second;
    await first.close();
    expect(await firstAsk).to.equal('given up');
    await eventually(() => second.engine !== null && second.clientCount === 1, 10_000, 'the tab on the next engine');
    const secondAsk = second.engine!.authorize!({ method: 'DELETE', url: `${API}/y` });
    await eventually(() => asked.length === 2, 5_000, 'the next engine asked');
    expect(asked[1]!.request.method).to.equal('DELETE');
    // The late answer (for PUT /x) settles first, on the same port, before the answer for DELETE /y.
    asked[0]!.answer({ 'X-For': 'PUT /x' });
    asked[1]!.answer({ 'X-For': 'DELETE /y' });
    expect(await secondAsk).to.deep.equal({ 'X-For': 'DELETE /y' });
  });

  it('takes a plain value from an authorize hook that is not async as its answer', async () => {
    const namespace = uniqueName('sync-auth');
    cleanups.push(() => deleteSynclineDB(namespace));
    const host = newHost();
    const t = await tab(namespace, host, { authorize: () => ({ 'X-Token': 'plain' }) });
    await t.connection.ready(5_000);
    expect(await host.engine!.authorize!({ method: 'PUT', url: `${API}/x` })).to.deep.equal({ 'X-Token': 'plain' });
  });

  it('answers with an error, at once, for an authorize hook that throws synchronously', async () => {
    const namespace = uniqueName('throw-auth');
    cleanups.push(() => deleteSynclineDB(namespace));
    const host = newHost();
    const t = await tab(namespace, host, {
      authorize: () => {
        throw new Error('no token in this page');
      },
    });
    await t.connection.ready(5_000);
    const error = await host.engine!.authorize!({ method: 'PUT', url: `${API}/x` }).catch((e: Error) => e);
    // The hook's own error, not the host's "no credentials within authorizeTimeoutMs".
    expect((error as Error).message).to.equal('no token in this page');
  });
});

describe('two runtimes in two tabs', () => {
  const frames: Frame[] = [];
  const clients: SyncClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    for (const f of frames.splice(0)) f.remove();
  });

  it('keeps one engine when a tab gives up on a slow worker start and runs a host of its own', async () => {
    const namespace = uniqueName('slowstart');
    const collection = uniqueName('c');
    const one = await openFrame();
    const two = await openFrame();
    frames.push(one, two);
    // 1 ms is shorter than any worker start: this tab falls back while its worker is still coming up.
    const a = one.client({ endpoint: '/api', namespace, mode: 'auto', startTimeoutMs: 1 });
    clients.push(a);
    const b = two.client({ endpoint: '/api', namespace, mode: 'shared-worker' });
    clients.push(b);
    await Promise.all([a.ready(15_000), b.ready(15_000)]);
    const ops = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => (i % 2 ? a : b).enqueue(create(collection, `n${i}`))));
    // Two engines would each hand out seq 1, 2, 3 from memory.
    expect(new Set(ops.map((op) => op.seq)).size).to.equal(6);
    await Promise.all(ops.map((op) => b.settled(op.id)));
    expect((await serverItems(collection)).map((i) => i.id)).to.deep.equal(
      ops.sort((x, y) => x.seq - y.seq).map((op) => (op.request.body as { id: string }).id),
    );
    await Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]);
  });

  it('serves a tab whose SharedWorker is refused (another extendedLifetime) from the one engine', async () => {
    const namespace = uniqueName('lifetime');
    const collection = uniqueName('c');
    const one = await openFrame();
    const two = await openFrame();
    frames.push(one, two);
    const a = one.client({ endpoint: '/api', namespace, mode: 'auto', extendedLifetime: true });
    clients.push(a);
    await a.ready();
    // Chromium refuses a second connection to a running worker with another extendedLifetime: this tab falls back.
    const b = two.client({ endpoint: '/api', namespace, mode: 'auto', extendedLifetime: false, startTimeoutMs: 2_000 });
    clients.push(b);
    await b.ready(15_000);
    const ops = await Promise.all([0, 1, 2, 3].map((i) => (i % 2 ? a : b).enqueue(create(collection, `n${i}`))));
    expect(new Set(ops.map((op) => op.seq)).size).to.equal(4);
    await Promise.all(ops.map((op) => a.settled(op.id)));
    expect((await serverItems(collection)).map((i) => i.id)).to.deep.equal(
      ops.sort((x, y) => x.seq - y.seq).map((op) => (op.request.body as { id: string }).id),
    );
    const status = follow(b.status$);
    await eventually(() => status.value !== undefined, 5_000, 'status');
    // The tab that fell back reaches the worker's engine: there is only one.
    expect(status.value!.runtime).to.equal('shared-worker');
    status.stop();
    await Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]);
  });
});
