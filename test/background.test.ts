// Background Sync: optimistic edits, coalesced pushes with If-Match, pulls that never flicker, conflicts by strategy.
import { expect } from '@open-wc/testing';
import { BehaviorSubject, NEVER } from 'rxjs';
import {
  createSyncClient,
  SynclineError,
  SynclineErrorCode,
  type Conflict,
  type Resolution,
  type Rollback,
  type SyncClient,
} from '../src/index.ts';
import { CollectionHandle } from '../src/collection.ts';
import type { EngineConnection } from '../src/rpc/connection.ts';
import { SyncEngine, deleteSynclineDB, openSynclineDB } from '../src/testing.ts';
import { threeWayMerge } from '../src/engine/merge.ts';
import { engineFixture, type EngineFixture } from './support/engine.ts';
import {
  API,
  addFault,
  clearFaults,
  eventually,
  requestCount,
  serverItems,
  serverPut,
  uniqueName,
  unreachable,
} from './support/server.ts';
import { follow, openFrame } from './support/frames.ts';
import { failReads, failWrites, firefoxFullDisk, refusePuts } from './support/databases.ts';

interface Task {
  title: string;
  done?: boolean;
  note?: string;
}

/**
 * The server's writes of a collection: id, version and key, the key's device part (the same for every push from
 * one database, checked here) left out so expectations read `<collection>/<id>@<rev>`.
 */
async function writes(collection: string): Promise<[string, number, string | null][]> {
  const page = (await (await fetch(`${API}/_admin/changes?collection=${collection}`)).json()) as {
    items: { id: string; version: number; idempotencyKey: string | null }[];
  };
  const devices = new Set<string>();
  const rows = page.items.map((c): [string, number, string | null] => [
    c.id,
    c.version,
    c.idempotencyKey?.replace(/@([0-9a-v]{10})\.(\d+)$/, (_, device: string, rev: string) => {
      devices.add(device);
      return `@${rev}`;
    }) ?? null,
  ]);
  if (devices.size > 1) throw new Error(`pushes from one database under ${devices.size} device ids`);
  return rows;
}

/**
 * A fetch that, once `hold()` is called, keeps the answers to PUTs of URLs ending in `suffix` from the engine until
 * `release()` (the server has applied them by then): a push out, its answer late.
 */
function holdPutAnswers(suffix: string) {
  let gate: Promise<void> | null = null;
  let open = () => {};
  const answered: string[] = [];
  const held: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (gate && init?.method === 'PUT' && url.endsWith(suffix)) {
      answered.push(url);
      await gate;
    }
    return response;
  };
  return {
    fetch: held,
    answered,
    hold: () => (gate = new Promise<void>((resolve) => (open = resolve))),
    release: () => {
      gate = null;
      open();
    },
  };
}

/** A fetch whose next PUT, once `lose()` is called, reaches the server but whose answer is lost (a network error). */
function losingOnePutAnswer() {
  let lose = false;
  const lossy: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (lose && init?.method === 'PUT') {
      lose = false;
      await response.body?.cancel();
      throw new TypeError('Failed to fetch');
    }
    return response;
  };
  return { fetch: lossy, lose: () => (lose = true) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A fetch the test steers: `hold()` keeps PUTs from leaving until `release()`; `lose()` makes the next PUT reach the
 * server but lose its answer (a network error).
 */
function controlledFetch() {
  let gate: Promise<void> | null = null;
  let open = () => {};
  let lose = false;
  let pulls = true;
  const steered: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    // Pulls off: the engine's feed reads fail (503), nothing the feed says reaches the replica; pushes go on.
    if (!pulls && (init?.method ?? 'GET') === 'GET' && url.includes('?since='))
      return new Response('{"error":"away"}', { status: 503, headers: { 'Content-Type': 'application/json' } });
    if (gate && init?.method === 'PUT') await gate;
    const response = await fetch(input, init);
    if (lose && init?.method === 'PUT') {
      lose = false;
      await response.body?.cancel();
      throw new TypeError('Failed to fetch');
    }
    return response;
  };
  return {
    fetch: steered,
    hold: () => void (gate = new Promise<void>((resolve) => (open = resolve))),
    release: () => {
      gate = null;
      open();
    },
    lose: () => void (lose = true),
    noPulls: () => void (pulls = false),
  };
}

/** The engine's Background Sync with its private parts open to the test (read only, but for one timing hook). */
type Internals = {
  unrecorded: Map<string, unknown>;
  write: (body: unknown, carry?: boolean) => Promise<unknown>;
};

describe('three-way merge', () => {
  it("takes each side's change to different fields, keeps a change made on both sides alike, and flags the rest", () => {
    const base = { title: 'a', done: false, note: 'n' };
    expect(threeWayMerge(base, { ...base, title: 'mine' }, { ...base, done: true })).to.deep.equal({
      merged: { title: 'mine', done: true, note: 'n' },
      conflicts: [],
    });
    expect(threeWayMerge(base, { ...base, title: 'same' }, { ...base, title: 'same' })).to.deep.equal({
      merged: { ...base, title: 'same' },
      conflicts: [],
    });
    expect(
      threeWayMerge(base, { ...base, title: 'mine' }, { ...base, title: 'theirs', done: true }).conflicts,
    ).to.deep.equal(['title']);
    // A field removed on one side and unchanged on the other is removed.
    const { note: _n, ...withoutNote } = base;
    expect(threeWayMerge(base, withoutNote, base).merged).to.deep.equal(withoutNote);
    expect(threeWayMerge(null, { title: 'x' }, { title: 'y' }).conflicts).to.deep.equal(['title']);
  });

  it("reads a side's own fields only: constructor and __proto__ are fields like any other", () => {
    // Removed on my side, unchanged on theirs: removed (an `in` test would find Object.prototype.constructor).
    const merged = threeWayMerge({ constructor: 'c', n: 1 }, { n: 1 }, { constructor: 'c', n: 2 }).merged;
    expect(merged).to.deep.equal({ n: 2 });
    expect(Object.keys(merged)).to.deep.equal(['n']);
    // A field JSON names __proto__ (another client may have written one) is kept as a field, not made a prototype.
    const theirs = JSON.parse('{"title":"b","__proto__":{"polluted":true}}') as Record<string, unknown>;
    const out = threeWayMerge({ title: 'a' }, { title: 'a' }, theirs).merged;
    expect(Object.getPrototypeOf(out)).to.equal(Object.prototype);
    expect(JSON.stringify(out)).to.equal('{"title":"b","__proto__":{"polluted":true}}');
  });
});

describe('Background Sync in the engine', () => {
  let f: EngineFixture;
  let collection: string;
  afterEach(async () => {
    await clearFaults(`/api/${collection}`);
    await f.dispose();
  });

  async function start(
    conflict: 'merge' | 'server-wins' | 'client-wins' | 'manual' = 'merge',
    extra: object = {},
    deps: Parameters<typeof engineFixture>[1] = {},
  ) {
    f = await engineFixture(extra, deps);
    collection = uniqueName('bg');
    await f.engine.registerCollection({ name: collection, url: `${API}/${collection}`, conflict, pullIntervalMs: 0 });
    return f.engine;
  }

  /**
   * t1 pushed as "base" (version 1), then patched to `title`: the server applies that push (version 2) but its
   * answer is held from the engine until `held.release()`.
   */
  async function pushWithAnswerHeld(conflict: 'merge' | 'manual' | 'server-wins', title: string) {
    const held = holdPutAnswers('/t1');
    const engine = await start(conflict, {}, { fetch: held.fetch });
    await engine.entityPut(collection, 't1', { title: 'base' });
    await clean('t1');
    held.hold();
    await engine.entityPatch(collection, 't1', { title });
    await eventually(() => held.answered.length === 1, 5_000, 'version 2 applied, its answer held');
    return { engine, held };
  }

  const stored = async (id: string) => (await f.engine.entities(collection)).find((e) => e.id === id);
  const clean = (id: string) => eventually(async () => (await stored(id))?.dirty === false, 10_000, `${id} pushed`);

  /** t1 pushed as "base" (version 1), then "theirs" written on the server and "mine" here: a manual conflict, by a 412. */
  async function conflictFoundBy412() {
    const engine = await start('manual');
    await engine.entityPut(collection, 't1', { title: 'base' });
    await clean('t1');
    await serverPut(collection, 't1', { title: 'theirs' }, '"1"');
    await engine.entityPatch(collection, 't1', { title: 'mine' });
    await eventually(async () => (await engine.conflicts(collection)).length === 1, 10_000, 'conflict');
    const [shown] = await engine.conflicts(collection);
    return { engine, shown: shown! };
  }

  it('loads its code only once a collection exists, and at open when one is stored', async () => {
    f = await engineFixture();
    collection = uniqueName('bg');
    // A queue-only app: reading conflicts or dirty entities answers "none" without loading anything.
    expect(await f.engine.conflicts()).to.deep.equal([]);
    expect(await f.engine.dirtyEntities()).to.deep.equal([]);
    expect(f.engine.collectionStatus(collection)).to.deep.equal({ dirty: 0, conflicts: 0, lastPullAt: null });
    expect(f.engine.background).to.equal(null);
    await f.engine.registerCollection({ name: collection, url: `${API}/${collection}`, pullIntervalMs: 0 });
    expect(f.engine.background).to.not.equal(null);
    // An edit left unpushed (offline), then the engine closed: the next one loads the collection as it opens.
    f.engine.setNetwork(false);
    await f.engine.entityPut(collection, 't1', { title: 'Buy milk' });
    const config = f.engine.config;
    f.engine.close();
    f.engine = await SyncEngine.open({ config, db: await openSynclineDB(f.namespace) });
    expect(f.engine.background).to.not.equal(null);
    expect(f.engine.status.entities.dirty).to.equal(1);
    await eventually(async () => (await writes(collection)).length === 1, 10_000, 'pushed after reopening');
    expect(await writes(collection)).to.deep.equal([['t1', 1, `${collection}/t1@1`]]);
  });

  it('counts an answered pull and an accepted push as syncs (status.lastSyncAt), and the stored pull after a reopen', async () => {
    f = await engineFixture();
    collection = uniqueName('bg');
    f.engine.setNetwork(false);
    await f.engine.registerCollection({ name: collection, url: `${API}/${collection}`, pullIntervalMs: 0 });
    expect(f.engine.status.lastSyncAt, 'nothing exchanged yet').to.equal(null);
    f.engine.setNetwork(true);
    const pulledAt = f.clock.now();
    await eventually(() => f.engine.collectionStatus(collection).lastPullAt !== null, 10_000, 'pulled');
    expect(f.engine.status.lastSyncAt, 'a pull').to.equal(pulledAt);
    f.clock.advance(5_000);
    await f.engine.entityPut(collection, 't1', { title: 'Buy milk' });
    await clean('t1');
    expect(f.engine.status.lastSyncAt, 'a push').to.equal(pulledAt + 5_000);
    // Pushes are not stored; the last pull is, and is the engine's last sync until its own first exchange.
    const config = f.engine.config;
    f.engine.close();
    f.engine = await SyncEngine.open({ config, db: await openSynclineDB(f.namespace) });
    expect(f.engine.status.lastSyncAt, 'after a reopen').to.equal(pulledAt);
  });

  it("shows an edit at once, pushes it with a key per edit, and takes the server's version as the next base", async () => {
    const engine = await start();
    const record = await engine.entityPut(collection, 't1', { title: 'Buy milk' });
    expect(record).to.include({ id: 't1', dirty: true, version: null });
    await clean('t1');
    expect((await stored('t1'))!.version).to.equal(1);
    // A second edit goes out with If-Match "1": no false conflict.
    await engine.entityPatch(collection, 't1', { done: true });
    await eventually(async () => (await stored('t1'))?.version === 2, 10_000, 'second push');
    expect(await writes(collection)).to.deep.equal([
      ['t1', 1, `${collection}/t1@1`],
      ['t1', 2, `${collection}/t1@2`],
    ]);
    expect((await serverItems(collection))[0]!.data).to.deep.equal({ title: 'Buy milk', done: true });
  });

  /** The server unreachable for this collection (and the probe): nothing is pushed or pulled until `back()`. */
  async function offline(): Promise<() => Promise<void>> {
    await addFault({ pathPrefix: `/api/${collection}`, offline: true });
    await addFault({ pathPrefix: `/api/health/${f.collection}`, offline: true });
    // The engine learns it at once (a failed probe), so no edit below is attempted before the server is back.
    await f.engine.syncNow();
    await eventually(() => f.engine.status.connectivity === 'offline', 5_000, 'offline');
    return async () => {
      await clearFaults(`/api/${collection}`);
      await clearFaults(`/api/health/${f.collection}`);
      await f.engine.syncNow();
    };
  }

  it('coalesces ten edits made offline into one request with the latest state', async () => {
    const engine = await start();
    const back = await offline();
    for (let i = 1; i <= 10; i++) await engine.entityPut(collection, 't1', { title: `v${i}` });
    await back();
    await clean('t1');
    expect(await writes(collection)).to.deep.equal([['t1', 1, `${collection}/t1@10`]]);
    expect((await serverItems(collection))[0]!.data).to.deep.equal({ title: 'v10' });
  });

  it('keeps an edit made while a push is out dirty and sends it next, against the new version', async () => {
    const engine = await start();
    await addFault({ pathPrefix: `/api/${collection}`, methods: ['PUT'], latencyMs: 500, times: 1 });
    await engine.entityPut(collection, 't1', { title: 'first' });
    await eventually(
      async () => (await writes(collection)).length === 0 && (await stored('t1'))!.dirty,
      2_000,
      'push out',
    );
    await new Promise((r) => setTimeout(r, 100));
    await engine.entityPatch(collection, 't1', { title: 'second' });
    await eventually(
      async () => (await stored('t1'))?.version === 2 && !(await stored('t1'))!.dirty,
      10_000,
      'both pushed',
    );
    expect((await writes(collection)).map(([, v]) => v)).to.deep.equal([1, 2]);
    expect((await serverItems(collection))[0]!.data).to.deep.equal({ title: 'second' });
  });

  it('pushes a delete, and a delete of something never pushed sends nothing', async () => {
    const engine = await start();
    await engine.entityPut(collection, 't1', { title: 'x' });
    await clean('t1');
    const back = await offline();
    await engine.entityPut(collection, 'local', { title: 'never sent' });
    expect(await engine.entityDelete(collection, 'local')).to.equal(true);
    expect(await engine.entityDelete(collection, 't1')).to.equal(true);
    expect(await engine.entityDelete(collection, 'nope')).to.equal(false);
    await back();
    await eventually(
      async () => (await engine.entities(collection)).length === 0 && engine.status.entities.dirty === 0,
      10_000,
      'deleted',
    );
    expect(await writes(collection)).to.deep.equal([
      ['t1', 1, `${collection}/t1@1`],
      ['t1', 2, `${collection}/t1@2`],
    ]);
    expect((await serverItems(collection))[0]!.deleted).to.equal(true);
  });

  it('pulls remote changes into clean entities, pages through the feed, removes tombstones, and leaves an unpushed edit on screen', async () => {
    const engine = await start('merge');
    await serverPut(collection, 'a', { title: 'A' });
    await serverPut(collection, 'b', { title: 'B', note: 'x' });
    await engine.background!.pull(collection);
    expect((await engine.entities(collection)).map((e) => [e.id, e.data.title, e.version])).to.deep.equal([
      ['a', 'A', 1],
      ['b', 'B', 1],
    ]);
    // Unreachable here (nothing is pushed), while someone else changes the server.
    const back = await offline();
    await engine.entityPatch(collection, 'b', { title: 'mine' });
    await clearFaults(`/api/${collection}`);
    await serverPut(collection, 'a', { title: 'A2' }, '"1"');
    await serverPut(collection, 'b', { title: 'B', note: 'theirs' }, '"1"');
    await fetch(`${API}/${collection}/a`, { method: 'DELETE' });
    const seen: string[] = [];
    const watch = engine.entityChanges$.subscribe((batch) => {
      for (const c of batch.changes) if (c.id === 'b' && c.next) seen.push(String(c.next.data.title));
    });
    await back();
    await engine.background!.pull(collection);
    await eventually(async () => (await stored('b'))?.dirty === false, 10_000, 'merged and pushed');
    watch.unsubscribe();
    // b never showed the server's stale title while the local edit was unpushed.
    expect(seen.every((t) => t === 'mine')).to.equal(true);
    expect((await engine.entities(collection)).map((e) => [e.id, e.data])).to.deep.equal([
      ['b', { title: 'mine', note: 'theirs' }],
    ]);
    expect((await serverItems(collection)).find((i) => i.id === 'b')!.data).to.deep.equal({
      title: 'mine',
      note: 'theirs',
    });
  });

  it('asks again for a feed page whose write failed at commit: the next pull does not pass over it', async () => {
    const engine = await start('merge');
    await serverPut(collection, 'a', { title: 'A' });
    await engine.background!.pull(collection);
    await serverPut(collection, 'a', { title: 'A2' }, '"1"');
    // The next commit of the replica fails (a full disk, a crash of the database process): the page is not stored.
    const commit = IDBTransaction.prototype.commit;
    IDBTransaction.prototype.commit = function (this: IDBTransaction) {
      IDBTransaction.prototype.commit = commit;
      this.abort();
    };
    try {
      await engine.background!.pull(collection);
    } finally {
      IDBTransaction.prototype.commit = commit;
    }
    expect((await stored('a'))!.version, 'not stored').to.equal(1);
    await engine.background!.pull(collection);
    expect((await stored('a'))!.data).to.deep.equal({ title: 'A2' });
  });

  it('pages through a long feed', async () => {
    const engine = await start();
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => serverPut(collection, `n${String(i).padStart(3, '0')}`, { title: `#${i}` })),
    );
    // The test server pages by 500; ask for small pages by cursor to see paging: pull twice, the second is empty.
    await engine.background!.pull(collection);
    expect((await engine.entities(collection)).length).to.equal(30);
    await serverPut(collection, 'n000', { title: 'again' }, '"1"');
    await engine.background!.pull(collection);
    expect((await stored('n000'))!.data.title).to.equal('again');
  });

  for (const [strategy, expected] of [
    [
      'server-wins',
      { local: { title: 'theirs', done: false }, server: { title: 'theirs', done: false }, conflicts: 0, rollbacks: 1 },
    ],
    [
      'client-wins',
      { local: { title: 'mine', done: false }, server: { title: 'mine', done: false }, conflicts: 0, rollbacks: 0 },
    ],
    [
      'manual',
      { local: { title: 'mine', done: false }, server: { title: 'theirs', done: false }, conflicts: 1, rollbacks: 0 },
    ],
  ] as const) {
    it(`settles a 412 by ${strategy}`, async () => {
      const engine = await start(strategy);
      await engine.entityPut(collection, 't1', { title: 'base', done: false });
      await clean('t1');
      const rollbacks: unknown[] = [];
      engine.rollbacks$.subscribe((r) => rollbacks.push(r));
      await serverPut(collection, 't1', { title: 'theirs', done: false }, '"1"');
      await engine.entityPatch(collection, 't1', { title: 'mine' });
      await eventually(
        async () => {
          const e = await stored('t1');
          return !!e && (e.conflictId !== null || !e.dirty);
        },
        10_000,
        'settled',
      );
      expect((await stored('t1'))!.data).to.deep.equal(expected.local);
      expect((await serverItems(collection))[0]!.data).to.deep.equal(expected.server);
      expect((await engine.conflicts(collection)).length).to.equal(expected.conflicts);
      expect(rollbacks.length).to.equal(expected.rollbacks);
    });
  }

  /** A manual-conflict collection whose GETs (pulls) are answered 300 ms late while `slow.on`: one is out when a clear comes. */
  async function startWithSlowPulls() {
    const slow = { on: false };
    const engine = await start(
      'manual',
      {},
      {
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          if (slow.on && (init?.method ?? 'GET') === 'GET') await new Promise((r) => setTimeout(r, 300));
          return response;
        },
      },
    );
    return { engine, slow };
  }

  it("keeps a tab call's answer for a re-send a minute, and drops kept answers with a clear", async () => {
    const engine = await start();
    const back = await offline();
    const call = (key: string, resent = false) => ({ key, resent });
    await engine.entityPut(collection, 'a', { title: 'a' });
    await engine.entityPut(collection, 'b', { title: 'b' });
    expect(await engine.entityDelete(collection, 'a', call('t#1'))).to.equal(true);
    expect(await engine.entityDelete(collection, 'a', call('t#1', true)), 'kept').to.equal(true);
    expect(await engine.entityDelete(collection, 'a', call('t#2', true)), 'another call').to.equal(false);
    // A minute on, the next call's write removes it.
    f.clock.advance(61_000);
    expect(await engine.entityDelete(collection, 'b', call('t#3'))).to.equal(true);
    expect(await engine.entityDelete(collection, 'a', call('t#1', true)), 'gone a minute on').to.equal(false);
    expect(await engine.entityDelete(collection, 'b', call('t#3', true)), 'kept').to.equal(true);
    await engine.clear({ discardUnsent: true });
    expect(await engine.entityDelete(collection, 'b', call('t#3', true)), 'gone with the clear').to.equal(false);
    await back();
  });

  it('keeps an answer as long as its tab may send the call again, and none for a call with no key', async () => {
    const engine = await start();
    const back = await offline();
    await engine.entityPut(collection, 'a', { title: 'a' });
    // A tab that waits 3 minutes for its answers.
    const until = f.clock.now() + 180_000;
    expect(await engine.entityDelete(collection, 'a', { key: 't#1', resent: false, until })).to.equal(true);
    await engine.entityPut(collection, 'a', { title: 'made again by another tab' });
    f.clock.advance(120_000);
    // Another call's end removes what no tab waits for any more: not this one.
    expect(await engine.entityRevert(collection, 'zz', { key: 'u#1', resent: false })).to.equal(false);
    expect(await engine.entityDelete(collection, 'a', { key: 't#1', resent: true, until })).to.equal(true);
    expect((await engine.entities(collection)).map((e) => e.data)).to.deep.equal([
      { title: 'made again by another tab' },
    ]);
    // Calls with no key of their own (an older caller's `{ resent }`) share no answer.
    await engine.entityPut(collection, 'b', { title: 'b' });
    const unnamed = { resent: true } as unknown as { key: string; resent: boolean };
    expect(await engine.entityDelete(collection, 'a', unnamed)).to.equal(true);
    expect(await engine.entityDelete(collection, 'b', unnamed)).to.equal(true);
    expect(await engine.entities(collection)).to.deep.equal([]);
    await back();
  });

  it("applies a tab's put or patch once: re-sent, it is answered with the entity as it is, even after the row went", async () => {
    const engine = await start();
    const back = await offline();
    const call = (key: string, resent = false) => ({ key, resent });
    await engine.entityPut(collection, 'a', { title: 'mine' }, call('t#1'));
    await engine.entityPatch(collection, 'a', { note: 'added' }, call('t#2'));
    await engine.entityPut(collection, 'a', { title: 'saved by another tab' }, call('u#1'));
    // Re-sent: neither is done again over the later edit; each answers the entity as it is.
    const again = await engine.entityPut(collection, 'a', { title: 'mine' }, call('t#1', true));
    expect(again.data).to.deep.equal({ title: 'saved by another tab' });
    await engine.entityPatch(collection, 'a', { note: 'added' }, call('t#2', true));
    expect((await engine.entities(collection)).map((e) => e.data)).to.deep.equal([{ title: 'saved by another tab' }]);
    // A call not done before is done, re-sent or not.
    await engine.entityPatch(collection, 'a', { note: 'new' }, call('t#3', true));
    expect((await engine.entities(collection))[0]!.data).to.deep.equal({ title: 'saved by another tab', note: 'new' });
    // Never pushed, a delete drops the row: the put's key outlives it, and the put does not make the entity again.
    expect(await engine.entityDelete(collection, 'a')).to.equal(true);
    const gone = await engine.entityPut(collection, 'a', { title: 'mine' }, call('t#1', true));
    expect(gone.deleted).to.equal(true);
    expect(await engine.entities(collection)).to.deep.equal([]);
    // A minute on, no tab waits for it: the next call's end removes it, and a put under that key is done again.
    f.clock.advance(61_000);
    await engine.entityPut(collection, 'b', { title: 'b' }, call('t#4'));
    await engine.entityPut(collection, 'a', { title: 'mine' }, call('t#1', true));
    expect((await engine.entities(collection)).map((e) => e.id).sort()).to.deep.equal(['a', 'b']);
    await back();
  });

  it("keeps a row's newest 32 call keys, each as long as its tab may send the call again", async () => {
    const engine = await start();
    const back = await offline();
    const until = f.clock.now() + 180_000;
    const call = (key: string, resent = false) => ({ key, resent, until });
    for (let i = 1; i <= 33; i++) await engine.entityPut(collection, 'a', { n: i }, call(`t#${i}`));
    f.clock.advance(120_000);
    // Past a minute and within its tab's wait: the 2nd call is kept; the 1st went with the 33rd (newest 32 kept).
    await engine.entityPut(collection, 'a', { n: 2 }, call('t#2', true));
    expect((await engine.entities(collection))[0]!.data).to.deep.equal({ n: 33 });
    await engine.entityPut(collection, 'a', { n: 1 }, call('t#1', true));
    expect((await engine.entities(collection))[0]!.data).to.deep.equal({ n: 1 });
    // Keys expired go with the next keyed edit of the row.
    f.clock.advance(61_000);
    await engine.entityPut(collection, 'a', { n: 34 }, call('t#34'));
    await engine.entityPut(collection, 'a', { n: 2 }, call('t#2', true));
    expect((await engine.entities(collection))[0]!.data).to.deep.equal({ n: 2 });
    await back();
  });

  it('clears the replica with the queue (a logout): refused while an edit is unpushed, then nothing of it left', async () => {
    const { engine, slow } = await startWithSlowPulls();
    await serverPut(collection, 's1', { title: 'on the server' });
    await engine.background!.pull(collection);
    // An unpushed edit (its push held by a 503, set before the edit: a push may leave at once) refuses the clear:
    // nothing is removed, queue or replica.
    await addFault({ pathPrefix: `/api/${collection}/mine`, status: 503 });
    await engine.entityPut(collection, 'mine', { title: 'unpushed' });
    await engine.enqueue([f.create('op')]);
    const refused = await engine.clear().catch((e: unknown) => e);
    expect((refused as SynclineError).code).to.equal('unsent-operations');
    expect((await engine.entities(collection)).map((e) => e.id).sort()).to.deep.equal(['mine', 's1']);
    // With discardUnsent, while a pull is out: the pull ends first, and brings nothing back after the clear.
    slow.on = true;
    const pulling = engine.background!.pull(collection);
    const removed = await engine.clear({ discardUnsent: true });
    await pulling;
    expect(removed, 'the queued operation').to.equal(1);
    expect(await engine.entities(collection)).to.deep.equal([]);
    expect(await engine.conflicts()).to.deep.equal([]);
    expect(engine.status.entities).to.deep.equal({ dirty: 0, conflicts: 0, failed: 0 });
    expect(engine.collectionStatus(collection).lastPullAt).to.equal(null);
    // The next pull starts from the start: the server's entity is back, the discarded edit is not.
    slow.on = false;
    await clearFaults(`/api/${collection}/mine`);
    await engine.background!.pull(collection);
    expect((await engine.entities(collection)).map((e) => e.id)).to.deep.equal(['s1']);
  });

  it('runs a pull asked for while a clear ran once the clear is over, for a collection with no interval', async () => {
    const { engine, slow } = await startWithSlowPulls();
    await serverPut(collection, 's1', { title: 'on the server' });
    slow.on = true;
    const pulling = engine.background!.pull(collection);
    // The clear waits for the pull out; a pull asked for meanwhile is not dropped.
    const clearing = engine.background!.clear(f.clock.now(), true);
    void engine.background!.pull(collection);
    await Promise.all([pulling, clearing]);
    slow.on = false;
    await eventually(
      async () => (await engine.entities(collection)).some((e) => e.id === 's1'),
      5_000,
      'pulled again after the clear',
    );
  });

  it('names in a manual conflict only the fields changed on both sides to different values', async () => {
    const engine = await start('manual');
    await engine.entityPut(collection, 't1', { title: 'base', done: false, note: 'n', count: 1 });
    await clean('t1');
    // The server changes title, done and note; this device title (differently) and done (alike), and its first push
    // of that meets a 502.
    await serverPut(collection, 't1', { title: 'theirs', done: true, note: 'server note', count: 1 }, '"1"');
    await addFault({ pathPrefix: `/api/${collection}/t1`, status: 502, times: 1 });
    await engine.entityPatch(collection, 't1', { title: 'mine', done: true });
    await eventually(async () => (await engine.dirtyEntities())[0]?.lastError?.status === 502, 10_000, 'a 502');
    await engine.background!.pull(collection);
    await eventually(async () => (await engine.conflicts(collection)).length === 1, 10_000, 'conflict');
    expect((await engine.dirtyEntities())[0]!.lastError, "the 502 is not the conflict's news").to.equal(undefined);
    const [conflict] = await engine.conflicts(collection);
    expect(conflict!.fields, 'not done (alike on both sides), nor note (the server only)').to.deep.equal(['title']);
    expect(conflict!.mine).to.deep.equal({ title: 'mine', done: true, note: 'n', count: 1 });
  });

  it('merges a 412 whose changes touch other fields, and keeps a conflict for a field changed on both sides', async () => {
    const engine = await start('merge');
    await engine.entityPut(collection, 't1', { title: 'base', done: false });
    await engine.entityPut(collection, 't2', { title: 'base', done: false });
    await clean('t1');
    await clean('t2');
    await serverPut(collection, 't1', { title: 'base', done: true }, '"1"');
    await serverPut(collection, 't2', { title: 'theirs', done: false }, '"1"');
    await engine.entityPatch(collection, 't1', { title: 'mine' });
    await engine.entityPatch(collection, 't2', { title: 'mine' });
    await eventually(async () => (await stored('t1'))?.dirty === false, 10_000, 'merged');
    expect((await serverItems(collection)).find((i) => i.id === 't1')!.data).to.deep.equal({
      title: 'mine',
      done: true,
    });
    await eventually(async () => (await engine.conflicts(collection)).length === 1, 10_000, 'conflict');
    const [conflict] = await engine.conflicts(collection);
    expect(conflict).to.deep.include({
      entityId: 't2',
      fields: ['title'],
      base: { title: 'base', done: false },
      mine: { title: 'mine', done: false },
      theirs: { title: 'theirs', done: false },
      theirsVersion: 2,
      detectedBy: '412',
    });
    // The user keeps theirs for nothing and mine for title: pushed against version 2, accepted.
    await engine.resolve(conflict!.id, { data: { title: 'mine, after all', done: false } });
    await eventually(async () => (await stored('t2'))?.dirty === false, 10_000, 'resolution pushed');
    expect((await serverItems(collection)).find((i) => i.id === 't2')).to.deep.include({
      version: 3,
      data: { title: 'mine, after all', done: false },
    });
    expect(engine.status.entities).to.deep.equal({ dirty: 0, conflicts: 0, failed: 0 });
  });

  it('pushes an edit waiting out a backoff once the clock went back past the start of its wait', async () => {
    const engine = await start();
    await addFault({ pathPrefix: `/api/${collection}/t1`, status: 503, times: 1 });
    await engine.entityPut(collection, 't1', { title: 'a' });
    await eventually(async () => (await engine.dirtyEntities())[0]?.lastError?.status === 503, 10_000, 'a 503');
    // Its wait ends soon in the old time: an hour on, in the new.
    f.clock.advance(-3_600_000);
    engine.resume();
    await clean('t1');
  });

  it('meets an entity another device made under the same id as a conflict, not going over it (If-None-Match)', async () => {
    const engine = await start('manual');
    // Made elsewhere after this device's last pull: this device has no copy of it.
    expect((await serverPut(collection, 't1', { title: 'theirs' })).status).to.equal(201);
    await engine.entityPut(collection, 't1', { title: 'mine' });
    await eventually(async () => (await engine.conflicts(collection)).length === 1, 10_000, 'a conflict');
    expect((await serverItems(collection)).find((i) => i.id === 't1')).to.deep.include({
      version: 1,
      data: { title: 'theirs' },
    });
    const [conflict] = await engine.conflicts(collection);
    expect(conflict).to.deep.include({ mine: { title: 'mine' }, theirs: { title: 'theirs' }, theirsVersion: 1 });
    // Chosen by the user: pushed against that version.
    await engine.resolve(conflict!.id, { choose: 'mine', theirsVersion: 1 });
    await clean('t1');
    expect((await serverItems(collection)).find((i) => i.id === 't1')).to.deep.include({
      version: 2,
      data: { title: 'mine' },
    });
    // A create of an id no one has goes through as before.
    await engine.entityPut(collection, 't2', { title: 'new' });
    await clean('t2');
  });

  it('refuses a resolution chosen on a server copy a pull has since replaced, and takes one chosen on the newest', async () => {
    const { engine, shown } = await conflictFoundBy412();
    expect(shown!.theirsVersion).to.equal(2);
    // The user decides on version 2; meanwhile the server moves on, and a pull brings version 3 into the conflict.
    await serverPut(collection, 't1', { title: 'theirs', note: 'added since' }, '"2"');
    await engine.background!.pull(collection);
    const refused = await engine
      .resolve(shown!.id, { choose: 'mine', theirsVersion: 2 })
      .catch((e: SynclineError) => e);
    expect((refused as SynclineError).code).to.equal('conflict-changed');
    expect((refused as SynclineError).detail).to.deep.equal({ theirsVersion: 3 });
    // Nothing changed: the conflict waits with the newest copy, nothing was pushed over it.
    const [still] = await engine.conflicts(collection);
    expect(still).to.deep.include({ id: shown!.id, theirsVersion: 3 });
    expect((await serverItems(collection)).find((i) => i.id === 't1')!.version).to.equal(3);
    const bad = await engine.resolve(shown!.id, { choose: 'mine', theirsVersion: 'x' } as never).catch((e) => e);
    expect((bad as SynclineError).code).to.equal('invalid-operation');
    // Chosen again, on version 3: taken, and pushed against it.
    await engine.resolve(shown!.id, { choose: 'mine', theirsVersion: 3 });
    await eventually(async () => (await stored('t1'))?.dirty === false, 10_000, 'resolution pushed');
    expect((await serverItems(collection)).find((i) => i.id === 't1')).to.deep.include({
      version: 4,
      data: { title: 'mine' },
    });
  });

  it('keeps revisions going up for an entity made again after a delete whose first write failed', async () => {
    const engine = await start();
    // Offline once the registration's pull is over (its answer would say "online" again): nothing is pushed.
    await engine.background!.pull(collection);
    engine.setNetwork(false);
    await engine.entityPut(collection, 'x', { n: 0 });
    for (let n = 1; n <= 4; n++) await engine.entityPatch(collection, 'x', { n });
    const row = async () => {
      const db = await openSynclineDB(f.namespace);
      const found = await db.get('entities', [collection, 'x']);
      db.close();
      return found;
    };
    const last = (await row())!.localRev;
    // Never pushed, so the delete just removes it, and stores how far its revisions went: that store fails once.
    const failing = refusePuts('meta', (value) => value === last, 'UnknownError', 1);
    try {
      const failed = await engine.entityDelete(collection, 'x').catch((e: unknown) => e);
      expect(failed).to.be.instanceOf(Error);
    } finally {
      failing.restore();
    }
    expect(await engine.entityDelete(collection, 'x')).to.equal(true);
    // A new engine (every tab was closed), and the entity made again: its revisions, which name its pushes' keys,
    // go on from where the deleted one's ended.
    (await f.reopen()).setNetwork(false);
    await f.engine.entityPut(collection, 'x', { n: 'again' });
    expect((await row())!.localRev).to.be.greaterThan(last);
  });

  it("takes the server's deletion over a create whose answer was lost without that create bringing the entity back", async () => {
    let late: Promise<unknown> | null = null;
    // The create of x reaches the server only later (a slow network), and its answer is lost at once.
    const slow: typeof fetch = async (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (late === null && init?.method === 'PUT' && url.endsWith('/x')) {
        late = new Promise((r) => setTimeout(r, 1_500)).then(() => fetch(input, init));
        throw new TypeError('Failed to fetch');
      }
      return fetch(input, init);
    };
    const engine = await start('manual', {}, { fetch: slow });
    await engine.background!.pull(collection);
    // Someone else made x and deleted it, before this device's pull.
    await serverPut(collection, 'x', { title: 'theirs' });
    await fetch(`${API}/${collection}/x`, { method: 'DELETE' });
    await engine.entityPut(collection, 'x', { title: 'mine' });
    await eventually(() => late !== null, 5_000, 'the create left');
    // The pull brings the deletion: a conflict with it, the create's fate unknown. The user takes the deletion.
    await engine.background!.pull(collection);
    await eventually(async () => (await engine.conflicts(collection)).length === 1, 5_000, 'conflict');
    const [conflict] = await engine.conflicts(collection);
    expect(conflict!.theirs).to.equal(null);
    const { theirsVersion, mineRev } = conflict!;
    await engine.resolve(conflict!.id, { choose: 'theirs', theirsVersion, mineRev: mineRev! });
    // Then the create lands.
    await late;
    await advancingUntil(async () => engine.status.entities.dirty === 0, 'settled');
    const x = (await serverItems(collection)).filter((i) => i.id === 'x');
    expect(x.at(-1)!.deleted, 'x stays deleted on the server').to.equal(true);
    expect(await engine.entities(collection)).to.deep.equal([]);
  });

  it("refuses a choice made on this device's copy before an edit made since, which the conflict then shows", async () => {
    const { engine, shown } = await conflictFoundBy412();
    expect(shown!.mineRev).to.be.a('number');
    // The user edits the entity again while its conflict is open: the conflict shows that edit as mine.
    await engine.entityPatch(collection, 't1', { title: 'mine, later', note: 'n' });
    const [now] = await engine.conflicts(collection);
    expect(now).to.deep.include({ id: shown!.id, mine: { title: 'mine, later', note: 'n' }, theirsVersion: 2 });
    expect(now!.mineRev).to.be.greaterThan(shown!.mineRev!);
    // A choice made on the copy shown before that edit (the server's, whole) is refused: the edit is not pushed over.
    const refused = await engine
      .resolve(shown!.id, { choose: 'theirs', theirsVersion: 2, mineRev: shown!.mineRev! })
      .catch((e: SynclineError) => e);
    expect((refused as SynclineError).code).to.equal('conflict-changed');
    expect((refused as SynclineError).detail).to.deep.equal({ theirsVersion: 2, mineRev: now!.mineRev });
    expect((await stored('t1'))!.data).to.deep.equal({ title: 'mine, later', note: 'n' });
    expect(await engine.conflicts(collection)).to.have.length(1);
    const bad = await engine.resolve(shown!.id, { choose: 'mine', mineRev: 1.5 }).catch((e) => e);
    expect((bad as SynclineError).code).to.equal('invalid-operation');
    // Chosen again on the copies shown now: taken, and pushed.
    await engine.resolve(shown!.id, { data: { title: 'both', note: 'n' }, theirsVersion: 2, mineRev: now!.mineRev! });
    await eventually(async () => (await stored('t1'))?.dirty === false, 10_000, 'resolution pushed');
    expect((await serverItems(collection)).find((i) => i.id === 't1')).to.deep.include({
      version: 3,
      data: { title: 'both', note: 'n' },
    });
  });

  it("sends a queued operation on an entity after that entity's earlier background edit", async () => {
    const engine = await start();
    const back = await offline();
    await engine.entityPut(collection, 't1', { title: 'edited first' });
    await engine.enqueue([
      {
        kind: 'task.delete',
        label: 'Delete',
        entity: { type: collection, id: 't1' },
        request: { method: 'DELETE', url: `${API}/${collection}/t1` },
      },
    ]);
    await back();
    await eventually(
      async () => (await engine.count()) === 0 && engine.status.entities.dirty === 0,
      10_000,
      'both sent',
    );
    expect((await writes(collection)).map(([id, v]) => [id, v])).to.deep.equal([
      ['t1', 1],
      ['t1', 2],
    ]);
    expect((await serverItems(collection))[0]!.deleted).to.equal(true);
  });

  it('sends a queued delete after several edits of the entity, one of them still out: edits in order, then the delete', async () => {
    const engine = await start();
    // The create is held by the server (after it claims the key) while a second edit and the delete are made.
    await addFault({ pathPrefix: `/api/${collection}/`, methods: ['PUT'], latencyMs: 800, times: 1 });
    await engine.entityPut(collection, 't1', { title: 'created' });
    await eventually(async () => (await requestCount(`/api/${collection}/t1`)) === 1, 5_000, 'create out');
    await engine.entityPatch(collection, 't1', { title: 'edited', done: true });
    const [op] = await engine.enqueue([
      {
        kind: 'task.delete',
        label: 'Delete',
        entity: { type: collection, id: 't1' },
        request: { method: 'DELETE', url: `${API}/${collection}/t1` },
      },
    ]);
    await eventually(
      async () => (await engine.count()) === 0 && engine.status.entities.dirty === 0,
      10_000,
      'all sent',
    );
    // One push at a time per entity: the second edit went after the create was answered, on its version, then the delete.
    expect(await writes(collection)).to.deep.equal([
      ['t1', 1, `${collection}/t1@1`],
      ['t1', 2, `${collection}/t1@2`],
      ['t1', 3, op!.id],
    ]);
    expect((await serverItems(collection))[0]!.deleted).to.equal(true);
  });

  it('keeps a newer server copy a pull brought in over the late answer of a push the server applied before it', async () => {
    // Answers to this device's PUTs of t1 reach the engine only when the test lets them (the server has applied them by then).
    const { engine, held } = await pushWithAnswerHeld('merge', 'mine');
    // Someone else builds on version 2; a pull brings version 3, which already holds this device's edit: t1 is clean.
    await serverPut(collection, 't1', { title: 'mine', note: 'theirs' }, '"2"');
    await engine.background!.pull(collection);
    expect(await stored('t1')).to.deep.include({ version: 3, dirty: false, data: { title: 'mine', note: 'theirs' } });
    expect(engine.status.syncing).to.equal(true);
    held.release();
    await eventually(() => !engine.status.syncing, 5_000, 'the push lane done with the answer');
    // The answer "version 2" came after version 3 was known: the replica stays on version 3.
    expect(await stored('t1')).to.deep.include({ version: 3, dirty: false, data: { title: 'mine', note: 'theirs' } });
  });

  it("takes a pull of this device's own push still out for its own, not a conflict, and pushes the newer edit", async () => {
    // As above, the answers to this device's PUTs of t1 are held; a pull meanwhile sees the push's own result.
    const { engine, held } = await pushWithAnswerHeld('manual', 'first');
    // Edited again while the push is out; the pull finds version 2 ("first", what the push out carries) under an
    // unpushed "second": the newer edit is rebased on it, as the push's answer will do.
    await engine.entityPatch(collection, 't1', { title: 'second' });
    await engine.background!.pull(collection);
    expect(await engine.conflicts(collection)).to.deep.equal([]);
    expect(await stored('t1')).to.deep.include({ version: 2, dirty: true, data: { title: 'second' } });
    held.release();
    await eventually(async () => (await stored('t1'))?.dirty === false, 10_000, 'the newer edit pushed');
    expect(await engine.conflicts(collection)).to.deep.equal([]);
    expect(await stored('t1')).to.deep.include({ version: 3, conflictId: null, data: { title: 'second' } });
    expect((await serverItems(collection))[0]).to.deep.include({ version: 3, data: { title: 'second' } });
  });

  it('keys pushes per device: two databases editing one entity at the same revision are two writes, not a key reuse', async () => {
    const engine = await start('merge');
    const other = await engineFixture();
    try {
      await other.engine.registerCollection({
        name: collection,
        url: `${API}/${collection}`,
        conflict: 'merge',
        pullIntervalMs: 0,
      });
      await engine.entityPut(collection, 't1', { title: 'here' });
      await clean('t1');
      await other.engine.background!.pull(collection);
      // Both devices' first edits of t1 (revision 1 on each), different data: the server must see two keys.
      await other.engine.entityPatch(collection, 't1', { title: 'there' });
      await eventually(
        async () => (await other.engine.entities(collection)).find((e) => e.id === 't1')?.dirty === false,
        10_000,
        'pushed from the other device',
      );
      expect((await serverItems(collection))[0]).to.deep.include({ version: 2, data: { title: 'there' } });
      const keys = (
        (await (await fetch(`${API}/_admin/changes?collection=${collection}`)).json()) as {
          items: { idempotencyKey: string }[];
        }
      ).items.map((c) => c.idempotencyKey);
      expect(keys).to.deep.equal([
        `${collection}/t1@${engine.deviceId}.1`,
        `${collection}/t1@${other.engine.deviceId}.1`,
      ]);
      expect(engine.deviceId).to.not.equal(other.engine.deviceId);
    } finally {
      await other.dispose();
    }
  });

  it('never repeats a key for an entity made again after its delete, even across a restart: the re-create is a new write', async () => {
    const engine = await start();
    await engine.entityPut(collection, 't1', { title: 'A' });
    await clean('t1');
    expect(await engine.entityDelete(collection, 't1')).to.equal(true);
    await eventually(
      async () => engine.status.entities.dirty === 0 && (await stored('t1')) === undefined,
      10_000,
      'delete pushed',
    );
    // The row (and its revision) is gone; so is the engine: what it knew of revisions must survive in the database.
    const config = f.engine.config;
    f.engine.close();
    f.engine = await SyncEngine.open({
      config,
      db: await openSynclineDB(f.namespace),
      clock: f.clock,
      random: () => 0.5,
    });
    // The same data again: under a repeated key the server would replay its first answer (version 1) and apply nothing.
    await f.engine.entityPut(collection, 't1', { title: 'A' });
    await clean('t1');
    expect(await stored('t1')).to.deep.include({ version: 3, dirty: false, data: { title: 'A' } });
    expect((await serverItems(collection))[0]).to.deep.include({ version: 3, deleted: false, data: { title: 'A' } });
    expect(await writes(collection)).to.deep.equal([
      ['t1', 1, `${collection}/t1@1`],
      ['t1', 2, `${collection}/t1@2`],
      ['t1', 3, `${collection}/t1@3`],
    ]);
  });

  it("pushes a delete or revert made while the create's push is out, so the entity does not come back", async () => {
    const held = holdPutAnswers('');
    const engine = await start('merge', {}, { fetch: held.fetch });
    for (const [id, undo] of [
      ['t1', () => engine.entityDelete(collection, 't1')],
      ['t2', () => engine.entityRevert(collection, 't2')],
    ] as const) {
      held.hold();
      await engine.entityPut(collection, id, { title: 'created' });
      await eventually(() => held.answered.some((url) => url.endsWith(`/${id}`)), 5_000, `${id} created, answer held`);
      expect(await undo()).to.equal(true);
      expect(await stored(id)).to.equal(undefined);
      held.release();
      await eventually(async () => engine.status.entities.dirty === 0, 10_000, `${id}'s delete pushed`);
      expect((await serverItems(collection)).find((i) => i.id === id)).to.deep.include({ deleted: true });
    }
    await engine.background!.pull(collection);
    expect(await engine.entities(collection)).to.deep.equal([]);
  });

  /** Waits for `check`, moving virtual time on a second per look: backoffs and Retry-After waits run out meanwhile. */
  const advancingUntil = (check: () => Promise<boolean>, message: string) =>
    eventually(
      async () => {
        f.clock.advance(1_000);
        await new Promise((r) => setTimeout(r, 200));
        return check();
      },
      10_000,
      message,
    );

  /**
   * Where a delete of `id` racing its own create must end: on neither side, nothing left to push, no conflict; the
   * server applied the create (edit 1) and then the delete (edit 2), each once.
   */
  async function createdThenDeleted(id: string) {
    await f.engine.background!.pull(collection);
    expect(await f.engine.entities(collection)).to.deep.equal([]);
    expect(await f.engine.conflicts(collection)).to.deep.equal([]);
    expect(f.engine.status.entities).to.deep.equal({ dirty: 0, conflicts: 0, failed: 0 });
    expect((await serverItems(collection)).filter((i) => i.id === id && !i.deleted)).to.deep.equal([]);
    expect(await writes(collection)).to.deep.equal([
      [id, 1, `${collection}/${id}@1`],
      [id, 2, `${collection}/${id}@2`],
    ]);
  }

  /**
   * t1 created while the server's PUTs fail with `fault`, until the engine has seen its push fail (not before:
   * Chromium itself sends a request again once when its connection closes unanswered); the fault is then lifted.
   */
  async function createFailing(fault: { drop: true } | { offline: true }) {
    const engine = await start();
    await addFault({ pathPrefix: `/api/${collection}`, methods: ['PUT'], ...fault });
    await engine.entityPut(collection, 't1', { title: 'created' });
    await eventually(async () => !!(await engine.dirtyEntities())[0]?.lastError, 5_000, 'the create failed');
    await clearFaults(`/api/${collection}`);
    return engine;
  }

  it("deletes an entity whose create's answer was lost: the create is settled under its own key, then deleted on its version", async () => {
    // The server applies the create, then cuts the connection: the engine never hears of version 1.
    const engine = await createFailing({ drop: true });
    expect(await engine.entityDelete(collection, 't1')).to.equal(true);
    await advancingUntil(async () => engine.status.entities.dirty === 0, 'deleted');
    await createdThenDeleted('t1');
  });

  /** t1 created: the server holds the create for 1.5 s after claiming its key; the engine stops waiting long before. */
  async function createStillProcessing() {
    const engine = await start('merge', { requestTimeoutMs: 5_000 });
    await addFault({ pathPrefix: `/api/${collection}`, methods: ['PUT'], latencyMs: 1_500, times: 1 });
    await engine.entityPut(collection, 't1', { title: 'created' });
    await eventually(async () => (await requestCount(`/api/${collection}/t1`)) === 1, 5_000, 'create out');
    f.clock.advance(5_000);
    await eventually(
      async () => (await engine.dirtyEntities())[0]?.lastError?.kind === 'timeout',
      5_000,
      'the create given up on',
    );
    return engine;
  }

  it('deletes an entity whose create is still being processed by the server only after that create, so it does not come back', async () => {
    const engine = await createStillProcessing();
    expect(await engine.entityDelete(collection, 't1')).to.equal(true);
    // A DELETE now would find nothing (404) and the create would land after it: the delete waits for the create.
    await advancingUntil(
      async () => engine.status.entities.dirty === 0 && (await writes(collection)).length > 0,
      'the create landed and the delete pushed',
    );
    await createdThenDeleted('t1');
  });

  it('pushes an edit made while its create is still being processed by the server after that create, which cannot overwrite it', async () => {
    const engine = await createStillProcessing();
    await engine.entityPatch(collection, 't1', { title: 'edited' });
    // Sent now without a version, the edit would be applied first, and the create, landing after it, would undo it.
    await advancingUntil(
      async () => engine.status.entities.dirty === 0 && (await writes(collection)).length > 1,
      'the create landed and the edit pushed',
    );
    expect(await writes(collection)).to.deep.equal([
      ['t1', 1, `${collection}/t1@1`],
      ['t1', 2, `${collection}/t1@2`],
    ]);
    expect((await serverItems(collection))[0]).to.deep.include({ version: 2, data: { title: 'edited' } });
    expect(await stored('t1')).to.deep.include({ version: 2, dirty: false, data: { title: 'edited' } });
  });

  it('deletes an entity whose create never reached the server without making it, and fences the create off for good', async () => {
    // The connection is cut before the server reads the create: to the engine, the same network error as a lost
    // answer.
    const engine = await createFailing({ offline: true });
    expect(await writes(collection)).to.deep.equal([]);
    expect(await engine.entityDelete(collection, 't1')).to.equal(true);
    await advancingUntil(async () => engine.status.entities.dirty === 0, 'deleted');
    // Sent again under its own key with an If-Match nothing has, the create is refused (a 412 kept under its key),
    // so the delete just goes: nothing of it is on the server.
    expect(await engine.entities(collection)).to.deep.equal([]);
    expect(await writes(collection)).to.deep.equal([]);
    // A copy of the create still on its way (a slow proxy) lands after all that: the kept 412 is replayed.
    const late = await fetch(`${API}/${collection}/t1`, {
      method: 'PUT',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json',
        'Idempotency-Key': `"${collection}/t1@${engine.deviceId}.1"`,
      },
      body: JSON.stringify({ title: 'created' }),
    });
    expect([late.status, late.headers.get('Idempotent-Replayed')]).to.deep.equal([412, 'true']);
    expect(await writes(collection)).to.deep.equal([]);
  });

  it("deletes a create that never reached the server without a DELETE: another device's entity of that id stays", async () => {
    const engine = await createFailing({ offline: true });
    // Another device makes t1; this one deletes its own create, which the fence then shows made nothing.
    expect((await serverPut(collection, 't1', { title: 'theirs' })).status).to.equal(201);
    expect(await engine.entityDelete(collection, 't1')).to.equal(true);
    await advancingUntil(async () => engine.status.entities.dirty === 0, 'the delete settled');
    expect((await serverItems(collection)).at(-1)).to.deep.include({
      version: 1,
      deleted: false,
      data: { title: 'theirs' },
    });
    // The fence's 412 named the server's copy: the replica shows it, as a pull would.
    expect(await stored('t1')).to.deep.include({ version: 1, dirty: false, data: { title: 'theirs' } });
  });

  it("meets another device's entity as a conflict when a create that never reached the server is edited", async () => {
    const engine = await createFailing({ offline: true });
    expect((await serverPut(collection, 't1', { title: 'theirs' })).status).to.equal(201);
    await engine.entityPatch(collection, 't1', { title: 'mine' });
    await advancingUntil(async () => (await engine.conflicts(collection)).length > 0, 'a conflict');
    const [conflict] = await engine.conflicts(collection);
    expect(conflict).to.deep.include({
      base: null,
      mine: { title: 'mine' },
      theirs: { title: 'theirs' },
      theirsVersion: 1,
      fields: ['title'],
      detectedBy: '412',
    });
    expect((await serverItems(collection)).at(-1)).to.deep.include({ version: 1, data: { title: 'theirs' } });
  });

  it("never makes a create the user gave up for the server's copy: a later edit goes on the newest copy, no one's write lost", async () => {
    const engine = await start('manual');
    await addFault({ pathPrefix: `/api/${collection}/t1`, methods: ['PUT'], offline: true });
    await engine.entityPut(collection, 't1', { title: 'A' });
    await eventually(async () => !!(await engine.dirtyEntities())[0]?.lastError, 5_000, 'the create failed');
    await clearFaults(`/api/${collection}/t1`);
    // Another device makes t1 meanwhile; this one keeps the server's copy.
    await serverPut(collection, 't1', { title: 'B' });
    await engine.background!.pull(collection);
    const [conflict] = await engine.conflicts(collection);
    await engine.resolve(conflict!.id, { choose: 'theirs' });
    // Another write, then an edit here.
    await serverPut(collection, 't1', { title: 'C' }, '"1"');
    await engine.entityPatch(collection, 't1', { done: true });
    await advancingUntil(async () => (await engine.conflicts(collection)).length > 0, 'the edit met the newer copy');
    // The edit met C, and waits for the user (manual); A was never written.
    expect((await writes(collection)).map(([, v]) => v)).to.deep.equal([1, 2]);
    expect((await serverItems(collection)).filter((i) => i.id === 't1').at(-1)).to.deep.include({
      version: 2,
      data: { title: 'C' },
    });
  });

  /**
   * A fetch that holds the collection's feed requests and PUTs, each kind until its gate opens: which of a pull and a
   * push goes first. `waiting` counts the requests held now, by kind.
   */
  function gatedFeedAndPuts() {
    const gate = () => {
      let resolve = () => {};
      return { promise: new Promise<void>((r) => (resolve = r)), resolve: () => resolve() };
    };
    const gates = { feed: gate(), put: gate() };
    const waiting = { feed: 0, put: 0 };
    const gated: typeof fetch = async (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const kind = init?.method === 'PUT' ? 'put' : url.includes('?since=') ? 'feed' : null;
      if (kind) {
        waiting[kind]++;
        await gates[kind].promise;
        waiting[kind]--;
      }
      return fetch(input, init);
    };
    return { fetch: gated, waiting, open: (kind: 'feed' | 'put') => gates[kind].resolve() };
  }

  for (const first of ['pull', 'push'] as const) {
    it(`after a restart, takes the server's copy that is exactly what its lost push carried for its own (met by a ${first} first): no conflict`, async () => {
      // t1 at version 1 ("base"); the push of "first" is applied as version 2, its answer held from the engine.
      const { held } = await pushWithAnswerHeld('manual', 'first');
      await f.engine.entityPatch(collection, 't1', { title: 'second' });
      // The engine stops before the answer comes (a worker killed): only what is stored knows "first" went out.
      const config = f.engine.config;
      f.engine.close();
      held.release();
      const gated = gatedFeedAndPuts();
      f.engine = await SyncEngine.open({
        config,
        db: await openSynclineDB(f.namespace),
        clock: f.clock,
        random: () => 0.5,
        fetch: gated.fetch,
      });
      // "second" leaves on version 1 (what the row knew), and the pull started at open is held too.
      await eventually(() => gated.waiting.put === 1 && gated.waiting.feed === 1, 5_000, 'push and pull held');
      const settled = (version: number) => async () =>
        (await stored('t1'))?.version === version || (await f.engine.conflicts(collection)).length > 0;
      if (first === 'pull') {
        // The pull finds version 2: the row goes on it, and the 412 to the push sent on version 1 tells nothing new.
        gated.open('feed');
        await eventually(settled(2), 5_000, 'the pull settled');
        gated.open('put');
      } else {
        // The 412 names version 2: the row goes on it, and the pull after it finds nothing new.
        gated.open('put');
        await eventually(settled(3), 5_000, 'the 412 settled');
        gated.open('feed');
      }
      await eventually(
        async () => (await stored('t1'))?.dirty === false || (await f.engine.conflicts(collection)).length > 0,
        10_000,
        'the newer edit pushed, or a conflict',
      );
      expect(await f.engine.conflicts(collection)).to.deep.equal([]);
      await f.engine.background!.pull(collection);
      expect(await stored('t1')).to.deep.include({
        version: 3,
        dirty: false,
        conflictId: null,
        data: { title: 'second' },
      });
      // The push refused by the 412 goes again under a new key: the server replays the 412 to the first one.
      expect(await writes(collection)).to.deep.equal([
        ['t1', 1, `${collection}/t1@1`],
        ['t1', 2, `${collection}/t1@2`],
        ['t1', 3, `${collection}/t1@4`],
      ]);
    });
  }

  it('keeps a 412 whose server copy is bigger than 64 KB a conflict: a delete against stale data is not done', async () => {
    const engine = await start('merge');
    await engine.entityPut(collection, 't1', { title: 'base' });
    await clean('t1');
    const big = 'x'.repeat(100_000);
    await serverPut(collection, 't1', { title: 'theirs', big }, '"1"');
    await engine.entityDelete(collection, 't1');
    await eventually(async () => (await engine.conflicts(collection)).length === 1, 10_000, 'conflict');
    const [conflict] = await engine.conflicts(collection);
    expect(conflict).to.deep.include({ mine: null, theirsVersion: 2, detectedBy: '412' });
    expect((conflict!.theirs as { big: string }).big.length).to.equal(big.length);
    expect((await serverItems(collection)).at(-1)).to.deep.include({ version: 2, deleted: false });
  });

  it("reads a version from the ETag when the body has none, and never takes an answer without one for 'no version'", async () => {
    let rewrite: ((response: Response) => Promise<Response>) | null = null;
    let feedDown = false;
    const json = (body: unknown, status: number, headers: Record<string, string> = {}) =>
      new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
    const engine = await start(
      'merge',
      {},
      {
        fetch: async (input, init) => {
          if (feedDown && String(input).includes('?since=')) return json({ error: 'down' }, 400);
          const response = await fetch(input, init);
          return rewrite && init?.method === 'PUT' ? rewrite(response) : response;
        },
      },
    );
    // A 201 with neither "version" nor ETag: the row stays unpushed until the feed tells the version.
    rewrite = async (response) => {
      const { version: _v, ...body } = (await response.json()) as Record<string, unknown>;
      return json(body, response.status);
    };
    await engine.entityPut(collection, 't1', { title: 'base', done: false });
    await clean('t1');
    expect((await stored('t1'))!.version).to.equal(1);
    // A 412 whose "current" has no version, but whose ETag has: theirs is version 2, merged and pushed on it (the
    // feed is down, so the ETag alone tells it).
    feedDown = true;
    rewrite = async (response) => {
      if (response.status !== 412) return response;
      const body = (await response.json()) as { current: Record<string, unknown> };
      delete body.current['version'];
      return json(body, 412, { ETag: response.headers.get('ETag')! });
    };
    await serverPut(collection, 't1', { title: 'base', done: true }, '"1"');
    await engine.entityPatch(collection, 't1', { title: 'mine' });
    await eventually(async () => (await stored('t1'))?.version === 3, 10_000, 'merged and pushed');
    expect((await serverItems(collection)).at(-1)).to.deep.include({ version: 3, data: { title: 'mine', done: true } });
    expect(await engine.conflicts(collection)).to.deep.equal([]);
  });

  it("under server-wins, takes a pull of this device's own push still out for its own: no rollback, the newer edit pushed", async () => {
    const { engine, held } = await pushWithAnswerHeld('server-wins', 'b');
    const rollbacks: unknown[] = [];
    const sub = engine.rollbacks$.subscribe((r) => rollbacks.push(r));
    await engine.entityPatch(collection, 't1', { title: 'c' });
    await engine.background!.pull(collection);
    expect(await stored('t1')).to.deep.include({ version: 2, dirty: true, data: { title: 'c' } });
    held.release();
    await eventually(async () => (await stored('t1'))?.version === 3, 10_000, 'c pushed');
    sub.unsubscribe();
    expect(await stored('t1')).to.deep.include({ dirty: false, data: { title: 'c' } });
    expect((await serverItems(collection))[0]).to.deep.include({ version: 3, data: { title: 'c' } });
    expect(rollbacks).to.deep.equal([]);
  });

  it("shows the server's newer copy, not a conflict, when a late answer shows the pulled change came after this device's edit", async () => {
    const { engine, held } = await pushWithAnswerHeld('manual', 'A');
    // Another client builds on version 2 (this device's A, its answer still held); a pull sees version 3 under A.
    await serverPut(collection, 't1', { title: 'B' }, '"2"');
    await engine.background!.pull(collection);
    expect((await engine.conflicts(collection)).length).to.equal(1);
    held.release();
    await eventually(async () => (await engine.conflicts(collection)).length === 0, 10_000, 'conflict dropped');
    expect(await stored('t1')).to.deep.include({ version: 3, dirty: false, conflictId: null, data: { title: 'B' } });
    expect(engine.status.entities).to.deep.equal({ dirty: 0, conflicts: 0, failed: 0 });
  });

  it('pushes a new edit queued behind more than 64 refused ones', async () => {
    const engine = await start();
    await addFault({ pathPrefix: `/api/${collection}/`, methods: ['PUT'], status: 400 });
    for (let i = 0; i < 65; i++) await engine.entityPut(collection, `f${String(i).padStart(2, '0')}`, { title: 'no' });
    await eventually(
      async () => (await engine.dirtyEntities()).filter((d) => d.failed).length === 65,
      20_000,
      'all refused',
    );
    await clearFaults(`/api/${collection}/`);
    await engine.entityPut(collection, 'later', { title: 'goes' });
    await clean('later');
    expect((await serverItems(collection)).map((i) => i.id)).to.deep.equal(['later']);
  });

  it("holds a queued operation on an entity for that entity's Retry-After instead of pushing it every second", async () => {
    const engine = await start();
    const path = `/api/${collection}/t1`;
    await addFault({ pathPrefix: path, methods: ['PUT'], status: 503, retryAfter: 120 });
    await engine.entityPut(collection, 't1', { title: 'edited first' });
    await eventually(async () => !!(await engine.dirtyEntities())[0]?.lastError, 5_000, 'first push refused');
    const [op] = await engine.enqueue([
      {
        kind: 'task.delete',
        label: 'Delete',
        entity: { type: collection, id: 't1' },
        request: { method: 'DELETE', url: `${API}/${collection}/t1` },
      },
    ]);
    await eventually(() => !engine.status.syncing, 5_000, 'lanes idle');
    for (let s = 0; s < 5; s++) {
      f.clock.advance(1_000);
      await eventually(() => !engine.status.syncing, 5_000, 'lanes idle');
    }
    expect(await requestCount(path)).to.equal(1);
    await clearFaults(path);
    f.clock.advance(120_000);
    await eventually(
      async () => (await engine.count()) === 0 && engine.status.entities.dirty === 0,
      10_000,
      'both sent',
    );
    expect(await writes(collection)).to.deep.equal([
      ['t1', 1, `${collection}/t1@1`],
      ['t1', 2, op!.id],
    ]);
  });

  /** A fetch whose answers to the collection's feed come from `feed` while it is set (the real server otherwise). */
  function fakeFeed() {
    const asked: string[] = [];
    const control = {
      asked,
      feed: null as ((since: string) => { status?: number; body: unknown }) | null,
      fetch: (async (input, init) => {
        const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
        const since = url.searchParams.get('since');
        if (!control.feed || since === null || (init?.method ?? 'GET') !== 'GET') return fetch(input, init);
        asked.push(since);
        const { status = 200, body } = control.feed(since);
        return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
      }) as typeof fetch,
    };
    return control;
  }

  it('stops a pull whose feed says hasMore without moving its cursor', async () => {
    const fake = fakeFeed();
    const engine = await start('merge', {}, { fetch: fake.fetch });
    await engine.background!.pull(collection);
    fake.feed = () => ({ body: { items: [], cursor: '7', hasMore: true } });
    await engine.background!.pull(collection);
    expect(fake.asked.length).to.be.at.most(2);
  });

  it('after a 410, starts a full pull cut short over from the start, and drops what the server no longer has', async () => {
    const fake = fakeFeed();
    const engine = await start('merge', {}, { fetch: fake.fetch });
    const item = (id: string) => ({ id, version: 1, data: { title: id }, deleted: false });
    fake.feed = () => ({ body: { items: [item('a'), item('b')], cursor: '2', hasMore: false } });
    await engine.background!.pull(collection);
    expect((await engine.entities(collection)).map((e) => e.id)).to.deep.equal(['a', 'b']);
    // b's tombstone is purged: the cursor expires; the full pull's second page fails.
    fake.feed = (since) =>
      since === '2'
        ? { status: 410, body: { error: 'cursor-expired' } }
        : since === ''
          ? { body: { items: [item('a')], cursor: '3', hasMore: true } }
          : { status: 400, body: { error: 'bad-cursor' } };
    await engine.background!.pull(collection);
    f.clock.advance(1);
    // Asked again: from the start (not from the cut-short page), so b, which the feed no longer has, goes.
    fake.feed = (since) =>
      since === ''
        ? { body: { items: [item('a')], cursor: '4', hasMore: false } }
        : { body: { items: [], cursor: '4', hasMore: false } };
    await engine.background!.pull(collection);
    expect((await engine.entities(collection)).map((e) => e.id)).to.deep.equal(['a']);
  });

  it("pulls a collection registered again on another URL from the start of that URL's feed, dropping the old feed's entities", async () => {
    const engine = await start();
    const name = uniqueName('moved');
    const [a, b] = [uniqueName('ga'), uniqueName('gb')];
    // x was written to b before anything of a: a cursor of a's feed is past it.
    expect((await serverPut(b, 'x', { title: 'in b' })).status).to.equal(201);
    expect((await serverPut(a, 'y', { title: 'in a' })).status).to.equal(201);
    await engine.registerCollection({ name, url: `${API}/${a}`, pullIntervalMs: 0 });
    await engine.background!.pull(name);
    expect((await engine.entities(name)).map((e) => e.id)).to.deep.equal(['y']);
    // An edit a's server does not take for now.
    await addFault({ pathPrefix: `/api/${a}`, methods: ['PUT'], status: 503 });
    await engine.entityPut(name, 'z', { title: 'mine' });
    await eventually(async () => !!(await engine.dirtyEntities())[0]?.lastError, 5_000, 'the push failed');
    // A later release moves the collection to b (the virtual clock moves on, as time would).
    f.clock.advance(1_000);
    await engine.registerCollection({ name, url: `${API}/${b}`, pullIntervalMs: 0 });
    await clearFaults(`/api/${a}`);
    await engine.background!.pull(name);
    await advancingUntil(async () => engine.status.entities.dirty === 0, 'z pushed');
    const shown = (await engine.entities(name)).map((e) => [e.id, e.data]);
    expect(shown).to.deep.equal([
      ['x', { title: 'in b' }],
      ['z', { title: 'mine' }],
    ]);
    expect((await serverItems(b)).map((i) => i.id)).to.deep.equal(['x', 'z']);
    expect((await serverItems(a)).map((i) => i.id)).to.deep.equal(['y']);
  });

  it('pushes to the new URL an edit whose push to the old one was out when the collection moved', async () => {
    const held = holdPutAnswers('/x');
    const engine = await start('merge', {}, { fetch: held.fetch });
    const name = uniqueName('moved');
    const [a, b] = [uniqueName('ga'), uniqueName('gb')];
    await engine.registerCollection({ name, url: `${API}/${a}`, pullIntervalMs: 0 });
    held.hold();
    await engine.entityPut(name, 'x', { title: 'mine' });
    await eventually(() => held.answered.length === 1, 5_000, "a's server took it, its answer held");
    // Moved to b meanwhile; then a's answer comes back: it says nothing of b, where the edit has yet to go.
    await engine.registerCollection({ name, url: `${API}/${b}`, pullIntervalMs: 0 });
    held.release();
    await engine.background!.pull(name);
    await advancingUntil(async () => engine.status.entities.dirty === 0, 'x pushed to b');
    expect((await serverItems(b)).map((i) => [i.id, i.data])).to.deep.equal([['x', { title: 'mine' }]]);
  });

  it('a collection moved to another URL takes the new feed copy of an id it already had at a higher version', async () => {
    const engine = await start();
    const name = uniqueName('mv');
    const [a, b] = [uniqueName('ga'), uniqueName('gb')];
    expect((await serverPut(a, 'x', { title: 'a1' })).status).to.equal(201);
    expect((await serverPut(a, 'x', { title: 'a2' }, '"1"')).status).to.equal(200); // x@2 in a
    expect((await serverPut(b, 'x', { title: 'b1' })).status).to.equal(201); // x@1 in b
    await engine.registerCollection({ name, url: `${API}/${a}`, pullIntervalMs: 0 });
    await engine.background!.pull(name);
    expect((await engine.entities(name)).map((e) => e.data)).to.deep.equal([{ title: 'a2' }]);
    f.clock.advance(1_000);
    await engine.registerCollection({ name, url: `${API}/${b}`, pullIntervalMs: 0 });
    await engine.background!.pull(name);
    expect((await engine.entities(name)).map((e) => [e.id, e.data, e.version])).to.deep.equal([
      ['x', { title: 'b1' }, 1],
    ]);
  });

  /**
   * x in a (version 1) and another device's x in b; collection `name` (manual) on a, x patched to "mine" while a
   * refuses pushes, then the collection moved to b.
   */
  async function moveWithUnpushedEdit(engine: SyncEngine, name: string, a: string, b: string): Promise<void> {
    expect((await serverPut(a, 'x', { title: 'a1' })).status).to.equal(201); // x@1 in a
    expect((await serverPut(b, 'x', { title: 'someone else' })).status).to.equal(201); // x@1 in b
    await engine.registerCollection({ name, url: `${API}/${a}`, conflict: 'manual', pullIntervalMs: 0 });
    await engine.background!.pull(name);
    await addFault({ pathPrefix: `/api/${a}`, methods: ['PUT'], status: 503 });
    try {
      await engine.entityPatch(name, 'x', { title: 'mine' });
      await eventually(async () => !!(await engine.dirtyEntities())[0]?.lastError, 5_000, 'the push failed');
      f.clock.advance(1_000);
      await engine.registerCollection({ name, url: `${API}/${b}`, conflict: 'manual', pullIntervalMs: 0 });
    } finally {
      await clearFaults(`/api/${a}`);
    }
  }

  it('an unpushed edit carried over a move meets the new URL entity of that id as a conflict (manual)', async () => {
    const engine = await start();
    const name = uniqueName('mv');
    const [a, b] = [uniqueName('ga'), uniqueName('gb')];
    await moveWithUnpushedEdit(engine, name, a, b);
    await engine.background!.pull(name);
    await eventually(
      async () => {
        f.clock.advance(1_000);
        await new Promise((r) => setTimeout(r, 200));
        return engine.status.entities.dirty === 0 || (await engine.conflicts(name)).length > 0;
      },
      10_000,
      'settled',
    );
    const onB = (await serverItems(b)).filter((i) => i.id === 'x').map((i) => i.data);
    expect({ onB, conflicts: (await engine.conflicts(name)).length }).to.deep.equal({
      onB: [{ title: 'someone else' }],
      conflicts: 1,
    });
  });

  it("holds a queued operation on an entity behind that entity's earlier edit by queue position, also after the clock went back between them", async () => {
    const engine = await start('merge');
    await engine.entityPut(collection, 't1', { title: 'base' });
    await clean('t1');
    engine.setNetwork(false);
    // The user's edit, then (after the clock was corrected back by a day: NTP, the user) a delete through the queue.
    await engine.entityPatch(collection, 't1', { title: 'edited first' });
    f.clock.advance(-86_400_000);
    const [op] = await engine.enqueue([
      {
        kind: 'task.delete',
        label: 'Delete',
        entity: { type: collection, id: 't1' },
        request: { method: 'DELETE', url: `${API}/${collection}/t1` },
      },
    ]);
    // The edit's push is slow at the server (so a delete that does not wait for it lands first, every time).
    await addFault({ pathPrefix: `/api/${collection}/t1`, methods: ['PUT'], latencyMs: 800, times: 1 });
    engine.setNetwork(true);
    await eventually(
      async () =>
        (await engine.count()) === 0 && (engine.status.entities.dirty === 0 || engine.status.entities.conflicts > 0),
      10_000,
      'the delete and the edit sent',
    ).catch(async (error: Error) => {
      const state = { ops: await engine.list(), status: engine.status, writes: await writes(collection) };
      throw new Error(`${error.message}: ${JSON.stringify(state)}`);
    });
    // The slow PUT has had its time (if the delete did not wait for it, it is answered by now too).
    await new Promise((r) => setTimeout(r, 1_200));
    // The edit was made first: it reaches the server first, then the delete (as without the clock change).
    expect((await writes(collection)).map(([, , key]) => (key === op!.id ? 'queued delete' : key))).to.deep.equal([
      `${collection}/t1@1`,
      `${collection}/t1@2`,
      'queued delete',
    ]);
    expect(engine.status.entities.conflicts).to.equal(0);
  });

  it('refuses put() of a Date or a boxed primitive (not an object once in JSON) with invalid-operation, storing nothing', async () => {
    const engine = await start('merge');
    engine.setNetwork(false);
    // Each survives postMessage (structured clone keeps Date, String and Number objects), so an app can send them.
    for (const data of [new Date(0), new String('text'), new Number(42)]) {
      const error = await engine.entityPut(collection, 't1', data).then(
        (record) => record,
        (e: unknown) => e,
      );
      expect(error, `put(${Object.prototype.toString.call(data)})`).to.be.instanceOf(SynclineError);
      expect((error as SynclineError).code).to.equal(SynclineErrorCode.InvalidOperation);
    }
    // Nothing stored, nothing counted.
    expect(await engine.entities(collection)).to.deep.equal([]);
    expect(engine.status.entities.dirty).to.equal(0);
  });

  it('does not complete a pull past a feed page whose versions are strings (a bigint column): the page is read, or an error kept its cursor', async () => {
    // A server that sends `version` as a string ("1"): common for a bigint column serialised by a database driver.
    const stringVersions: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if ((init?.method ?? 'GET') !== 'GET' || !url.includes('?since=') || !response.ok) return response;
      const page = (await response.json()) as { items: { version: unknown }[] };
      page.items = page.items.map((item) => ({ ...item, version: String(item.version) }));
      return new Response(JSON.stringify(page), { status: 200, headers: { 'Content-Type': 'application/json' } });
    };
    f = await engineFixture({}, { fetch: stringVersions });
    collection = uniqueName('rv');
    expect((await serverPut(collection, 't1', { title: 'on the server' })).status).to.equal(201);
    await f.engine.registerCollection({ name: collection, url: `${API}/${collection}`, pullIntervalMs: 0 });
    await eventually(
      () => f.engine.collectionStatus(collection).lastPullAt !== null || f.engine.status.engineError !== null,
      10_000,
      'the first pull over',
    );
    const items = await f.engine.entities(collection);
    // Either the entity is read, or the page is an error (pulled again later, cursor kept): never a pull that
    // completes, stores its cursor past the entity and shows nothing, with no error anywhere.
    const silentlyLost = f.engine.collectionStatus(collection).lastPullAt !== null && items.length === 0;
    expect(
      { silentlyLost, engineError: f.engine.status.engineError !== null },
      'a completed pull that skipped what it was given',
    ).to.deep.equal({ silentlyLost: false, engineError: items.length === 0 });
  });

  it('fails a feed page listing an item it cannot read (no id), storing nothing of it and keeping its cursor', async () => {
    const junk: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if ((init?.method ?? 'GET') !== 'GET' || !url.includes('?since=') || !response.ok) return response;
      const page = (await response.json()) as { items: unknown[] };
      page.items = [...page.items, { version: 7, data: { title: 'no id' } }];
      return new Response(JSON.stringify(page), { status: 200, headers: { 'Content-Type': 'application/json' } });
    };
    f = await engineFixture({}, { fetch: junk });
    collection = uniqueName('junk');
    expect((await serverPut(collection, 't1', { title: 'on the server' })).status).to.equal(201);
    await f.engine.registerCollection({ name: collection, url: `${API}/${collection}`, pullIntervalMs: 0 });
    await eventually(() => f.engine.status.engineError !== null, 10_000, 'the pull failed');
    expect(f.engine.status.engineError!.message).to.include('item 1 of the page');
    expect(f.engine.collectionStatus(collection).lastPullAt).to.equal(null);
    expect(await f.engine.entities(collection)).to.deep.equal([]);
  });

  it('leaves status.lastSyncAt null after a clear (logout) whose wait a push answered during', async () => {
    const held = holdPutAnswers('/t1');
    const engine = await start('merge', {}, { fetch: held.fetch });
    await eventually(() => engine.collectionStatus(collection).lastPullAt !== null, 10_000, 'first pull');
    held.hold();
    await engine.entityPut(collection, 't1', { title: 'the last user' });
    await eventually(() => held.answered.length === 1, 5_000, 'push applied, its answer held');
    const clearing = engine.clear({ discardUnsent: true });
    await eventually(() => engine.status.lastSyncAt === null, 5_000, 'the queue part of the clear done');
    held.release();
    await clearing;
    expect(await engine.entities(collection)).to.deep.equal([]);
    // The queue's own answers landing after a clear do not write lastSyncAt back; Background Sync's should not either:
    // the next user's <sync-status> would say "synced a moment ago" about the previous user's data.
    expect(engine.status.lastSyncAt).to.equal(null);
  });

  it('keeps an entity pushed during a full pull that did not list it, also when the clock went back meanwhile', async () => {
    let hold = true;
    let arrived!: () => void;
    const feedRead = new Promise<void>((resolve) => (arrived = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // The first page is read from the server, then held: what it lists is from before the push below.
    const holding: typeof fetch = async (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (!hold || !url.includes('?since=')) return fetch(input, init);
      hold = false;
      const response = await fetch(input, init);
      arrived();
      await gate;
      return response;
    };
    f = await engineFixture({}, { fetch: holding });
    collection = uniqueName('fp');
    await f.engine.registerCollection({ name: collection, url: `${API}/${collection}`, pullIntervalMs: 0 });
    await feedRead;
    // The clock is set back a day (NTP, the user) while the pull is out; an entity is made and pushed meanwhile.
    f.clock.advance(-86_400_000);
    await f.engine.entityPut(collection, 'n1', { title: 'made during the pull' });
    await clean('n1');
    release();
    await eventually(() => f.engine.collectionStatus(collection).lastPullAt !== null, 10_000, 'the pull over');
    expect((await f.engine.entities(collection)).map((e) => e.id)).to.deep.equal(['n1']);
  });

  it('keeps holding the pushes of a moved collection across a restart until the new feed has been pulled in full', async () => {
    const name = uniqueName('mv');
    const [a, b] = [uniqueName('ga'), uniqueName('gb')];
    // b's server ignores If-None-Match (the header is dropped): only the pull can tell this device of b's x.
    // Until the restart is over, b's feed does not answer this device.
    let feedDown = true;
    const ignoring: typeof fetch = (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (feedDown && url.includes(`/api/${b}?`)) return Promise.resolve(new Response('', { status: 503 }));
      if (!url.includes(`/api/${b}/`) || !init?.headers) return fetch(input, init);
      const headers = new Headers(init.headers);
      headers.delete('If-None-Match');
      return fetch(input, { ...init, headers });
    };
    f = await engineFixture({}, { fetch: ignoring });
    const engine = f.engine;
    try {
      await moveWithUnpushedEdit(engine, name, a, b);
      const config = engine.config;
      engine.close();
      f.engine = await SyncEngine.open({
        config,
        db: await openSynclineDB(f.namespace),
        clock: f.clock,
        random: () => 0.5,
        fetch: ignoring,
      });
      await f.engine.registerCollection({ name, url: `${API}/${b}`, conflict: 'manual', pullIntervalMs: 0 });
      // Time for a push to go, were it let go: none may reach b before its feed is read.
      for (let i = 0; i < 10; i++) {
        f.clock.advance(1_000);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect((await serverItems(b)).map((i) => i.data)).to.deep.equal([{ title: 'someone else' }]);
    } finally {
      feedDown = false;
    }
    // Nothing else pulls it (no interval): the failed full pull is tried again until one completes.
    await eventually(
      async () => {
        f.clock.advance(1_000);
        await new Promise((r) => setTimeout(r, 100));
        return f.engine.status.entities.dirty === 0 || (await f.engine.conflicts(name)).length > 0;
      },
      10_000,
      'settled',
    );
    const onB = (await serverItems(b)).filter((i) => i.id === 'x').map((i) => i.data);
    expect({ onB, conflicts: (await f.engine.conflicts(name)).length }).to.deep.equal({
      onB: [{ title: 'someone else' }],
      conflicts: 1,
    });
  });

  describe('on a full disk', () => {
    /**
     * Lets the PUTs `ctl` holds go, on a full disk: waits until the server has answered one more request for `id`
     * and the engine has read that answer (whose record the disk refuses).
     */
    async function releasedAndAnswered(ctl: { release(): void }, id: string, what: string): Promise<void> {
      const before = await requestCount(`/api/${collection}/${id}`);
      ctl.release();
      await eventually(async () => (await requestCount(`/api/${collection}/${id}`)) > before, 5_000, what);
      await sleep(300);
      expect(f.engine.status.storage).to.equal('quota-exceeded');
    }

    /** Entities `ids` made and pushed, then the server away (see `offline`): `back()` brings it back. */
    async function pushedThenOffline(ids: string[]) {
      const engine = await start('merge');
      for (const id of ids) await engine.entityPut(collection, id, { title: id });
      for (const id of ids) await clean(id);
      return { engine, back: await offline() };
    }

    it('pushes every stored edit while a full disk refuses to record the answers, and records them once it takes writes', async () => {
      const { engine, back } = await pushedThenOffline(['t1', 't2', 't3']);
      // Oldest first: a create (its mark before it leaves cannot be written either), an edit the server refuses for
      // good, two it takes.
      await engine.entityPut(collection, 'n1', { title: 'new' });
      for (const id of ['t1', 't2', 't3']) await engine.entityPatch(collection, id, { done: true });
      await addFault({ pathPrefix: `/api/${collection}/t1`, methods: ['PUT'], status: 422, times: 1 });
      const disk = failWrites('entities', Infinity, 'QuotaExceededError');
      try {
        await back();
        await eventually(
          async () => (await serverItems(collection)).filter((i) => i.data?.done).length === 2,
          10_000,
          't2 and t3 pushed past the create and the refusal',
        );
        expect(engine.status.storage).to.equal('quota-exceeded');
        expect(engine.status.entities, 'nothing recorded yet').to.include({ dirty: 4, failed: 0 });
      } finally {
        disk.restore();
      }
      // The disk takes writes again: the answers are recorded (the next try a second later), then the create goes.
      f.clock.advance(1_000);
      await clean('t2');
      await clean('t3');
      await clean('n1');
      await eventually(() => engine.status.entities.failed === 1, 5_000, "t1's refusal recorded");
      expect(engine.status.storage).to.equal('ok');
      expect((await stored('t1'))!.lastError?.status).to.equal(422);
      // Each revision applied once: no push was sent again while its answer waited to be recorded.
      expect(await writes(collection)).to.deep.equal([
        ['t1', 1, `${collection}/t1@1`],
        ['t2', 1, `${collection}/t2@1`],
        ['t3', 1, `${collection}/t3@1`],
        ['t2', 2, `${collection}/t2@2`],
        ['t3', 2, `${collection}/t3@2`],
        ['n1', 1, `${collection}/n1@1`],
      ]);
    });

    it("lets a queued operation waiting on an entity go once that entity's edit is on the server, its answer waiting for space", async () => {
      const { engine, back } = await pushedThenOffline(['t1']);
      await engine.entityPatch(collection, 't1', { done: true });
      await engine.enqueue([
        {
          kind: 'note.create',
          label: 'Note on t1',
          entity: { type: collection, id: 't1' },
          request: { method: 'POST', url: `${API}/${collection}-q`, body: { id: 'o1' } },
        },
      ]);
      const disk = failWrites('entities', Infinity, 'QuotaExceededError');
      let opSent = false;
      try {
        await back();
        await eventually(
          async () => (await serverItems(collection)).some((i) => i.id === 't1' && i.data?.done === true),
          10_000,
          "t1's edit on the server",
        );
        // The queue's lane looks again every second (virtual time): give it a good many looks.
        for (let i = 0; i < 30 && !opSent; i++) {
          f.clock.advance(1_000);
          await sleep(100);
          opSent = (await serverItems(`${collection}-q`)).length === 1;
        }
        expect(engine.status.storage).to.equal('quota-exceeded');
      } finally {
        disk.restore();
      }
      const whileFull = opSent;
      // Space again: t1's answer is recorded (the next try of its own, a second on), and the operation goes.
      for (let i = 0; i < 30 && !opSent; i++) {
        f.clock.advance(1_000);
        await sleep(100);
        opSent = (await serverItems(`${collection}-q`)).length === 1;
      }
      expect({ whileFull, afterSpace: opSent }, 'the queued operation sent while the disk stayed full').to.deep.equal({
        whileFull: true,
        afterSpace: true,
      });
    });

    /**
     * x (server-wins) is deleted on the server while this device edits it; the 412's settle (a rollback: x goes) is
     * refused by a full disk and kept in memory. Space again, the user (still seeing "b") puts x anew; `together`: a
     * put of y goes at the same moment (both writes start before either commits).
     */
    async function recreateAfterDeferredRollback(together: boolean) {
      const ctl = controlledFetch();
      const engine = await start('server-wins', {}, { fetch: ctl.fetch });
      const rollbacks: Rollback[] = [];
      engine.rollbacks$.subscribe((r) => rollbacks.push(r));
      await engine.entityPut(collection, 'x', { title: 'a' });
      await clean('x');
      ctl.noPulls();
      expect((await fetch(`${API}/${collection}/x`, { method: 'DELETE' })).ok).to.equal(true);
      ctl.hold();
      await engine.entityPatch(collection, 'x', { title: 'b' });
      const disk = failWrites('entities', Infinity, 'QuotaExceededError');
      try {
        await releasedAndAnswered(ctl, 'x', '412 answered');
        expect(rollbacks, 'not reported before it is stored').to.deep.equal([]);
      } finally {
        disk.restore();
      }
      if (together) {
        await Promise.all([
          engine.entityPut(collection, 'x', { title: 'again' }),
          engine.entityPut(collection, 'y', { title: 'y' }),
        ]);
      } else {
        await engine.entityPut(collection, 'x', { title: 'again' });
        await engine.entityPut(collection, 'y', { title: 'y' });
      }
      await sleep(300);
      expect(await stored('x'), 'the put acknowledged above is kept').to.deep.include({ data: { title: 'again' } });
      expect(rollbacks.map((r) => r.mine)).to.deep.equal([{ title: 'b' }]);
      await eventually(
        async () => (await serverItems(collection)).some((i) => i.id === 'x' && i.data?.title === 'again'),
        10_000,
        'x made again on the server',
      );
    }

    it('keeps a put of x made once a server-wins rollback of x (deleted on the server) kept for space is stored', () =>
      recreateAfterDeferredRollback(false));

    it('keeps a put of x made with another at once: the rollback kept for space is stored by one write only', () =>
      recreateAfterDeferredRollback(true));

    /**
     * t1 "base" (version 1) is patched to "first" while a full disk refuses every record. `first503`: its first push
     * is answered 503 (a retry, unrecorded), and the next one, its backoff over, lands (version 2) with its answer
     * lost (a retry whose edit may be on the server, unrecorded too). Without: only the lost answer. Space again, the
     * user patches the same field to "second": its push on version 1 meets a 412 showing "first", its own write.
     */
    async function ownWriteAfterUnrecordedRetries(first503: boolean) {
      const ctl = controlledFetch();
      const engine = await start('merge', { backoffBaseMs: 100, backoffCapMs: 400 }, { fetch: ctl.fetch });
      await engine.entityPut(collection, 't1', { title: 'base' });
      await clean('t1');
      ctl.noPulls();
      if (first503) await addFault({ pathPrefix: `/api/${collection}/t1`, methods: ['PUT'], status: 503, times: 1 });
      ctl.hold();
      await engine.entityPatch(collection, 't1', { title: 'first' });
      const disk = failWrites('entities', Infinity, 'QuotaExceededError');
      try {
        const before = await requestCount(`/api/${collection}/t1`);
        if (first503) {
          ctl.release();
          await eventually(async () => (await requestCount(`/api/${collection}/t1`)) > before, 5_000, '503 answered');
          await sleep(300);
          // Its backoff over, "first" goes again: the server applies it (version 2), its answer is lost.
          ctl.lose();
          f.clock.advance(3_000);
        } else {
          ctl.lose();
          ctl.release();
        }
        await eventually(
          async () => (await serverItems(collection)).some((i) => i.id === 't1' && i.version === 2),
          5_000,
          '"first" applied as version 2',
        );
        await sleep(300);
        expect(engine.status.storage).to.equal('quota-exceeded');
      } finally {
        disk.restore();
      }
      await engine.entityPatch(collection, 't1', { title: 'second' });
      await eventually(
        async () => (await stored('t1'))?.dirty === false || (await engine.conflicts(collection)).length > 0,
        10_000,
        'pushed, or a conflict',
      );
      expect(
        (await engine.conflicts(collection)).map((c) => ({ mine: c.mine, theirs: c.theirs })),
        'no conflict with its own edit',
      ).to.deep.equal([]);
      expect(await stored('t1')).to.deep.include({ version: 3, data: { title: 'second' } });
    }

    it('takes its own push, landed with its answer lost and not recorded, for its own when a newer edit meets it', () =>
      ownWriteAfterUnrecordedRetries(false));

    it('takes its own push for its own after two unrecorded retries of it (a 503, then a lost answer)', () =>
      ownWriteAfterUnrecordedRetries(true));

    it('settles a create whose answer was lost once on a full disk, not in a loop, and the lane goes on', async () => {
      const ctl = controlledFetch();
      const engine = await start('merge', {}, { fetch: ctl.fetch });
      await engine.entityPut(collection, 'z', { title: 'z' });
      await clean('z');
      ctl.noPulls();
      // The create of x lands (version 1), its answer is lost: x keeps its mark (sentCreate).
      ctl.lose();
      await engine.entityPut(collection, 'x', { title: 'first' });
      await eventually(async () => !!(await engine.dirtyEntities())[0]?.lastError, 5_000, 'the answer lost');
      expect((await serverItems(collection)).length).to.equal(2);
      // Edited again: the create is settled first (its key re-sent behind a fence). z's edit waits behind x in the
      // lane (an edit of what the server has: a create could not go, its mark needs space).
      ctl.hold();
      await engine.entityPatch(collection, 'x', { title: 'second' });
      await engine.entityPatch(collection, 'z', { done: true });
      const disk = failWrites('entities', Infinity, 'QuotaExceededError');
      let sent: number;
      let zOnServer: boolean;
      try {
        const before = await requestCount(`/api/${collection}/x`);
        ctl.release();
        await sleep(1_500);
        sent = (await requestCount(`/api/${collection}/x`)) - before;
        zOnServer = (await serverItems(collection)).some((i) => i.id === 'z' && i.data?.done === true);
      } finally {
        disk.restore();
      }
      expect({ looping: sent > 2, zOnServer }, `${sent} requests for x in 1.5 s while the disk was full`).to.deep.equal(
        {
          looping: false,
          zOnServer: true,
        },
      );
      // Space again: the create's answer is recorded (the next try a second later), then "second" goes.
      f.clock.advance(1_000);
      await clean('x');
      await clean('z');
      // Each revision applied once.
      expect((await writes(collection)).sort()).to.deep.equal([
        ['x', 1, `${collection}/x@1`],
        ['x', 2, `${collection}/x@2`],
        ['z', 1, `${collection}/z@1`],
        ['z', 2, `${collection}/z@2`],
      ]);
    });

    it('logs out on a full disk that takes deletes only: an edit the server took counts as sent, and nothing kept is stored after', async () => {
      const { engine, back } = await pushedThenOffline(['t1']);
      await engine.entityPatch(collection, 't1', { done: true });
      // As Firefox over its quota: put() throws, a delete still goes.
      const disk = firefoxFullDisk('entities');
      try {
        await back();
        await eventually(
          async () => (await serverItems(collection)).some((i) => i.id === 't1' && i.data?.done === true),
          10_000,
          't1 pushed',
        );
        // Once its answer is read (and kept, the disk refusing it): not "1 edit has not reached the server", and not
        // refused for the space the kept record would take.
        await eventually(
          () =>
            engine.clear().then(
              () => true,
              (e: unknown) => ((e as { code?: string }).code === 'unsent-operations' ? false : Promise.reject(e)),
            ),
          5_000,
          'logged out',
        );
      } finally {
        disk.restore();
      }
      expect(await engine.entities(collection)).to.deep.equal([]);
      // The record kept for t1 went with the logout: nothing of it comes back once there is space.
      f.clock.advance(60_000);
      await engine.background!.pull(collection);
      await eventually(async () => (await engine.entities(collection)).length === 1, 5_000, 'pulled afresh');
      expect(await stored('t1')).to.deep.include({ dirty: false, version: 2, data: { title: 't1', done: true } });
      expect(engine.status.entities.dirty).to.equal(0);
    });

    it('ends the wait of a retry kept in memory when the clock is set back, as for a stored backoff', async () => {
      const ctl = controlledFetch();
      const engine = await start('merge', { backoffBaseMs: 100, backoffCapMs: 400 }, { fetch: ctl.fetch });
      for (const id of ['t1', 't2']) await engine.entityPut(collection, id, { title: id });
      for (const id of ['t1', 't2']) await clean(id);
      ctl.noPulls();
      await addFault({ pathPrefix: `/api/${collection}/t1`, methods: ['PUT'], status: 503, times: 1 });
      ctl.hold();
      for (const id of ['t1', 't2']) await engine.entityPatch(collection, id, { done: true });
      const disk = failWrites('entities', Infinity, 'QuotaExceededError');
      let t1Pushed = false;
      try {
        ctl.release();
        // t1's first push is answered 503 (its backoff: 100-400 ms, kept in memory); t2 goes past it.
        await eventually(
          async () => (await serverItems(collection)).some((i) => i.id === 't2' && i.data?.done === true),
          5_000,
          't2 pushed',
        );
        // The clock is set back an hour (NTP, the user), then moves on a few seconds; the lane looks again.
        f.clock.advance(-3_600_000);
        for (let i = 0; i < 10 && !t1Pushed; i++) {
          f.clock.advance(1_000);
          await engine.syncNow();
          await sleep(150);
          t1Pushed = (await serverItems(collection)).some((i) => i.id === 't1' && i.data?.done === true);
        }
        const whileSetBack = t1Pushed;
        // Control: once the clock is back past the hold's end (in the old time), the lane does push t1 (disk still full).
        f.clock.advance(3_600_000);
        for (let i = 0; i < 10 && !t1Pushed; i++) {
          f.clock.advance(1_000);
          await engine.syncNow();
          await sleep(150);
          t1Pushed = (await serverItems(collection)).some((i) => i.id === 't1' && i.data?.done === true);
        }
        // Stored as a row's nextAttemptAt, the same wait would be over at once (waits(): now < updatedAt).
        expect({ whileSetBack, onceTheOldTimePassed: t1Pushed }, "t1's push tried again").to.deep.equal({
          whileSetBack: true,
          onceTheOldTimePassed: true,
        });
      } finally {
        disk.restore();
      }
    });

    it("keeps an answer Firefox's full disk refused (put() throws): nothing re-sent while the disk stays full", async () => {
      const { engine, back } = await pushedThenOffline(['t1', 't2']);
      for (const id of ['t1', 't2']) await engine.entityPatch(collection, id, { done: true });
      const disk = firefoxFullDisk('entities');
      let sent: number;
      try {
        const before = await requestCount(`/api/${collection}/`);
        await back();
        await eventually(
          async () => (await serverItems(collection)).filter((i) => i.data?.done).length === 2,
          10_000,
          't1 and t2 pushed',
        );
        await sleep(1_000);
        sent = (await requestCount(`/api/${collection}/`)) - before;
        expect(engine.status.storage).to.equal('quota-exceeded');
      } finally {
        disk.restore();
      }
      // One PUT each; a replay or two would be a retry, not hundreds.
      expect(sent, 'PUTs of t1 and t2 while the disk was full').to.be.at.most(4);
    });
    const internals = () => f.engine.background as unknown as Internals;

    it('takes an edit of a small entity, and a pull, while the kept record of a big one does not fit', async () => {
      const ctl = controlledFetch();
      const engine = await start('merge', {}, { fetch: ctl.fetch });
      const other = `${collection}-b`;
      await engine.registerCollection({ name: other, url: `${API}/${other}`, pullIntervalMs: 0 });
      await engine.entityPut(collection, 'big', { title: 'big', text: 'x'.repeat(20_000) });
      await engine.entityPut(collection, 't1', { title: 't1' });
      await clean('big');
      await clean('t1');
      ctl.hold();
      await engine.entityPatch(collection, 'big', { done: true });
      // Room for small rows, none for big's row: the server takes big's edit, its record is refused and kept.
      const disk = refusePuts('entities', (row) => (row as { id?: string })?.id === 'big');
      let patched: string;
      let pulled: boolean;
      try {
        ctl.release();
        await eventually(
          async () => (await serverItems(collection)).some((i) => i.id === 'big' && i.data?.done === true),
          10_000,
          "big's edit on the server",
        );
        await sleep(300);
        expect(engine.status.storage, "big's record refused").to.equal('quota-exceeded');
        // t1's row fits (nothing refuses it): the user's edit must be stored and acknowledged.
        patched = await engine.entityPatch(collection, 't1', { done: true }).then(
          () => 'stored',
          (e: { code?: string }) => `refused: ${e.code}`,
        );
        // Another device makes n2 in another collection: a pull brings it. (A page of this collection lists big's
        // new version, which must be stored with the page's cursor: it waits for space.)
        expect((await serverPut(other, 'n2', { title: 'n2' })).ok).to.equal(true);
        await engine.background!.pull(other);
        pulled = (await engine.entities(other)).some((e) => e.id === 'n2');
      } finally {
        disk.restore();
      }
      expect(
        { patched, pulled },
        "t1's edit and n2's pull, each refused for the space big's kept record needs",
      ).to.deep.equal({ patched: 'stored', pulled: true });
    });

    it('pushes again, unprompted, an entity whose kept record was dropped for a passing storage error', async () => {
      const ctl = controlledFetch();
      const engine = await start('merge', {}, { fetch: ctl.fetch });
      await engine.entityPut(collection, 't1', { title: 't1' });
      await clean('t1');
      // The server refuses t1's next edit for good (once); its record is refused by a full disk and kept.
      await addFault({ pathPrefix: `/api/${collection}/t1`, methods: ['PUT'], status: 422, times: 1 });
      ctl.hold();
      await engine.entityPatch(collection, 't1', { done: true });
      const disk = failWrites('entities', Infinity, 'QuotaExceededError');
      try {
        await releasedAndAnswered(ctl, 't1', '422 answered');
      } finally {
        disk.restore();
      }
      // Space again, but the kept write meets a passing I/O error (UnknownError) in the record timer's write: it is
      // dropped, "its push goes again" (docs/architecture.md).
      const io = refusePuts('entities', (row) => (row as { id?: string })?.id === 't1', 'UnknownError', 1);
      try {
        f.clock.advance(1_000);
        await eventually(() => io.left() === 0, 5_000, 'the kept write tried');
        await sleep(300);
      } finally {
        io.restore();
      }
      // The server is there, the disk takes writes: within a few minutes (and a pull) t1 is pushed again, or recorded
      // as refused. Nothing but the engine's own timers runs here (no edit, no syncNow).
      const state = async () => {
        const [dirty] = await engine.dirtyEntities();
        return !dirty ? 'clean' : dirty.failed ? 'failed' : 'dirty';
      };
      for (let i = 0; i < 20 && (await state()) === 'dirty'; i++) {
        f.clock.advance(15_000);
        await sleep(100);
      }
      await engine.background!.pull(collection);
      const withoutPoke = await state();
      const held = internals().unrecorded.size;
      // Control: one poke of the lanes (what any edit or syncNow does) is all it lacked.
      await engine.syncNow();
      await eventually(async () => (await state()) !== 'dirty', 5_000, 't1 after a poke').catch(() => {});
      const afterAPoke = await state();
      // Settled: pushed again (the fault was one 422; the key's push is then taken) or recorded as refused.
      expect(
        { settledWithoutPoke: withoutPoke !== 'dirty', held, settledAfterAPoke: afterAPoke !== 'dirty' },
        `t1's push after its kept record was dropped (5 min, server reachable): ${withoutPoke}, then ${afterAPoke}`,
      ).to.deep.equal({ settledWithoutPoke: true, held: 0, settledAfterAPoke: true });
    });

    /**
     * x (server-wins) is changed on the server while user A edits it: the 412's rollback is refused by a full disk and
     * kept. User A logs out; `during`: the record timer (1 s after the refusal) fires while the logout's transaction is
     * open (a hook picks that moment: it runs the original write, then advances the virtual clock), else after it.
     */
    async function logoutWithKeptRollback(during: boolean) {
      const ctl = controlledFetch();
      const engine = await start('server-wins', {}, { fetch: ctl.fetch });
      const rollbacks: Rollback[] = [];
      engine.rollbacks$.subscribe((r) => rollbacks.push(r));
      await engine.entityPut(collection, 'x', { title: 'a' });
      await clean('x');
      ctl.noPulls();
      // Someone else changes x; this user's edit meets it as a 412: server-wins rolls it back (reported once stored).
      expect((await serverPut(collection, 'x', { title: 'theirs' }, '"1"')).ok).to.equal(true);
      ctl.hold();
      await engine.entityPatch(collection, 'x', { title: 'mine (user A)' });
      // Firefox's full disk: puts throw, deletes go (the logout is the documented case that works on it).
      const disk = firefoxFullDisk('entities');
      try {
        await releasedAndAnswered(ctl, 'x', '412 answered');
        expect(rollbacks, 'not reported before it is stored').to.deep.equal([]);
        // User A logs out. The record timer (1 s after the refusal) fires while the logout's transaction is open: the
        // hook only picks that moment (it runs the original write and advances the virtual clock right after).
        const bg = internals();
        const original = bg.write;
        if (during)
          bg.write = function (this: Internals, body: unknown, carry?: boolean) {
            const written = original.call(this, body, carry);
            if (carry === false) {
              delete (bg as Partial<Internals>).write;
              f.clock.advance(1_000);
            }
            return written;
          };
        await engine.clear({ discardUnsent: true });
        if (!during) f.clock.advance(1_000);
      } finally {
        disk.restore();
      }
      await sleep(500);
      expect(await engine.entities(collection), 'logged out').to.deep.equal([]);
      // The next user's page must not be told of user A's edit ("forgets what was kept for what it removes").
      expect(
        rollbacks.map((r) => ({ entityId: r.entityId, mine: r.mine })),
        "user A's rollback reported after A's logout",
      ).to.deep.equal([]);
    }

    it("reports no rollback of the last user's edit after a logout, the record timer firing during it", () =>
      logoutWithKeptRollback(true));

    it("reports no rollback of the last user's edit after a logout, the record timer firing after it", () =>
      logoutWithKeptRollback(false));

    it('refuses a logout before changing anything when an edit waits behind a create whose record is kept', async () => {
      const ctl = controlledFetch();
      const engine = await start('merge', {}, { fetch: ctl.fetch });
      // A queued operation done: its result is kept for settled().
      const [op] = await engine.enqueue([
        {
          kind: 'note.create',
          label: 'Note',
          request: { method: 'POST', url: `${API}/${collection}-q`, body: { id: 'o1' } },
        },
      ]);
      await eventually(async () => (await engine.result(op!.id)) !== undefined, 10_000, 'operation done');
      await eventually(() => engine.status.lastSyncAt !== null, 5_000, 'a sync');
      const syncedAt = engine.status.lastSyncAt;
      ctl.noPulls();
      // The create of x lands, its answer is lost (x keeps its mark); then x is edited again ("second", unpushed).
      ctl.lose();
      await engine.entityPut(collection, 'x', { title: 'first' });
      await eventually(async () => !!(await engine.dirtyEntities())[0]?.lastError, 5_000, 'the answer lost');
      ctl.hold();
      await engine.entityPatch(collection, 'x', { title: 'second' });
      const disk = failWrites('entities', Infinity, 'QuotaExceededError');
      try {
        // The fenced create is answered (replayed 201): x's create is settled, its record kept; "second" waits.
        await releasedAndAnswered(ctl, 'x', 'create settled');
      } finally {
        disk.restore();
      }
      expect((await serverItems(collection)).map((i) => i.data)).to.deep.equal([{ title: 'first' }]);
      // "second" has not reached the server: the logout is refused, and a refused logout changes nothing.
      const refused = await engine.clear().then(
        () => 'cleared',
        (e: { code?: string }) => e.code,
      );
      expect({
        refused,
        lastSyncAt: engine.status.lastSyncAt,
        resultKept: (await engine.result(op!.id)) !== undefined,
      }).to.deep.equal({ refused: 'unsent-operations', lastSyncAt: syncedAt, resultKept: true });
    });

    /**
     * t1 (manual) holds an edit the server refused for good; someone else changes t1 on the server; a pull finds it
     * while the disk has room for the page's cursor but not for the conflict. `restart`: the engine stops before it
     * stored what it kept, and the next one opens on the same database.
     */
    async function pullConflictKept(restart: boolean) {
      const engine = await start('manual');
      await engine.entityPut(collection, 't1', { title: 'base' });
      await clean('t1');
      // The server refuses this device's edit for good: t1 waits for the user (failed).
      await addFault({ pathPrefix: `/api/${collection}/t1`, methods: ['PUT'], status: 422, times: 1 });
      await engine.entityPatch(collection, 't1', { title: 'mine' });
      await eventually(() => engine.status.entities.failed === 1, 10_000, 't1 refused');
      // Someone else changes t1 on the server (version 2).
      expect((await serverPut(collection, 't1', { title: 'theirs' }, '"1"')).ok).to.equal(true);
      // Room for the page's cursor, none for a conflict record (three copies of the entity).
      const disk = refusePuts('conflicts', () => true);
      try {
        await engine.background!.pull(collection);
        await sleep(300);
        expect(engine.status.storage, 'the conflict refused').to.equal('quota-exceeded');
      } finally {
        disk.restore();
      }
      // The worker stops (every tab closed) before it wrote what it kept; the next engine opens on the same database.
      if (restart) {
        const config = f.engine.config;
        f.engine.close();
        f.engine = await SyncEngine.open({ config, db: await openSynclineDB(f.namespace), clock: f.clock });
      }
      await f.engine.background!.pull(collection);
      // "Lost with the engine, such an outcome is learned again": the conflict with version 2, or, once the user
      // reverts the refused edit, the server's copy (version 2).
      const conflicts = (await f.engine.conflicts(collection)).map((c) => c.theirsVersion);
      await f.engine.entityRevert(collection, 't1');
      await f.engine.background!.pull(collection);
      const after = await stored('t1');
      expect(
        { conflicts, afterRevert: { version: after?.version, data: after?.data } },
        "the server's version 2 of t1, passed by the cursor",
      ).to.deep.include({ afterRevert: { version: 2, data: { title: 'theirs' } } });
    }

    it("keeps the server's change a pull found on a refused edit when its conflict did not fit, across a restart", () =>
      pullConflictKept(true));

    it("keeps the server's change a pull found on a refused edit when its conflict did not fit, the engine staying", () =>
      pullConflictKept(false));

    it('forgets the wait of a create whose mark a full disk refused once that entity is deleted', async () => {
      const engine = await start('merge');
      // Five creates made while the server is away.
      await addFault({ pathPrefix: `/api/${collection}`, offline: true });
      await addFault({ pathPrefix: `/api/health/${f.collection}`, offline: true });
      await engine.syncNow();
      await eventually(() => engine.status.connectivity === 'offline', 5_000, 'offline');
      const ids = ['n0', 'n1', 'n2', 'n3', 'n4'];
      for (const id of ids) await engine.entityPut(collection, id, { title: id });
      const disk = firefoxFullDisk('entities');
      try {
        await clearFaults(`/api/${collection}`);
        await clearFaults(`/api/health/${f.collection}`);
        await engine.syncNow();
        // Each create's mark (before it leaves) is refused: each waits a second, kept in memory.
        await eventually(() => internals().unrecorded.size === ids.length, 5_000, 'five marks refused');
        // The user deletes them (never sent: they just go; deletes fit on this disk).
        for (const id of ids) expect(await engine.entityDelete(collection, id)).to.equal(true);
      } finally {
        disk.restore();
      }
      // Space again, time passes, the lanes run, even a logout: nothing of those five is left to hold or store.
      for (let i = 0; i < 10; i++) {
        f.clock.advance(60_000);
        await engine.syncNow();
        await sleep(50);
      }
      await engine.clear();
      expect(await writes(collection), 'nothing of them sent').to.deep.equal([]);
      expect(internals().unrecorded.size, 'entries kept for entities that no longer exist').to.equal(0);
    });
  });

  it('refuses non-object resolutions, oversized edits, the ids "." and "..", and a pull interval no timer holds', async () => {
    const engine = await start('manual', { maxPayloadBytes: 1024 });
    await engine.entityPut(collection, 'ok', { title: 'kept' });
    await clean('ok');
    await serverPut(collection, 'ok', { title: 'theirs' }, '"1"');
    await engine.entityPatch(collection, 'ok', { title: 'mine' });
    await eventually(async () => (await engine.conflicts(collection)).length === 1, 10_000, 'conflict');
    const [conflict] = await engine.conflicts(collection);
    const before = [await engine.entities(collection), await engine.conflicts(collection)];
    const url = `${API}/${collection}`;
    for (const [call, code] of [
      [() => engine.resolve(conflict!.id, { data: 5 } as never), 'invalid-operation'],
      [() => engine.resolve(conflict!.id, { data: 'x' } as never), 'invalid-operation'],
      [() => engine.resolve(conflict!.id, { data: [1] } as never), 'invalid-operation'],
      [() => engine.resolve(conflict!.id, { data: { text: 'x'.repeat(2_000) } }), 'payload-too-large'],
      [() => engine.entityPut(collection, 'big', { text: 'x'.repeat(2_000) }), 'payload-too-large'],
      // 600 two-byte characters: within the limit as UTF-16 code units, over it as bytes.
      [() => engine.entityPatch(collection, 'ok', { text: 'é'.repeat(600) }), 'payload-too-large'],
      [() => engine.entityPut(collection, '.', { title: 'x' }), 'invalid-operation'],
      [() => engine.entityPut(collection, '..', { title: 'x' }), 'invalid-operation'],
      [() => engine.registerCollection({ name: collection, url, pullIntervalMs: Infinity }), 'invalid-operation'],
      [() => engine.registerCollection({ name: collection, url, pullIntervalMs: 2 ** 31 }), 'invalid-operation'],
    ] as const) {
      const error = await (call as () => Promise<unknown>)().catch((e: unknown) => e);
      expect((error as { code?: string })?.code, String(call)).to.equal(code);
    }
    expect([await engine.entities(collection), await engine.conflicts(collection)]).to.deep.equal(before);
  });

  it("keeps a server change a pull met on a dirty row whose push's answer came back before the pull settled it", async () => {
    // The answer of x's push is held until the feed page is read, then let through while the page's other dirty rows
    // are settled one by one: x is clean by the time its turn comes.
    let putGate: Promise<void> | null = null;
    let openPut = () => {};
    let held = 0;
    let releaseOnFeed = false;
    const engine = await start(
      'merge',
      {},
      {
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
          if (putGate && init?.method === 'PUT' && url.endsWith('/x')) {
            held++;
            await putGate;
          }
          if (releaseOnFeed && url.includes('?since=')) {
            releaseOnFeed = false;
            setTimeout(() => openPut(), 0);
          }
          return response;
        },
      },
    );
    const others = Array.from({ length: 8 }, (_, i) => `a${i}`);
    for (const id of ['x', ...others]) await engine.entityPut(collection, id, { title: 'base' });
    for (const id of ['x', ...others]) await clean(id);
    await engine.background!.pull(collection);
    putGate = new Promise<void>((r) => (openPut = r));
    await engine.entityPatch(collection, 'x', { title: 'mine' });
    await eventually(() => held === 1, 5_000, "x's version 2 applied, its answer held");
    for (const id of others) await engine.entityPatch(collection, id, { note: 'mine' });
    for (const id of others) await serverPut(collection, id, { title: 'theirs' }, '"1"');
    // Someone else's change on top of x's version 2.
    await serverPut(collection, 'x', { title: 'mine', note: 'theirs' }, '"2"');
    releaseOnFeed = true;
    putGate = null;
    await engine.background!.pull(collection);
    await eventually(async () => engine.status.entities.dirty === 0, 10_000, 'all pushed');
    await engine.background!.pull(collection);
    expect(await stored('x')).to.deep.include({ version: 3, data: { title: 'mine', note: 'theirs' } });
  });

  /** t1 pushed as "base" (version 1), then "theirs" written on the server and "mine" here: a manual conflict, by a pull. */
  async function conflictFoundByPull() {
    const engine = await start('manual');
    await engine.entityPut(collection, 't1', { title: 'base' });
    await clean('t1');
    await serverPut(collection, 't1', { title: 'theirs' }, '"1"');
    await addFault({ pathPrefix: `/api/${collection}/t1`, methods: ['PUT'], status: 503 });
    await engine.entityPatch(collection, 't1', { title: 'mine' });
    await eventually(async () => !!(await engine.dirtyEntities())[0]?.lastError, 5_000, 'the push failed');
    await engine.background!.pull(collection);
    await clearFaults(`/api/${collection}/t1`);
    const [conflict] = await engine.conflicts(collection);
    expect(conflict).to.deep.include({ theirs: { title: 'theirs' }, theirsVersion: 2 });
    return { engine, conflict: conflict! };
  }

  it("reverts a conflicted edit to the server's copy the conflict holds, not to the older base", async () => {
    const { engine } = await conflictFoundByPull();
    expect(await engine.entityRevert(collection, 't1')).to.equal(true);
    await engine.background!.pull(collection);
    expect(await stored('t1')).to.deep.include({ version: 2, dirty: false, data: { title: 'theirs' } });
    expect(await engine.conflicts(collection)).to.deep.equal([]);
  });

  it('keeps an open conflict on the newest server copy when a feed page lists the entity twice', async () => {
    let feed: ((since: string) => unknown) | null = null;
    let failPuts = false;
    const fake: typeof fetch = async (input, init) => {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      const method = init?.method ?? 'GET';
      if (failPuts && method === 'PUT')
        return new Response('{"error":"down"}', { status: 503, headers: { 'Content-Type': 'application/json' } });
      const since = url.searchParams.get('since');
      if (feed && since !== null && method === 'GET')
        return new Response(JSON.stringify(feed(since)), { headers: { 'Content-Type': 'application/json' } });
      return fetch(input, init);
    };
    const engine = await start('manual', {}, { fetch: fake });
    await engine.background!.pull(collection);
    const item = (version: number, title: string) => ({ id: 't1', version, data: { title }, deleted: false });
    feed = () => ({ items: [item(1, 'base')], cursor: '1', hasMore: false });
    await engine.background!.pull(collection);
    failPuts = true;
    await engine.entityPatch(collection, 't1', { title: 'mine' });
    await eventually(async () => !!(await engine.dirtyEntities())[0]?.lastError, 5_000, 'push refused for now');
    // The server moved twice; the page repeats t1, its older state first (against the contract).
    feed = (since) =>
      since === '1'
        ? { items: [item(2, 'theirs-2'), item(3, 'theirs-3')], cursor: '3', hasMore: false }
        : { items: [], cursor: '3', hasMore: false };
    await engine.background!.pull(collection);
    const [conflict] = await engine.conflicts(collection);
    expect(conflict).to.deep.include({ theirsVersion: 3, theirs: { title: 'theirs-3' } });
    // A clean entity repeated newest first takes the newest copy too.
    feed = (since) =>
      since === '3'
        ? {
            items: [
              { ...item(5, 'five'), id: 't2' },
              { ...item(4, 'four'), id: 't2' },
            ],
            cursor: '5',
            hasMore: false,
          }
        : { items: [], cursor: '5', hasMore: false };
    await engine.background!.pull(collection);
    expect(await stored('t2')).to.deep.include({ version: 5, data: { title: 'five' } });
  });

  it('keeps an open conflict showing the newest server copy a pull brings, and resolves to that copy', async () => {
    const { engine, conflict } = await conflictFoundByPull();
    await serverPut(collection, 't1', { title: 'newer', note: 'n' }, '"2"');
    await engine.background!.pull(collection);
    const [shown] = await engine.conflicts(collection);
    expect(shown).to.deep.include({ id: conflict.id, theirs: { title: 'newer', note: 'n' }, theirsVersion: 3 });
    expect(shown!.fields).to.deep.equal(['title']);
    await engine.resolve(conflict.id, { choose: 'theirs' });
    await engine.background!.pull(collection);
    expect(await stored('t1')).to.deep.include({ version: 3, dirty: false, data: { title: 'newer', note: 'n' } });
  });

  it('takes a push whose credentials were still being asked for when the entity was edited for its own, answer lost: no conflict', async () => {
    const engine = await start('manual');
    await engine.entityPut(collection, 't1', { title: 'base' });
    await clean('t1');
    // The app's hook answers late; the user edits meanwhile, so what goes is the edit before.
    let answer = () => {};
    let asked = 0;
    engine.authorize = () =>
      asked++ > 0
        ? Promise.resolve(null)
        : new Promise((resolve) => {
            answer = () => resolve(null);
          });
    // Applied, then the connection cut: its answer never comes.
    await addFault({ pathPrefix: `/api/${collection}/t1`, methods: ['PUT'], drop: true });
    await engine.entityPatch(collection, 't1', { title: 'first' });
    await eventually(() => asked === 1, 5_000, 'credentials asked for');
    await engine.entityPatch(collection, 't1', { title: 'second' });
    answer();
    await eventually(
      async () => (await serverItems(collection)).some((i) => i.data?.title === 'first'),
      5_000,
      'first applied',
    );
    // Its answer lost (the browser repeats it once, also cut), and the next push's too.
    await eventually(async () => (await requestCount(`/api/${collection}/t1`)) >= 3, 5_000, 'answers lost');
    await clearFaults(`/api/${collection}/t1`);
    // The next push meets a 412 whose server copy is exactly the push that went: this device's own, not a conflict.
    await advancingUntil(async () => engine.status.entities.dirty === 0, 'second pushed');
    expect(await engine.conflicts(collection)).to.deep.equal([]);
    expect(await stored('t1')).to.deep.include({ version: 3, data: { title: 'second' } });
  });

  for (const strategy of ['server-wins', 'merge'] as const) {
    it(`under ${strategy}, takes a 412 showing its own earlier push whose answer was lost for its own: the newer edit is pushed on it`, async () => {
      const lossy = losingOnePutAnswer();
      const engine = await start(strategy, {}, { fetch: lossy.fetch });
      const rollbacks: Rollback[] = [];
      engine.rollbacks$.subscribe((r) => rollbacks.push(r));
      await engine.entityPut(collection, 't1', { title: 'base' });
      await clean('t1');
      // "first" is applied as version 2, its answer lost: the push is no longer out, and nothing says it landed.
      lossy.lose();
      await engine.entityPatch(collection, 't1', { title: 'first' });
      await eventually(async () => !!(await engine.dirtyEntities())[0]?.lastError, 5_000, 'the answer lost');
      expect((await serverItems(collection)).at(-1)).to.deep.include({ version: 2, data: { title: 'first' } });
      // Edited again before any pull: its push on version 1 meets a 412 whose server copy is "first".
      await engine.entityPatch(collection, 't1', { title: 'second' });
      await eventually(
        async () => (await stored('t1'))?.dirty === false || (await engine.conflicts(collection)).length > 0,
        10_000,
        'pushed, or a conflict',
      );
      expect(await engine.conflicts(collection)).to.deep.equal([]);
      expect(rollbacks).to.deep.equal([]);
      expect(await stored('t1')).to.deep.include({ version: 3, data: { title: 'second' } });
      expect((await serverItems(collection)).at(-1)).to.deep.include({ version: 3, data: { title: 'second' } });
    });
  }

  it("after a restart, takes the server's copy of a push the engine before got accepted but never recorded for its own, once edited again", async () => {
    // t1 at version 1 ("base"); "first" is applied as version 2, and the engine stops before reading the answer.
    const { held } = await pushWithAnswerHeld('merge', 'first');
    const config = f.engine.config;
    f.engine.close();
    held.release();
    // The next engine cannot reach the server for a while (a proxy answers 503): "first" is not sent again, nor
    // pulled, before the user edits the same field.
    let away = true;
    const proxied: typeof fetch = async (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (away && url.includes(`/${collection}`))
        return new Response('{"error":"away"}', { status: 503, headers: { 'Content-Type': 'application/json' } });
      return fetch(input, init);
    };
    f.engine = await SyncEngine.open({
      config,
      db: await openSynclineDB(f.namespace),
      clock: f.clock,
      random: () => 0.5,
      fetch: proxied,
    });
    await eventually(async () => !!(await f.engine.dirtyEntities())[0]?.lastError, 5_000, 'the push refused for now');
    await f.engine.entityPatch(collection, 't1', { title: 'second' });
    away = false;
    await f.engine.background!.pull(collection);
    await advancingUntil(
      async () => f.engine.status.entities.dirty === 0 || (await f.engine.conflicts(collection)).length > 0,
      'pushed, or a conflict',
    );
    expect(await f.engine.conflicts(collection)).to.deep.equal([]);
    expect(await stored('t1')).to.deep.include({ version: 3, data: { title: 'second' } });
  });

  it('does not bring back an entity whose delete was accepted while a pull read an older page', async () => {
    let gate: Promise<void> | null = null;
    let open = () => {};
    let heldFeed = 0;
    const engine = await start(
      'merge',
      {},
      {
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
          if (gate && url.includes('?since=')) {
            heldFeed++;
            await gate;
          }
          return response;
        },
      },
    );
    await engine.entityPut(collection, 't1', { title: 'x' });
    await clean('t1');
    // A pull reads t1 at version 1; its page is held while the delete is pushed and accepted (version 2).
    gate = new Promise<void>((r) => (open = r));
    const pulling = engine.background!.pull(collection);
    await eventually(() => heldFeed === 1, 5_000, 'the page read, held');
    await engine.entityDelete(collection, 't1');
    await eventually(async () => engine.status.entities.dirty === 0, 5_000, 'the delete accepted');
    gate = null;
    open();
    await pulling;
    expect(await stored('t1')).to.equal(undefined);
    // The next pull brings the deletion itself; the entity made again goes on its version, not as a conflict.
    await engine.background!.pull(collection);
    await engine.entityPut(collection, 't1', { title: 'again' });
    await clean('t1');
    expect(await engine.conflicts(collection)).to.deep.equal([]);
    expect(await stored('t1')).to.deep.include({ version: 3, data: { title: 'again' } });
  });

  it('takes its own deletion in the feed for its own when the entity is made again before it is pushed: no conflict', async () => {
    const engine = await start('merge');
    await engine.entityPut(collection, 't1', { title: 'x' });
    await clean('t1');
    await engine.entityDelete(collection, 't1');
    await eventually(async () => engine.status.entities.dirty === 0 && !(await stored('t1')), 5_000, 'deleted');
    await addFault({ pathPrefix: `/api/${collection}/t1`, methods: ['PUT'], status: 503 });
    await engine.entityPut(collection, 't1', { title: 'again' });
    await eventually(async () => !!(await engine.dirtyEntities())[0]?.lastError, 5_000, 'the push failed');
    await engine.background!.pull(collection);
    expect(await engine.conflicts(collection)).to.deep.equal([]);
    await clearFaults(`/api/${collection}/t1`);
    await advancingUntil(async () => engine.status.entities.dirty === 0, 'pushed');
    expect(await stored('t1')).to.deep.include({ version: 3, data: { title: 'again' } });
  });

  it('merges a 412 over data with a field named constructor: the removal is pushed, nothing wedges', async () => {
    const engine = await start('merge');
    await engine.entityPut(collection, 't1', { constructor: 'c', n: 1 });
    await clean('t1');
    await serverPut(collection, 't1', { constructor: 'c', n: 2 }, '"1"');
    await engine.entityPut(collection, 't1', { n: 1 });
    await clean('t1');
    expect((await stored('t1'))!.data).to.deep.equal({ n: 2 });
    expect((await serverItems(collection)).filter((i) => i.id === 't1').at(-1)!.data).to.deep.equal({ n: 2 });
  });

  it('counts an edit the server refused for good apart in status.entities.failed, until it is reverted', async () => {
    const engine = await start('merge');
    await addFault({ pathPrefix: `/api/${collection}/t1`, methods: ['PUT'], status: 422 });
    await engine.entityPut(collection, 't1', { title: 'refused' });
    await eventually(() => engine.status.entities.failed === 1, 5_000, 'refused');
    expect(engine.status.entities).to.deep.equal({ dirty: 1, conflicts: 0, failed: 1 });
    // Reverted: no longer refused (its create left, so it is fenced first; it made nothing, and the row just goes).
    await engine.entityRevert(collection, 't1');
    expect(engine.status.entities.failed).to.equal(0);
    await eventually(() => engine.status.entities.dirty === 0, 5_000, 'reverted');
  });

  it('keeps the dirty count right when a refused call runs beside an accepted edit', async () => {
    const engine = await start();
    // The pull started by the registration is over (its answer would take the engine back online).
    await engine.background!.pull(collection);
    engine.setNetwork(false);
    // Two writes at once: the refused one must take back only what it did to the counts, not the other's edit.
    const [put, patch] = await Promise.allSettled([
      engine.entityPut(collection, 't1', { title: 'a' }),
      engine.entityPatch(collection, 'missing', { title: 'b' }),
    ]);
    expect([put.status, patch.status]).to.deep.equal(['fulfilled', 'rejected']);
    expect((await engine.dirtyEntities()).length, 'stored dirty rows').to.equal(1);
    const seen: number[] = [engine.collectionStatus(collection).dirty];
    await engine.entityPut(collection, 't2', { title: 'c' });
    seen.push(engine.status.entities.dirty, (await engine.dirtyEntities()).length);
    engine.setNetwork(true);
    await clean('t1');
    await clean('t2');
    seen.push(engine.status.entities.dirty);
    // The collection's count after the refused call, the total after a second edit, the stored dirty rows, the
    // total once both are pushed.
    expect(seen).to.deep.equal([1, 2, 2, 0]);
  });

  it('refuses a collection URL with a user name and password, a query or a fragment, with a typed error', async () => {
    const engine = await start();
    const url = `${API}/${uniqueName('u')}`;
    for (const bad of [url.replace('://', '://user:secret@'), `${url}?tenant=1`, `${url}?`, `${url}#top`]) {
      const name = uniqueName('u');
      const error = await engine.registerCollection({ name, url: bad }).catch((e: unknown) => e);
      expect((error as SynclineError | undefined)?.code, `registered ${bad}`).to.equal('invalid-operation');
      expect(engine.background!.names, bad).not.to.include(name);
    }
  });

  it('refuses bad input with typed errors and changes nothing', async () => {
    const engine = await start();
    await engine.entityPut(collection, 'ok', { title: 'kept' });
    await clean('ok');
    const before = await engine.entities(collection);
    for (const call of [
      () => engine.entityPut(collection, 'bad id!', { title: 'x' }),
      () => engine.entityPut(collection, 'x', [1, 2] as never),
      () => engine.entityPut(collection, 'x', { f: () => 1, big: 10n } as never),
      () => engine.entityPut(collection, 'x', JSON.parse('{"title":"x","__proto__":"kept?"}')),
      () => engine.entityPatch(collection, 'ok', JSON.parse('{"meta":{"__proto__":{"admin":true}}}')),
      () => engine.entityPut('no-such-collection', 'x', { title: 'x' }),
      () => engine.entityPatch(collection, 'missing', { title: 'x' }),
      () => engine.resolve('no-such-conflict', { choose: 'mine' }),
      () => engine.resolve('x', { choose: 'both' } as never),
      () => engine.registerCollection({ name: 'evil', url: 'https://evil.example/x' }),
    ]) {
      const error = await call().catch((e) => e);
      expect(error?.name, String(call)).to.equal('SynclineError');
    }
    expect(await engine.entities(collection)).to.deep.equal(before);
  });
});

describe('Background Sync through clients', () => {
  const namespaces: string[] = [];
  const clients: SyncClient[] = [];
  after(async () => {
    for (const c of clients) c.close();
    for (const ns of namespaces) await Promise.race([deleteSynclineDB(ns), new Promise((r) => setTimeout(r, 2000))]);
  });

  /** An in-page client on a namespace of its own whose health probe is under `collection` (see `unreachable`). */
  function inPageClient(prefix: string, collection: string): SyncClient {
    const namespace = uniqueName(prefix);
    namespaces.push(namespace);
    const client = createSyncClient({
      endpoint: '/api',
      namespace,
      mode: 'in-page',
      healthUrl: `/api/health/${collection}`,
    });
    clients.push(client);
    return client;
  }

  it("offers a conflict to the app's rule again after its resolve failed for a passing reason, not after a refusal", async () => {
    // The handle alone: conflicts and resolve are the test's, the engine link answers every call.
    const connection = {
      connected: false,
      engineId: null,
      state$: NEVER,
      callTimeoutMs: 5_000,
      watch: () => NEVER,
      call: async () => ({}),
      callBy: async () => ({}),
    } as unknown as EngineConnection;
    const conflicts = new BehaviorSubject<Conflict[]>([]);
    const asked: string[] = [];
    const answers: (SynclineErrorCode | 'ok')[] = [SynclineErrorCode.Unavailable, 'ok'];
    const resolved: [string, Resolution][] = [];
    const logged: unknown[] = [];
    const log = console.error;
    console.error = (...args: unknown[]) => logged.push(args[0]);
    const handle = new CollectionHandle(
      'notes',
      connection,
      `${API}/notes`,
      { conflict: (c) => (asked.push(`${c.id}@${c.theirsVersion}/${c.mineRev}`), { choose: 'theirs' }) },
      conflicts.asObservable(),
      async (id, resolution) => {
        const answer = answers.shift() ?? SynclineErrorCode.NotFound;
        if (answer !== 'ok') throw new SynclineError(answer, `resolve: ${answer}`);
        resolved.push([id, resolution]);
        return null;
      },
    );
    try {
      const conflict = (theirsVersion: number, mineRev = 4): Conflict => ({
        id: 'k1',
        collection: 'notes',
        entityId: 'n1',
        base: { title: 'base' },
        mine: { title: 'mine' },
        mineRev,
        theirs: { title: 'theirs' },
        theirsVersion,
        fields: ['title'],
        detectedBy: '412',
        detectedAt: 0,
      });
      conflicts.next([conflict(2)]);
      await eventually(() => logged.length === 1, 2_000, 'the passing failure said');
      // No new list comes (the engine is up, the disk was full): offered again all the same, and resolved.
      await eventually(() => resolved.length === 1, 5_000, 'resolved on the second offer');
      // On the copies it was offered: the engine refuses it if either moved meanwhile.
      expect(resolved[0]).to.deep.equal(['k1', { choose: 'theirs', theirsVersion: 2, mineRev: 4 }]);
      // A newer copy, settled meanwhile by another tab (not-found): not said, and not offered again.
      conflicts.next([conflict(3)]);
      await eventually(() => asked.length === 3, 2_000, 'offered the newer copy');
      await new Promise((r) => setTimeout(r, 50));
      conflicts.next([conflict(3)]);
      await new Promise((r) => setTimeout(r, 50));
      // A newer edit of this device's is a new question too.
      conflicts.next([conflict(3, 5)]);
      await eventually(() => asked.length === 4, 2_000, 'offered the newer edit');
      expect(asked).to.deep.equal(['k1@2/4', 'k1@2/4', 'k1@3/4', 'k1@3/5']);
      expect(logged).to.have.length(1);
    } finally {
      console.error = log;
      handle.close();
    }
  });

  it('refuses at once a collection URL with a user name, a query or a fragment', () => {
    const client = inPageClient('bgu', uniqueName('u'));
    for (const url of [`${API.replace('://', '://user:secret@')}/u`, '/api/u?tenant=1', '/api/u#top']) {
      let error: unknown = null;
      try {
        client.collection(uniqueName('u'), { url });
      } catch (e) {
        error = e;
      }
      expect((error as SynclineError | null)?.code, url).to.equal('invalid-config');
    }
  });

  it('shows an optimistic edit at once in this tab and another, then pushes it', async () => {
    const namespace = uniqueName('bgc');
    namespaces.push(namespace);
    const collection = uniqueName('tasks');
    const a = createSyncClient({ endpoint: '/api', namespace, mode: 'shared-worker' });
    const frame = await openFrame();
    const b = frame.client({ endpoint: '/api', namespace, mode: 'shared-worker' });
    clients.push(a, b);
    const tasksA = a.collection<Task>(collection, { pullIntervalMs: 0 });
    const tasksB = b.collection<Task>(collection, { pullIntervalMs: 0 });
    const inB = follow(tasksB.items$);
    const one = follow(tasksA.get$('t1'));
    await eventually(() => inB.value !== undefined, 5_000, 'b lists');
    await tasksA.put('t1', { title: 'Buy milk' });
    await eventually(
      () => inB.value?.some((e) => e.id === 't1' && e.data.title === 'Buy milk') === true,
      5_000,
      'seen in the other tab',
    );
    await eventually(() => one.value?.dirty === false, 10_000, 'pushed');
    expect((await serverItems(collection)).map((i) => i.data)).to.deep.equal([{ title: 'Buy milk' }]);
    const status = follow(tasksA.status$);
    await eventually(() => status.value?.dirty === 0, 5_000, 'status');
    inB.stop();
    one.stop();
    status.stop();
    frame.remove();
  });

  it("applies two tabs' edits of the same entity in order, without a false conflict, and both tabs converge", async () => {
    const namespace = uniqueName('bg2');
    namespaces.push(namespace);
    const collection = uniqueName('tasks');
    const a = createSyncClient({ endpoint: '/api', namespace, mode: 'shared-worker' });
    const frame = await openFrame();
    const b = frame.client({ endpoint: '/api', namespace, mode: 'shared-worker' });
    clients.push(a, b);
    const tasksA = a.collection<Task>(collection, { pullIntervalMs: 0 });
    const tasksB = b.collection<Task>(collection, { pullIntervalMs: 0 });
    const inA = follow(tasksA.items$);
    const inB = follow(tasksB.items$);
    const conflictsA = follow(a.conflicts$);
    const conflictsB = follow(b.conflicts$);
    const rollbacks: unknown[] = [];
    const rollbackSubs = [
      tasksA.rollbacks$.subscribe((r) => rollbacks.push(r)),
      tasksB.rollbacks$.subscribe((r) => rollbacks.push(r)),
    ];
    await tasksA.put('t1', { title: 'from A' });
    await eventually(() => inB.value?.find((e) => e.id === 't1')?.dirty === false, 10_000, 'created and pushed');
    // A's next edit is held by the server; B edits the same entity while it is out.
    await clearFaults(`/api/${collection}`);
    await addFault({ pathPrefix: `/api/${collection}/`, methods: ['PUT'], latencyMs: 600, times: 1 });
    await tasksA.patch('t1', { title: 'A again' });
    await eventually(async () => (await requestCount(`/api/${collection}/t1`)) === 2, 5_000, "A's edit out");
    await eventually(() => inB.value?.find((e) => e.id === 't1')?.data.title === 'A again', 5_000, "B sees A's edit");
    await tasksB.patch('t1', { done: true });
    const settled = (items: typeof inA) =>
      items.value?.length === 1 && items.value[0]!.dirty === false && items.value[0]!.version === 3;
    await eventually(() => settled(inA) && settled(inB), 10_000, 'both pushed, both tabs settled');
    // A's edit, then B's on the version A's produced: no 412, no conflict, no rollback.
    expect((await writes(collection)).map(([, version, key]) => [version, key])).to.deep.equal([
      [1, `${collection}/t1@1`],
      [2, `${collection}/t1@2`],
      [3, `${collection}/t1@3`],
    ]);
    const [server] = await serverItems(collection);
    expect(server!.data).to.deep.equal({ title: 'A again', done: true });
    expect(conflictsA.value).to.deep.equal([]);
    expect(conflictsB.value).to.deep.equal([]);
    expect(rollbacks).to.deep.equal([]);
    expect(inA.value).to.deep.equal(inB.value);
    expect(inA.value![0]).to.deep.include({ id: 't1', version: server!.version, data: server!.data });
    for (const s of rollbackSubs) s.unsubscribe();
    inA.stop();
    inB.stop();
    conflictsA.stop();
    conflictsB.stop();
    frame.remove();
  });

  it('offers conflicts on conflicts$, resolves them from the page, and lets a function strategy decide', async () => {
    const namespace = uniqueName('bgk');
    namespaces.push(namespace);
    const collection = uniqueName('tasks');
    const client = createSyncClient({ endpoint: '/api', namespace, mode: 'in-page' });
    clients.push(client);
    const decided: string[] = [];
    const tasks = client.collection<Task>(collection, {
      pullIntervalMs: 0,
      conflict: (c) => {
        decided.push(c.entityId);
        return c.entityId === 'auto' ? { choose: 'theirs' } : 'manual';
      },
    });
    await tasks.put('auto', { title: 'base' });
    await tasks.put('user', { title: 'base' });
    const items = follow(tasks.items$);
    await eventually(() => items.value?.length === 2 && items.value.every((e) => !e.dirty), 10_000, 'pushed');
    await serverPut(collection, 'auto', { title: 'server' }, '"1"');
    await serverPut(collection, 'user', { title: 'server' }, '"1"');
    await tasks.patch('auto', { title: 'mine' });
    await tasks.patch('user', { title: 'mine' });
    const conflicts = follow(client.conflicts$);
    await eventually(() => conflicts.value?.length === 1 && decided.length === 2, 10_000, 'one left for the user');
    expect(conflicts.value![0]!.entityId).to.equal('user');
    await eventually(
      () => items.value?.find((e) => e.id === 'auto')?.data.title === 'server',
      5_000,
      'auto took theirs',
    );
    const record = await client.resolve<Task>(conflicts.value![0]!.id, { choose: 'mine' });
    expect(record!.data.title).to.equal('mine');
    await eventually(
      () => conflicts.value?.length === 0 && items.value?.every((e) => !e.dirty) === true,
      10_000,
      'resolved and pushed',
    );
    expect((await serverItems(collection)).map((i) => [i.id, (i.data as unknown as Task).title])).to.deep.equal([
      ['auto', 'server'],
      ['user', 'mine'],
    ]);
    items.stop();
    conflicts.stop();
  });

  it('asks a function strategy again when a pull brings a newer server copy while it decides, and drops the older answer', async () => {
    const namespace = uniqueName('bgk');
    namespaces.push(namespace);
    const collection = uniqueName('tasks');
    const client = createSyncClient({ endpoint: '/api', namespace, mode: 'in-page' });
    clients.push(client);
    const asked: (number | null)[] = [];
    let answerFirst = (_: Resolution<Task>) => {};
    const tasks = client.collection<Task>(collection, {
      pullIntervalMs: 0,
      conflict: (c) => {
        asked.push(c.theirsVersion);
        // The first question waits (a dialog, say); the next answers at once: the server's copy with my title.
        if (asked.length === 1) return new Promise<Resolution<Task>>((r) => (answerFirst = r));
        return { data: { ...(c.theirs as Task), title: (c.mine as Task).title } };
      },
    });
    const items = follow(tasks.items$);
    await tasks.put('t1', { title: 'base' });
    await eventually(() => items.value?.length === 1 && !items.value[0]!.dirty, 10_000, 'pushed');
    await serverPut(collection, 't1', { title: 'server' }, '"1"');
    await tasks.patch('t1', { title: 'mine' });
    await eventually(() => asked.length === 1, 10_000, 'the rule asked');
    // While the rule decides, the server moves on and a pull brings that into the open conflict.
    await serverPut(collection, 't1', { title: 'server', note: 'added' }, '"2"');
    await client.syncNow();
    await eventually(() => asked.length === 2, 10_000, 'the rule asked again');
    answerFirst({ data: { title: 'mine' } });
    await eventually(
      () => items.value?.[0]?.dirty === false && items.value[0].version === 4,
      10_000,
      'resolved and pushed',
    );
    expect(asked).to.deep.equal([2, 3]);
    expect((await serverItems(collection)).filter((i) => i.id === 't1').at(-1)!.data).to.deep.equal({
      title: 'mine',
      note: 'added',
    });
    items.stop();
  });

  it("keeps a function strategy deciding after the conflicts' live query failed to read: no uncaught error", async () => {
    const collection = uniqueName('tasks');
    const client = inPageClient('bgr', collection);
    // Background Sync running (its code loaded) before the failure.
    const first = client.collection<Task>(uniqueName('other'), { pullIntervalMs: 0 });
    await first.put('x', { title: 'x' });
    // The engine runs in this page: its next read of the conflicts fails once, as a storage hiccup would.
    const failing = failReads('conflicts', 1);
    const decided: string[] = [];
    try {
      const tasks = client.collection<Task>(collection, {
        pullIntervalMs: 0,
        conflict: (c) => (decided.push(c.entityId), { choose: 'theirs' }),
      });
      await eventually(() => failing.left() === 0, 5_000, 'the read failed');
      await tasks.put('auto', { title: 'base' });
      const items = follow(tasks.items$);
      await eventually(() => items.value?.[0]?.dirty === false, 10_000, 'pushed');
      await serverPut(collection, 'auto', { title: 'server' }, '"1"');
      await tasks.patch('auto', { title: 'mine' });
      await eventually(() => items.value?.[0]?.data.title === 'server', 10_000, 'the rule took theirs');
      expect(decided).to.deep.equal(['auto']);
      items.stop();
    } finally {
      failing.restore();
    }
  });

  it('lists unpushed edits over every collection on dirtyEntities$, a local delete included, until they are pushed', async () => {
    const collection = uniqueName('tasks');
    const client = inPageClient('bgd', collection);
    const tasks = client.collection<Task>(collection, { pullIntervalMs: 0 });
    await tasks.put('gone', { title: 'to delete' });
    const dirty = follow(client.dirtyEntities$);
    await eventually(() => dirty.value?.length === 0, 10_000, 'first push');
    await unreachable(collection);
    await tasks.put('a', { title: 'a' });
    await tasks.delete('gone');
    await eventually(() => dirty.value?.length === 2, 5_000, 'two dirty');
    expect(dirty.value!.map((e) => [e.collection, e.id, e.deleted, e.conflictId, e.failed])).to.deep.equal([
      [collection, 'a', false, null, false],
      [collection, 'gone', true, null, false],
    ]);
    await unreachable(collection, false);
    await client.syncNow();
    await eventually(() => dirty.value?.length === 0, 10_000, 'pushed');
    dirty.stop();
  });

  it('counts dirty entities and conflicts in status', async () => {
    const collection = uniqueName('tasks');
    const client = inPageClient('bgs', collection);
    await unreachable(collection);
    const tasks = client.collection<Task>(collection, { pullIntervalMs: 0 });
    await tasks.put('a', { title: 'a' });
    await tasks.put('b', { title: 'b' });
    const status = follow(client.status$);
    await eventually(() => status.value?.entities.dirty === 2, 5_000, 'two dirty');
    await unreachable(collection, false);
    await client.syncNow();
    await eventually(() => status.value?.entities.dirty === 0, 10_000, 'pushed');
    status.stop();
  });
});
