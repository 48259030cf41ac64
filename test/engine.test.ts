// The engine on its own: FIFO per lane, outcome classes, backoff, connectivity, bad input; virtual time, real server.
import { expect } from '@open-wc/testing';
import {
  Connectivity,
  OperationStatus,
  SynclineError,
  SynclineErrorCode,
  type Operation,
  type OperationFilter,
} from '../src/index.ts';
import { serializeError } from '../src/errors.ts';
import { CALL_METHODS } from '../src/rpc/protocol.ts';
import { subscribeLive, type LiveEvent, type LiveQuery } from '../src/engine/live-queries.ts';
import { reduceOutcome } from '../src/engine/reducer.ts';
import { backoffDelay, parseRetryAfter, SyncEngine, openSynclineDB, deleteSynclineDB } from '../src/testing.ts';
import { API, addFault, clearFaults, eventually, requestCount, serverItems, uniqueName } from './support/server.ts';
import { engineFixture, type EngineFixture } from './support/engine.ts';
import { failReads, failWrites } from './support/databases.ts';
import { latestResult, movedRows, resultGroups, type SynclineDB } from '../src/engine/db.ts';

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

/** The answer the database keeps for `id`, with its seq (the engine's `result()` leaves the seq out). */
const keptResult = async (db: SynclineDB, id: string) =>
  latestResult(await db.getAllFromIndex('results', 'ids', id), id);

/** Resolves the moment the engine knows of its first success (lastSyncAt), while that success's record waits. */
const delivered = (f: EngineFixture): Promise<void> =>
  new Promise((resolve) => {
    const sub = f.engine.status$.subscribe((s) => {
      if (s.lastSyncAt === null) return;
      queueMicrotask(() => sub.unsubscribe());
      resolve();
    });
  });

describe('SyncEngine', () => {
  let f: EngineFixture;
  afterEach(async () => {
    await clearFaults(f.path);
    await clearFaults(`/api/health/${f.collection}`);
    await f.dispose();
  });

  describe('ordering', () => {
    it('sends each lane in enqueue order and drains lanes concurrently', async () => {
      f = await engineFixture();
      // Lane "slow" answers after 300 ms a request; lane "fast" has no delay and must not wait for it.
      await addFault({ pathPrefix: `${f.path}-slow`, latencyMs: 300 });
      const slow = ids('s', 4).map((id) => ({
        ...f.create(id),
        lane: 'slow',
        request: { method: 'POST' as const, url: `${API}/${f.collection}-slow`, body: { id } },
      }));
      const fast = ids('f', 6).map((id) => ({ ...f.create(id), lane: 'fast' }));
      await f.engine.enqueue([...slow, ...fast]);
      await eventually(async () => (await serverItems(f.collection)).length === 6, 10_000, 'fast lane drained');
      expect((await serverItems(`${f.collection}-slow`)).length).to.be.lessThan(4);
      expect((await serverItems(f.collection)).map((i) => i.id)).to.deep.equal(ids('f', 6));
      await eventually(
        async () => (await serverItems(`${f.collection}-slow`)).length === 4,
        10_000,
        'slow lane drained',
      );
      expect((await serverItems(`${f.collection}-slow`)).map((i) => i.id)).to.deep.equal(ids('s', 4));
      expect(await f.engine.count()).to.equal(0);
    });

    it('keeps a long lane in order while it reads ahead, with operations added and discarded mid-drain', async () => {
      // One request per operation, a few ms each: the lane outruns its read-ahead many times over.
      f = await engineFixture({ batch: false });
      await addFault({ pathPrefix: f.path, latencyMs: 3 });
      const first = await f.engine.enqueue(ids('a', 120).map((id) => f.create(id)));
      await eventually(async () => (await serverItems(f.collection)).length >= 10, 10_000, 'drain under way');
      // Discard from the tail (still queued), then add more behind it.
      const discarded = first.slice(100, 110);
      for (const op of discarded) expect(await f.engine.discard(op.id)).to.equal(true);
      await f.engine.enqueue(ids('b', 40).map((id) => f.create(id)));
      const expected = [...ids('a', 100), ...ids('a', 120).slice(110), ...ids('b', 40)];
      await eventually(async () => (await serverItems(f.collection)).length >= expected.length, 20_000, 'lane drained');
      await new Promise((r) => setTimeout(r, 200));
      expect((await serverItems(f.collection)).map((i) => i.id)).to.deep.equal(expected);
      expect(await f.engine.count()).to.equal(0);
    });

    it('assigns increasing seq across enqueue calls and keeps an explicit id idempotent', async () => {
      f = await engineFixture();
      await addFault({ pathPrefix: f.path, offline: true });
      await addFault({ pathPrefix: `/api/health/${f.collection}`, offline: true });
      const [a] = await f.engine.enqueue([f.create('a', { id: 'op-aaaaaaaa' })]);
      const [b, c] = await f.engine.enqueue([f.create('b'), f.create('c')]);
      expect([a!.seq, b!.seq, c!.seq]).to.deep.equal([1, 2, 3]);
      const [again] = await f.engine.enqueue([f.create('a', { id: 'op-aaaaaaaa' })]);
      expect(again!.seq).to.equal(1);
      expect(await f.engine.count()).to.equal(3);
    });

    it('gives an enqueue that starts first the lower seq, when a re-sent one (read first) and a new one overlap', async () => {
      f = await engineFixture({ batch: false });
      f.engine.setNetwork(false);
      await f.engine.enqueue([f.create('a0')]);
      // A re-sent enqueue reads before it writes; a plain one reserves its seqs at once, while that read is out.
      const [[a], [b]] = await Promise.all([
        f.engine.enqueue([f.create('a1')], { resent: true }),
        f.engine.enqueue([f.create('a2')]),
      ]);
      expect(a!.seq, 'the one started first').to.be.lessThan(b!.seq);
      expect((await f.engine.list()).map((op) => (op.request.body as { id: string }).id)).to.deep.equal([
        'a0',
        'a1',
        'a2',
      ]);
    });

    it('never hands out a seq again after a restart: not one still queued, discarded or sent', async () => {
      f = await engineFixture();
      const reopen = async () => {
        f.engine.close();
        const engine = await SyncEngine.open({
          config: f.engine.config,
          db: await openSynclineDB(f.namespace),
          clock: f.clock,
          random: () => 0.5,
        });
        engine.setNetwork(false);
        f.engine = engine;
        return engine;
      };
      f.engine.setNetwork(false);
      await f.engine.enqueue([f.create('a'), f.create('b'), f.create('c')]);
      // Queued: the largest stored seq carries the counter.
      expect((await (await reopen()).enqueue([f.create('d')]))[0]!.seq).to.equal(4);
      // The last one discarded: its seq is not reused.
      const [e] = await f.engine.enqueue([f.create('e')]);
      expect(await f.engine.discard(e!.id)).to.equal(true);
      expect((await (await reopen()).enqueue([f.create('f')]))[0]!.seq).to.equal(6);
      // Everything sent and gone: still counting on.
      f.engine.setNetwork(true);
      await eventually(async () => (await f.engine.count()) === 0, 10_000, 'drained');
      await f.engine.enqueue([f.create('g')]).then(([g]) => expect(g!.seq).to.equal(7));
      await eventually(async () => (await f.engine.count()) === 0, 10_000, 'drained again');
      await new Promise((r) => setTimeout(r, 100));
      expect((await (await reopen()).enqueue([f.create('h')]))[0]!.seq).to.equal(8);
    });

    it('blocks only the lane of a failed operation; retry and discard release it', async () => {
      f = await engineFixture();
      // Lane a writes to its own collection, so the injected 400s hit only it.
      await addFault({ pathPrefix: `${f.path}-a`, status: 400, times: 2 });
      const inLaneA = (id: string) => ({
        ...f.create(id),
        lane: 'a',
        request: { method: 'POST' as const, url: `${API}/${f.collection}-a`, body: { id } },
      });
      const [a1] = await f.engine.enqueue([inLaneA('a1')]);
      await f.until(a1!.id, (op) => op.status === OperationStatus.Failed);
      const [, b1] = await f.engine.enqueue([inLaneA('a2'), { ...f.create('b1'), lane: 'b' }]);
      await f.until(b1!.id, null, 'lane b drained');
      const stored = await f.engine.list({ lane: 'a' });
      expect(stored.map((op) => [op.label, op.status])).to.deep.equal([
        ['Create a1', 'failed'],
        ['Create a2', 'pending'],
      ]);
      expect(stored[0]!.lastError).to.include({ kind: 'http', status: 400 });

      // Retry: the second injected 400 fails it again; discard then lets a2 through without a1 ever landing.
      await f.engine.retry(a1!.id);
      await f.until(a1!.id, (op) => op.status === OperationStatus.Failed && op.attempts === 2);
      expect(await f.engine.discard(a1!.id)).to.equal(true);
      await eventually(async () => (await f.engine.count()) === 0, 10_000, 'lane a drained');
      expect((await serverItems(`${f.collection}-a`)).map((i) => i.id)).to.deep.equal(['a2']);
      expect((await serverItems(f.collection)).map((i) => i.id)).to.deep.equal(['b1']);
      expect(await f.engine.discard(a1!.id)).to.equal(false);
    });

    it('never sends the operations behind one that failed; they keep their place and no attempt', async () => {
      f = await engineFixture({ backoffBaseMs: 1000 });
      await addFault({ pathPrefix: f.path, status: 503, times: 1 });
      const [x1, x2, x3] = await f.engine.enqueue([f.create('x1'), f.create('x2'), f.create('x3')]);
      await f.until(x1!.id, (op) => op.status === OperationStatus.Pending && op.attempts === 1);
      const [, second, third] = await f.engine.list();
      expect([second!.id, second!.status, second!.attempts]).to.deep.equal([x2!.id, 'pending', 0]);
      expect([third!.id, third!.status, third!.attempts]).to.deep.equal([x3!.id, 'pending', 0]);
      expect(await requestCount(f.path)).to.equal(1);
      f.clock.advance(500);
      await eventually(async () => (await f.engine.count()) === 0, 10_000, 'drained after backoff');
      expect(await requestCount(f.path)).to.equal(4);
      expect((await serverItems(f.collection)).map((i) => i.id)).to.deep.equal(['x1', 'x2', 'x3']);
    });
  });

  describe('outcomes', () => {
    for (const status of [500, 503, 408, 425, 429]) {
      it(`retries a ${status} with full-jitter backoff, then succeeds`, async () => {
        f = await engineFixture({ backoffBaseMs: 1000 });
        // No `times`: Chromium itself silently repeats a request answered 408 on a reused connection.
        await addFault({ pathPrefix: f.path, status });
        const [op] = await f.engine.enqueue([f.create('x')]);
        const waiting = await f.until(op!.id, (o) => o.status === OperationStatus.Pending && o.attempts === 1);
        await clearFaults(f.path);
        // random() is 0.5: half of base · 2^0.
        expect(waiting!.nextAttemptAt - waiting!.updatedAt).to.equal(500);
        expect(waiting!.lastError).to.include({ kind: 'http', status });
        expect(f.engine.status.connectivity).to.equal(Connectivity.Degraded);
        f.clock.advance(499);
        expect((await f.engine.list())[0]!.attempts).to.equal(1);
        f.clock.advance(1);
        await f.until(op!.id, null, 'sent after backoff');
        expect(f.engine.status.connectivity).to.equal(Connectivity.Online);
        expect(f.engine.status.lastSyncAt).to.be.a('number');
      });
    }

    it('honours Retry-After over its own backoff', async () => {
      f = await engineFixture({ backoffBaseMs: 1000 });
      await addFault({ pathPrefix: f.path, status: 429, retryAfter: 7, times: 1 });
      const [op] = await f.engine.enqueue([f.create('x')]);
      const waiting = await f.until(op!.id, (o) => o.attempts === 1 && o.status === OperationStatus.Pending);
      expect(waiting!.nextAttemptAt - waiting!.updatedAt).to.equal(7000);
      f.clock.advance(6999);
      expect(await requestCount(f.path)).to.equal(1);
      f.clock.advance(1);
      await f.until(op!.id, null);
      expect(await requestCount(f.path)).to.equal(2);
    });

    it('retries a 409 with Retry-After (a repeat still in progress) but parks a plain 409 as a conflict', async () => {
      f = await engineFixture();
      await addFault({ pathPrefix: f.path, status: 409, retryAfter: 1, times: 1 });
      const [op] = await f.engine.enqueue([f.create('x')]);
      const waiting = await f.until(op!.id, (o) => o.status === OperationStatus.Pending && o.attempts === 1);
      // The same key still being processed is not the operation's fault: no strike.
      expect(waiting!.strikes).to.equal(0);
      f.clock.advance(1000);
      await f.until(op!.id, null);
      // Creating the same id again is a real 409 "exists" from the server: a conflict, not a retry.
      const [dup] = await f.engine.enqueue([f.create('x')]);
      const parked = await f.until(dup!.id, (o) => o.status === OperationStatus.Conflict);
      expect(parked!.lastError).to.include({ kind: 'conflict', status: 409 });
      expect(f.engine.status.counts.conflict).to.equal(1);
    });

    it('parks a stale If-Match (412) as a conflict with the server copy', async () => {
      f = await engineFixture();
      const url = `${API}/${f.collection}/t1`;
      await fetch(url, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: '{"title":"v1"}' });
      await fetch(url, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: '{"title":"v2"}' });
      const [op] = await f.engine.enqueue([
        {
          kind: 'item.update',
          label: 'Rename',
          request: { method: 'PUT', url, headers: { 'If-Match': '"1"' }, body: { title: 'mine' } },
        },
      ]);
      const parked = await f.until(op!.id, (o) => o.status === OperationStatus.Conflict);
      expect(parked!.lastError!.status).to.equal(412);
      expect(JSON.stringify(parked!.lastError!.body)).to.contain('v2');
    });

    it('fails other 4xx at once and keeps them for the user', async () => {
      f = await engineFixture();
      const [op] = await f.engine.enqueue([
        { kind: 'bad', label: 'Bad id', request: { method: 'PUT', url: `${API}/${f.collection}/bad%20id`, body: {} } },
      ]);
      const failed = await f.until(op!.id, (o) => o.status === OperationStatus.Failed);
      expect(failed!.lastError).to.include({ kind: 'http', status: 400 });
      expect(f.engine.status.counts.failed).to.equal(1);
    });

    it('gives up after maxAttempts retryable failures', async () => {
      f = await engineFixture({ maxAttempts: 3, backoffBaseMs: 100 });
      await addFault({ pathPrefix: f.path, status: 503 });
      const [op] = await f.engine.enqueue([f.create('x')]);
      for (let attempt = 1; attempt <= 2; attempt++) {
        await f.until(op!.id, (o) => o.attempts === attempt && o.status === OperationStatus.Pending);
        f.clock.advance(10_000);
      }
      const failed = await f.until(op!.id, (o) => o.status === OperationStatus.Failed);
      expect(failed).to.include({ attempts: 3, strikes: 3 });
      expect(failed!.lastError!.status).to.equal(503);
    });

    it('times a request out and retries it', async () => {
      f = await engineFixture({ requestTimeoutMs: 1000 });
      await addFault({ pathPrefix: f.path, latencyMs: 2000, times: 1 });
      const [op] = await f.engine.enqueue([f.create('x')]);
      await eventually(async () => (await requestCount(f.path)) === 1);
      f.clock.advance(1000);
      const waiting = await f.until(op!.id, (o) => o.status === OperationStatus.Pending && o.attempts === 1);
      expect(waiting!.lastError!.kind).to.equal('timeout');
      expect(f.engine.status.connectivity).to.equal(Connectivity.Degraded);
    });

    it('pauses the queue on 401 until the app signs in again', async () => {
      let token = 'expired';
      f = await engineFixture();
      f.engine.authorize = async () => ({ Authorization: `Bearer ${token}` });
      await addFault({ pathPrefix: f.path, status: 401, times: 1 });
      const [op] = await f.engine.enqueue([f.create('x')]);
      await eventually(() => f.engine.status.paused === 'auth', 5_000, 'auth pause');
      const waiting = (await f.engine.list())[0]!;
      expect(waiting).to.include({ id: op!.id, status: OperationStatus.Pending });
      expect(waiting.lastError!.kind).to.equal('auth');
      expect(waiting.strikes).to.equal(0);
      token = 'fresh';
      f.engine.resume();
      await f.until(op!.id, null);
    });
  });

  describe('group commit', () => {
    it('writes enqueues that arrive together in shared transactions, each answered only once its own are stored', async () => {
      f = await engineFixture();
      f.engine.setNetwork(false);
      const before = f.engine.writeSeq;
      const calls = Array.from({ length: 30 }, (_, i) => f.engine.enqueue([f.create(`g${i}`)]));
      const results = await Promise.all(calls);
      const seqs = results.map(([op]) => op!.seq);
      expect(new Set(seqs).size).to.equal(30);
      expect([...seqs].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 30 }, (_, i) => i + 1));
      // Every answered operation is in the store, and fewer transactions than calls were needed.
      expect(await f.engine.count()).to.equal(30);
      expect(f.engine.writeSeq - before).to.be.lessThan(30);
      // A bad call among good ones is refused alone.
      const mixed = await Promise.allSettled([
        f.engine.enqueue([f.create('ok1')]),
        f.engine.enqueue([{ kind: '', label: 'x', request: { method: 'POST', url: `${API}/x` } }]),
        f.engine.enqueue([f.create('ok2')]),
      ]);
      expect(mixed.map((r) => r.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
      expect(await f.engine.count()).to.equal(32);
    });
  });

  describe('recording successes', () => {
    it('records successes as soon as no lane is sending, without waiting out the coalescing window', async () => {
      // A window no test outlives: only the lanes going idle can end it.
      f = await engineFixture({}, { recordWindowMs: 2 ** 31 - 1 });
      f.engine.setNetwork(false);
      const ops = await f.engine.enqueue([f.create('r1'), f.create('r2'), f.create('r3')]);
      f.engine.setNetwork(true);
      await eventually(async () => (await f.engine.count()) === 0, 10_000, 'the successes recorded');
      for (const op of ops) expect((await f.engine.result(op.id))?.status, op.id).to.equal(201);
    });
  });

  describe('keys and credentials', () => {
    it("sends the user's retry of an operation the server refused under a fresh key, so the stored refusal is not replayed", async () => {
      f = await engineFixture();
      const url = `${API}/${f.collection}/t1`;
      const put = (title: string, ifMatch?: string) =>
        fetch(url, {
          method: 'PUT',
          headers: { 'Content-Type': 'application/json', ...(ifMatch ? { 'If-Match': ifMatch } : {}) },
          body: JSON.stringify({ title }),
        });
      await put('v1');
      await put('v2');
      const [op] = await f.engine.enqueue([
        {
          kind: 'item.update',
          label: 'Rename',
          request: { method: 'PUT', url, headers: { 'If-Match': '"3"' }, body: { title: 'mine' } },
        },
      ]);
      await f.until(op!.id, (o) => o.status === OperationStatus.Conflict);
      // Someone brings the server to the version the operation expected: the user's retry must now succeed.
      await put('v3');
      await f.engine.retry(op!.id);
      await f.until(op!.id, null, 'accepted on retry');
      const items = await serverItems(f.collection);
      expect(items.map((i) => [i.version, (i.data as { title: string }).title])).to.deep.equal([[4, 'mine']]);
    });

    it("fails an operation whose outcome stayed unknown past the server's key lifetime, for the user to check", async () => {
      f = await engineFixture();
      await f.engine.capabilitiesLoaded;
      expect(f.engine.capabilities.idempotencyTtlMs).to.equal(7 * 24 * 3600 * 1000);
      // As if the server remembered keys for a second.
      f.engine.capabilities = { ...f.engine.capabilities, idempotencyTtlMs: 1_000 };
      // Applied, then the reply is lost (every time: Chromium itself repeats a request whose reused connection closed).
      await addFault({ pathPrefix: f.path, methods: ['POST'], drop: true });
      const [op] = await f.engine.enqueue([f.create('x')]);
      const unsure = await f.until(op!.id, (o) => o.attempts === 1 && o.status === OperationStatus.Pending);
      expect(unsure!.uncertainSince).to.be.a('number');
      f.clock.advance(2_000);
      const flagged = await f.until(op!.id, (o) => o.status === OperationStatus.Failed);
      expect(flagged!.lastError!.kind).to.equal('uncertain');
      expect((await serverItems(f.collection)).map((i) => i.id)).to.deep.equal(['x']);
      // The user looked and retries: a fresh key, and the server says it exists (it did land).
      await clearFaults(f.path);
      // Offline first: the retried operation waits as if its new key were out and its answer lost with a closed tab.
      f.engine.setNetwork(false);
      expect((await f.engine.retry(op!.id)).keyGen).to.equal(1);
      // Retry again while it waits, its old error still shown: the key that may be out stays its key.
      const again = await f.engine.retry(op!.id);
      expect(again.lastError!.kind).to.equal('uncertain');
      expect(again.keyGen).to.equal(1);
      f.engine.setNetwork(true);
      const parked = await f.until(op!.id, (o) => o.status === OperationStatus.Conflict);
      expect(parked!.keyGen).to.equal(1);
    });

    it('keeps an unknown outcome, and its key, through answers the server never stores: a Retry after a 503 or a 403 is replayed, not applied twice', async () => {
      f = await engineFixture({ batch: false, backoffBaseMs: 100, maxAttempts: 2 });
      // Applied, then the reply is lost (every time: Chromium itself repeats a request whose reused connection closed).
      await addFault({ pathPrefix: f.path, methods: ['POST'], drop: true });
      const [op] = await f.engine.enqueue([f.create('x')]);
      const unsure = await f.until(op!.id, (o) => o.attempts === 1 && o.uncertainSince !== undefined);
      // The server is down a while: a 503 is never stored, so it says nothing of the lost attempt.
      await clearFaults(f.path);
      await addFault({ pathPrefix: f.path, methods: ['POST'], status: 503 });
      let failed: Operation | undefined;
      await eventually(
        async () => {
          f.clock.advance(1_000);
          failed = (await f.engine.list()).find((o) => o.id === op!.id && o.status === OperationStatus.Failed);
          return !!failed;
        },
        10_000,
        'failed on 503s',
      );
      expect(failed!.uncertainSince).to.equal(unsure!.uncertainSince);
      // Retried into a lapsed session: a 403 is not stored either, and no refusal of the key.
      await clearFaults(f.path);
      await addFault({ pathPrefix: f.path, methods: ['POST'], status: 403 });
      await f.engine.retry(op!.id);
      const forbidden = await f.until(
        op!.id,
        (o) => o.status === OperationStatus.Failed && o.lastError?.status === 403,
      );
      expect(forbidden!.uncertainSince).to.equal(unsure!.uncertainSince);
      // Access back: the Retry goes under the first key, and the server replays its answer.
      await clearFaults(f.path);
      await f.engine.retry(op!.id);
      await f.until(op!.id, null, 'delivered');
      expect((await serverItems(f.collection)).map((i) => i.id)).to.deep.equal(['x']);
    });

    it('counts a request the browser refused to build (bad headers from authorize) as not sent, not as maybe applied', async () => {
      f = await engineFixture({ batch: false, backoffBaseMs: 100 });
      let token = 'line\nbreak';
      f.engine.authorize = async () => ({ Authorization: `Bearer ${token}` });
      const [op] = await f.engine.enqueue([f.create('x')]);
      const refused = await f.until(op!.id, (o) => o.attempts === 1 && o.status === OperationStatus.Pending);
      expect(refused!.uncertainSince).to.equal(undefined);
      expect(refused!.strikes).to.equal(1);
      expect(refused!.lastError?.message).to.match(/^Not sent: /);
      expect(await requestCount(f.path)).to.equal(0);
      token = 'fine';
      f.clock.advance(1_000);
      f.engine.resume();
      await f.until(op!.id, null, 'sent');
    });

    it("counts an attempt from the user's Retry made while its credentials were asked for", async () => {
      f = await engineFixture({ batch: false, backoffBaseMs: 100, maxAttempts: 2 });
      await addFault({ pathPrefix: f.path, methods: ['POST'], status: 503, times: 2 });
      let asked = 0;
      let release!: () => void;
      f.engine.authorize = async () => {
        if (++asked === 2) await new Promise<void>((resolve) => (release = resolve));
        return null;
      };
      const [op] = await f.engine.enqueue([f.create('x')]);
      const first = await f.until(op!.id, (o) => o.attempts === 1 && o.status === OperationStatus.Pending);
      expect(first!.strikes).to.equal(1);
      f.clock.advance(1_000);
      await eventually(() => asked === 2, 5_000, 'the second attempt asks for credentials');
      expect((await f.engine.retry(op!.id)).strikes).to.equal(0);
      release();
      // Its one strike since the Retry, not the second of two: still waiting, not failed.
      const second = await f.until(op!.id, (o) => o.attempts === 2 && o.status !== OperationStatus.Sending);
      expect(second!.status).to.equal(OperationStatus.Pending);
      expect(second!.strikes).to.equal(1);
    });

    it('keeps an unknown outcome through an attempt that never left for want of credentials', async () => {
      f = await engineFixture({ batch: false, backoffBaseMs: 100 });
      // Applied, then the reply is lost: the server may have it.
      await addFault({ pathPrefix: f.path, methods: ['POST'], drop: true });
      let credentials = true;
      f.engine.authorize = async () => {
        if (!credentials) throw new Error('the tab closed');
        return null;
      };
      const [op] = await f.engine.enqueue([f.create('x')]);
      const unsure = await f.until(op!.id, (o) => o.attempts === 1 && o.status === OperationStatus.Pending);
      expect(unsure!.uncertainSince).to.be.a('number');
      credentials = false;
      let waiting: Operation | undefined;
      await eventually(
        async () => {
          f.clock.advance(1_000);
          waiting = (await f.engine.list()).find((o) => o.id === op!.id && o.lastError?.kind === 'auth');
          return !!waiting;
        },
        10_000,
        'asked for credentials',
      );
      // Nothing was sent this time, so nothing was learnt: the key-lifetime guard still runs from the first loss.
      expect(waiting!.uncertainSince).to.equal(unsure!.uncertainSince);
    });

    it('waits without a strike or a pause when no tab can give credentials; pauses only when told the user signed out', async () => {
      f = await engineFixture({ backoffBaseMs: 1000 });
      let answer: 'throw' | 'signed-out' | 'ok' = 'throw';
      let asked = 0;
      f.engine.authorize = async () => {
        asked++;
        if (answer === 'throw') throw new Error('the tab closed');
        if (answer === 'signed-out') return false;
        return { Authorization: 'Bearer fresh' };
      };
      const [op] = await f.engine.enqueue([f.create('x')]);
      const waiting = await f.until(op!.id, (o) => o.lastError?.kind === 'auth');
      expect(waiting).to.include({ status: 'pending', strikes: 0, attempts: 0 });
      expect(f.engine.status.paused).to.equal(null);
      expect(await requestCount(f.path)).to.equal(0);
      answer = 'signed-out';
      f.clock.advance(1_000);
      await eventually(() => f.engine.status.paused === 'auth', 5_000, 'paused for sign-in');
      const askedWhenPaused = asked;
      f.clock.advance(10_000);
      expect(asked).to.equal(askedWhenPaused);
      answer = 'ok';
      f.engine.resume();
      await f.until(op!.id, null, 'sent after sign-in');
    });
  });

  describe('queue invariants', () => {
    it('clears everything queued before the call, queue and replica, after the clock went back', async () => {
      f = await engineFixture({ batch: false });
      await f.engine.registerCollection({ name: 'notes', url: `${API}/${f.collection}-notes`, pullIntervalMs: 0 });
      // The server out of reach (the prefix covers the notes too), and the engine knows it before anything is made.
      await addFault({ pathPrefix: f.path, offline: true });
      await addFault({ pathPrefix: `/api/health/${f.collection}`, offline: true });
      await f.engine.syncNow();
      await eventually(() => f.engine.status.connectivity === Connectivity.Offline, 5_000, 'offline');
      await f.engine.enqueue([f.create('a')]);
      await f.engine.entityPut('notes', 'n1', { title: 'the last user' });
      // Set back by the user, or corrected by NTP, before the logout.
      f.clock.advance(-60_000);
      const refused = await f.engine.clear().catch((e: SynclineError) => e);
      expect((refused as SynclineError).code).to.equal(SynclineErrorCode.UnsentOperations);
      expect(await f.engine.clear({ discardUnsent: true })).to.equal(1);
      expect(await f.engine.list()).to.deep.equal([]);
      expect(await f.engine.entities('notes')).to.deep.equal([]);
      await clearFaults(f.path);
      await clearFaults(`/api/health/${f.collection}`);
      await f.engine.syncNow();
      await new Promise((r) => setTimeout(r, 500));
      expect(await serverItems(f.collection)).to.deep.equal([]);
      expect(await serverItems(`${f.collection}-notes`)).to.deep.equal([]);
    });

    it('answers an enqueue of an id done before the engine restarted from its result, sending nothing', async () => {
      f = await engineFixture({ batch: false });
      const id = uniqueName('chosen').replace(/[^\w-]/g, '');
      const [first] = await f.engine.enqueue([f.create('a', { id })]);
      await f.until(first!.id, null, 'sent');
      // A new engine (every tab was closed): its memory of what left starts empty.
      await f.reopen();
      // The app enqueues it again (its own retry), with a body that changed since: a key reuse the server refuses.
      const again = f.create('a', { id });
      await f.engine.enqueue([{ ...again, request: { ...again.request, body: { id: 'a', at: 2 } } }]);
      const [b] = await f.engine.enqueue([f.create('b')]);
      await eventually(async () => (await f.engine.count()) === 0, 10_000, 'b sent');
      expect(b!.seq).to.be.greaterThan(0);
      expect((await serverItems(f.collection)).map((i) => [i.id, i.version])).to.deep.equal([
        ['a', 1],
        ['b', 1],
      ]);
    });

    it('clear({ discardUnsent }) removes a Blob upload enqueued just before it', async () => {
      f = await engineFixture({ batch: false });
      await addFault({ pathPrefix: f.path, offline: true });
      await addFault({ pathPrefix: `/api/health/${f.collection}`, offline: true });
      const queued = f.engine.enqueue([
        {
          ...f.create('photo'),
          request: { method: 'PUT', url: `${API}/${f.collection}/photo`, body: new Blob([new Uint8Array(200_000)]) },
        },
      ]);
      // The enqueue's insert is under way (its transaction opened) when the logout's clear arrives.
      for (let i = 0; i < 5; i++) await Promise.resolve();
      const cleared = f.engine.clear({ discardUnsent: true });
      const [op] = await queued;
      const removed = await cleared;
      const left = (await f.engine.list()).map((o) => o.id);
      expect({ removed, left }, `op ${op!.id} seq ${op!.seq}`).to.deep.equal({ removed: 1, left: [] });
    });
    it('clear({ discardUnsent }) removes an enqueue still waiting for the insert before it, and keeps one made after', async () => {
      f = await engineFixture({ batch: false });
      // The first user's two enqueues: the second waits (no seq yet) while the first one's insert runs.
      const first = f.engine.enqueue([f.create('x1')]);
      const second = f.engine.enqueue([f.create('x9')]);
      // The logout, then the next user's first enqueue, all before any of them is stored.
      const cleared = f.engine.clear({ discardUnsent: true });
      const next = f.engine.enqueue([f.create('y1')]);
      const [[x1], [x9], removed, [y1]] = await Promise.all([first, second, cleared, next]);
      expect(removed, `x1 seq ${x1!.seq}, x9 seq ${x9!.seq}, y1 seq ${y1!.seq}`).to.equal(2);
      await eventually(async () => (await f.engine.count()) === 0, 10_000, 'y1 sent');
      await new Promise((r) => setTimeout(r, 300));
      expect((await serverItems(f.collection)).map((i) => i.id)).to.deep.equal(['y1']);
    });

    it('sends an operation waiting out a backoff once the clock went back past the start of its wait', async () => {
      f = await engineFixture({ batch: false, backoffBaseMs: 1_000, backoffCapMs: 4_000 });
      await addFault({ pathPrefix: f.path, methods: ['POST'], status: 503, times: 1 });
      const [op] = await f.engine.enqueue([f.create('a')]);
      await f.until(op!.id, (o) => o.attempts === 1 && o.status === OperationStatus.Pending);
      // Its wait ends a second on in the old time: an hour on, in the new.
      f.clock.advance(-3_600_000);
      f.engine.resume();
      await f.until(op!.id, null, 'sent');
    });

    it('marks only the operation whose request is out as sending, and honours a discard up to the moment a request leaves', async () => {
      // One request per operation here (a batch would carry both): test/batch.test.ts covers batches.
      f = await engineFixture({ batch: false });
      await addFault({ pathPrefix: f.path, latencyMs: 600, times: 1 });
      const [x1, x2] = await f.engine.enqueue([f.create('x1'), f.create('x2')]);
      await eventually(async () => (await f.engine.list())[0]?.status === OperationStatus.Sending, 5_000, 'x1 out');
      const [first, second] = await f.engine.list();
      expect([first!.id, first!.status]).to.deep.equal([x1!.id, 'sending']);
      expect([second!.id, second!.status, second!.attempts]).to.deep.equal([x2!.id, 'pending', 0]);
      expect(f.engine.counts).to.deep.include({ sending: 1, pending: 1 });
      // A retry of the op in flight changes nothing; a discard of the next one is honoured.
      expect((await f.engine.retry(x1!.id)).status).to.equal('sending');
      expect(await f.engine.discard(x2!.id)).to.equal(true);
      await f.until(x1!.id, null);
      await new Promise((r) => setTimeout(r, 200));
      expect((await serverItems(f.collection)).map((i) => i.id)).to.deep.equal(['x1']);
      expect(f.engine.counts).to.deep.equal({ pending: 0, sending: 0, failed: 0, conflict: 0 });
    });

    it('keeps its counts equal to what a fresh count reads, through sends, failures and discards', async () => {
      f = await engineFixture();
      await addFault({ pathPrefix: `${f.path}-bad`, status: 400 });
      const bad = (id: string) => ({
        ...f.create(id),
        lane: 'bad',
        request: { method: 'POST' as const, url: `${API}/${f.collection}-bad`, body: { id } },
      });
      await f.engine.enqueue([f.create('a'), bad('b1'), f.create('c'), bad('b2'), f.create('d')]);
      await eventually(
        async () => (await f.engine.count({ lane: 'default' })) === 0 && f.engine.counts.failed === 1,
        10_000,
        'settled',
      );
      const fresh = async () => ({
        pending: await f.engine.count({ status: 'pending' }),
        failed: await f.engine.count({ status: 'failed' }),
        total: await f.engine.count(),
      });
      const counts = f.engine.counts;
      expect(await fresh()).to.deep.equal({
        pending: counts.pending,
        failed: counts.failed,
        total: counts.pending + counts.sending + counts.failed + counts.conflict,
      });
      await f.engine.discard((await f.engine.list({ status: 'failed' }))[0]!.id);
      await eventually(() => f.engine.counts.failed === 1, 5_000, 'b2 failed too');
      expect((await fresh()).total).to.equal(1);
      await clearFaults(`${f.path}-bad`);
    });

    it('removes from the store only the done operations of each lane, whatever lanes lie between', async () => {
      // Successes leave as one key range per lane ([lane, seq]): lane b, stopped at a failure, lies between a and
      // c, and a4 waits behind a failure in its own lane, past a's last success.
      f = await engineFixture({ batch: false, laneConcurrency: 3 });
      await addFault({ pathPrefix: `${f.path}-bad`, status: 400 });
      const op = (id: string, lane: string, fails = false) => ({
        ...f.create(id),
        lane,
        ...(fails ? { request: { method: 'POST' as const, url: `${API}/${f.collection}-bad`, body: { id } } } : {}),
      });
      await f.engine.enqueue([
        op('a1', 'a'),
        op('b1', 'b', true),
        op('c1', 'c'),
        op('a2', 'a'),
        op('b2', 'b'),
        op('c2', 'c'),
        op('a3', 'a', true),
        op('b3', 'b'),
        op('c3', 'c'),
        op('a4', 'a'),
        op('c4', 'c'),
      ]);
      const stored = async () =>
        (await f.db.getAll('operations')).map((row) => [(row.request.body as { id: string }).id, row.status]);
      const left = [
        ['a3', OperationStatus.Failed],
        ['a4', OperationStatus.Pending],
        ['b1', OperationStatus.Failed],
        ['b2', OperationStatus.Pending],
        ['b3', OperationStatus.Pending],
      ];
      await eventually(async () => JSON.stringify(await stored()) === JSON.stringify(left), 10_000, 'recorded').catch(
        async (error) => {
          expect(await stored()).to.deep.equal(left);
          throw error;
        },
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(await stored()).to.deep.equal(left);
      expect((await serverItems(f.collection)).map((i) => i.id).sort()).to.deep.equal([
        'a1',
        'a2',
        'c1',
        'c2',
        'c3',
        'c4',
      ]);
      expect(f.engine.counts).to.deep.equal({ pending: 3, sending: 0, failed: 2, conflict: 0 });
      await clearFaults(`${f.path}-bad`);
    });

    it('gives a whole-queue window the total of the rows its read saw, while enqueues, successes and discards are being written', async () => {
      // The total comes from the engine's counts, not a count of the store: a list read in the same turn sees
      // the same rows, so the two must agree at every moment of a busy drain.
      f = await engineFixture({ batch: false, laneConcurrency: 4 });
      await addFault({ pathPrefix: f.path, latencyMs: 2 });
      const lanes = ['a', 'b', 'c', 'd'];
      await f.engine.enqueue(ids('x', 200).map((id, i) => f.create(id, { lane: lanes[i % 4] })));
      const writes: Promise<unknown>[] = [];
      for (let round = 0; round < 60; round++) {
        writes.push(f.engine.enqueue(ids(`r${round}-`, 3).map((id) => f.create(id, { lane: lanes[round % 4] }))));
        if (round % 3 === 0) {
          const queued = await f.engine.list({ status: 'pending' });
          const last = queued[queued.length - 1];
          if (last) writes.push(f.engine.discard(last.id));
        }
        const [window, list] = await Promise.all([f.engine.window({}, 0, 20), f.engine.list()]);
        expect(window.total, `round ${round}`).to.equal(list.length);
        expect(window.items.map((op) => op.id)).to.deep.equal(list.slice(0, 20).map((op) => op.id));
      }
      await Promise.all(writes);
      await eventually(async () => (await f.engine.count()) === 0, 20_000, 'drained');
      expect((await f.engine.window()).total).to.equal(0);
    });

    it('shows a read started while an outcome is being written the outcome, once (no stale overlay)', async () => {
      f = await engineFixture({ batch: false });
      await addFault({ pathPrefix: f.path, status: 400 });
      f.engine.setNetwork(false);
      const [a] = await f.engine.enqueue([f.create('a', { lane: 'x' })]);
      // Reads made right after the transaction recording the 400 is created, before it commits: they see its row.
      type Write = (...args: unknown[]) => Promise<unknown>;
      const store = (f.engine as unknown as { store: { write: Write } }).store;
      const write = store.write.bind(store);
      let reads: Promise<[number, string | undefined, string | undefined]> | undefined;
      store.write = (...args: unknown[]) => {
        const pending = write(...args);
        if (!reads && f.engine.counts.sending === 1) {
          const filter = { lane: 'x', kind: 'item.create' };
          reads = Promise.all([
            f.engine.count({ ...filter, status: 'failed' }),
            f.engine.list(filter).then((ops) => ops[0]?.status),
            f.engine.window(filter).then((w) => w.items[0]?.status),
          ]);
        }
        return pending;
      };
      f.engine.setNetwork(true);
      await f.until(a!.id, (op) => op.status === OperationStatus.Failed, 'a failed');
      expect(reads, 'reads made during the write').to.not.equal(undefined);
      expect(await reads).to.deep.equal([1, 'failed', 'failed']);
    });

    it("shows a read that finds an outcome's row before its write reports completion the outcome, not sending", async () => {
      // WebKit may answer a read created after a write committed before that write's `complete` event reaches this
      // thread. Chromium does not, so the event is held here: listeners for a transaction's `complete` run 200 ms
      // late, and a read is made the moment the write has really committed.
      f = await engineFixture({ batch: false });
      await addFault({ pathPrefix: f.path, status: 400 });
      f.engine.setNetwork(false);
      const [a] = await f.engine.enqueue([f.create('a', { lane: 'x' })]);
      const add = IDBTransaction.prototype.addEventListener;
      let read: Promise<(string | undefined)[]> | undefined;
      IDBTransaction.prototype.addEventListener = function (
        this: IDBTransaction,
        ...args: Parameters<IDBTransaction['addEventListener']>
      ) {
        const [type, listener] = args;
        if (type !== 'complete' || this.mode !== 'readwrite' || typeof listener !== 'function')
          return add.apply(this, args);
        return add.call(this, type, (event: Event) => {
          // The outcome's write (the operations store) while the request is shown out; not a meta write beside it.
          if (!read && f.engine.counts.sending === 1 && this.objectStoreNames.contains('operations'))
            read = Promise.all([
              f.engine.list().then((ops) => ops[0]?.status),
              f.engine.window().then((w) => w.items[0]?.status),
            ]);
          setTimeout(() => listener.call(this, event), 200);
        });
      } as typeof add;
      try {
        f.engine.setNetwork(true);
        await f.until(a!.id, (op) => op.status === OperationStatus.Failed, 'a failed');
      } finally {
        IDBTransaction.prototype.addEventListener = add;
      }
      expect(read, 'a read made as the outcome committed').to.not.equal(undefined);
      expect(await read).to.deep.equal(['failed', 'failed']);
    });

    it("sends an operation queued again under the id of one discarded earlier in the engine's life, and not one done", async () => {
      f = await engineFixture({ batch: false });
      f.engine.setNetwork(false);
      const [x] = await f.engine.enqueue([f.create('a')]);
      expect(await f.engine.discard(x!.id)).to.equal(true);
      // The same id, a new operation: it is queued and sent, not mistaken for the one discarded.
      await f.engine.enqueue([{ ...f.create('b'), id: x!.id }]);
      f.engine.setNetwork(true);
      await f.until(x!.id, null, 'b sent');
      expect((await serverItems(f.collection)).map((i) => i.id)).to.deep.equal(['b']);
      // An id already done: queueing it again answers from its record, and sends nothing.
      const [y] = await f.engine.enqueue([f.create('c')]);
      await f.until(y!.id, null, 'c sent');
      await f.engine.enqueue([{ ...f.create('c'), id: y!.id }]);
      expect(await f.engine.count()).to.equal(0);
      expect((await serverItems(f.collection)).map((i) => [i.id, i.version])).to.deep.equal([
        ['b', 1],
        ['c', 1],
      ]);
    });

    it('keeps call order when a Blob body is stored as bytes after the browser refused the Blob', async () => {
      f = await engineFixture({ batch: false });
      f.engine.setNetwork(false);
      // The first write fails as WebKit's does in an ephemeral session: the Blob is stored again as bytes.
      const failing = failWrites('operations', 1);
      try {
        const upload = f.engine.enqueue([
          {
            ...f.create('a'),
            lane: 'doc',
            request: { method: 'PUT', url: `${API}/${f.collection}/a`, body: new Blob(['x']) },
          },
        ]);
        const edit = f.engine.enqueue([{ ...f.create('b'), lane: 'doc' }]);
        const [[a], [b]] = await Promise.all([upload, edit]);
        expect(failing.left()).to.equal(0);
        expect(a!.seq, 'the upload, called first, goes first').to.be.lessThan(b!.seq);
      } finally {
        failing.restore();
      }
    });

    /** A fetch that, once its first POST is answered, has the next write of the queue refused as by a full disk. */
    function fullDiskAfterFirstPost(): { fetch: typeof fetch; restore(): void } {
      let failing: { restore(): void } | null = null;
      return {
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          if (!failing && init?.method === 'POST') failing = failWrites('operations', 1, 'QuotaExceededError');
          return response;
        },
        restore: () => failing?.restore(),
      };
    }

    it('retries with retryAll() a failure a full disk kept from being written', async () => {
      const disk = fullDiskAfterFirstPost();
      f = await engineFixture({ batch: false }, { fetch: disk.fetch });
      try {
        await addFault({ pathPrefix: f.path, methods: ['POST'], status: 400, times: 1 });
        const [op] = await f.engine.enqueue([f.create('a')]);
        await f.until(op!.id, (o) => o.status === OperationStatus.Failed);
        expect(f.engine.status.storage).to.equal('quota-exceeded');
        expect((await f.db.getFromIndex('operations', 'id', op!.id))?.status, 'stored').to.equal(
          OperationStatus.Pending,
        );
        expect(f.engine.counts.failed).to.equal(1);
        // Space is back: the user retries what the outbox shows as failed.
        expect(await f.engine.retryAll()).to.equal(1);
        await f.until(op!.id, null, 'sent');
        expect(f.engine.counts.failed).to.equal(0);
        expect((await serverItems(f.collection)).map((i) => i.id)).to.deep.equal(['a']);
      } finally {
        disk.restore();
      }
    });

    it('keeps its seq counter through successes a full disk let it record only as deletes', async () => {
      f = await engineFixture({ batch: false });
      // Room for the deletes, none for the answers: the successes are recorded lean (the rows removed, no answers).
      const full = failWrites('results', Infinity, 'QuotaExceededError');
      let last: Operation | undefined;
      try {
        for (const id of ['a', 'b', 'c']) [last] = await f.engine.enqueue([f.create(id)]);
        await eventually(async () => (await f.db.count('operations')) === 0, 10_000, 'recorded as deletes');
      } finally {
        full.restore();
      }
      // A new engine (every tab was closed): nothing left in the queue to read the highest seq from.
      await f.reopen();
      const [next] = await f.engine.enqueue([f.create('d')]);
      expect(next!.seq, 'no seq handed out twice').to.be.greaterThan(last!.seq);
    });

    it('stops sending while successes it cannot record pile up, and drains the rest once a record goes through', async () => {
      f = await engineFixture({ batch: false }, { maxUnrecorded: 3 });
      // Not a full disk (that one records deletes only): every record fails until restored.
      const failing = failWrites('results', Infinity, 'UnknownError');
      try {
        await f.engine.enqueue(['a', 'b', 'c', 'd', 'e', 'f'].map((id) => f.create(id)));
        await eventually(async () => (await requestCount(f.path)) === 3, 10_000, 'three sent');
        await new Promise((r) => setTimeout(r, 300));
        expect(await requestCount(f.path), 'held at three unrecorded').to.equal(3);
      } finally {
        failing.restore();
      }
      // The record is tried again a second later: it goes through, and the held lane goes on.
      f.clock.advance(1_000);
      await eventually(async () => (await f.engine.count()) === 0, 10_000, 'drained');
      expect(await requestCount(f.path), 'each sent once').to.equal(6);
      expect((await serverItems(f.collection)).map((i) => i.id)).to.deep.equal(['a', 'b', 'c', 'd', 'e', 'f']);
    });

    it('cuts short with syncNow() a backoff a full disk kept from being written', async () => {
      const disk = fullDiskAfterFirstPost();
      f = await engineFixture({ batch: false, backoffBaseMs: 60_000 }, { fetch: disk.fetch });
      try {
        await addFault({ pathPrefix: f.path, methods: ['POST'], status: 503, times: 1 });
        const [op] = await f.engine.enqueue([f.create('a')]);
        const waiting = await f.until(op!.id, (o) => o.attempts === 1 && o.status === OperationStatus.Pending);
        expect(waiting!.nextAttemptAt).to.be.greaterThan(f.clock.now());
        expect(f.engine.status.storage).to.equal('quota-exceeded');
        expect((await f.db.getFromIndex('operations', 'id', op!.id))?.nextAttemptAt, 'stored').to.equal(0);
        // It waits: the backoff it was shown holds, written or not.
        await new Promise((r) => setTimeout(r, 1_000));
        expect((await f.engine.list()).map((o) => o.status)).to.deep.equal([OperationStatus.Pending]);
        await f.engine.syncNow();
        await f.until(op!.id, null, 'sent');
      } finally {
        disk.restore();
      }
    });

    it('aborts on close the requests still waiting in the browser, so a deleted database sends nothing after', async () => {
      const signals: AbortSignal[] = [];
      f = await engineFixture(
        { batch: false },
        {
          // A request that waits in the browser (a full connection pool) and leaves only if not aborted by then.
          fetch: (input, init) => {
            if (init?.method !== 'POST') return fetch(input, init);
            signals.push(init.signal!);
            return new Promise((resolve, reject) =>
              setTimeout(
                () =>
                  init.signal!.aborted
                    ? reject(new DOMException('aborted', 'AbortError'))
                    : resolve(fetch(input, init)),
                300,
              ),
            );
          },
        },
      );
      await f.engine.enqueue([f.create('x')]);
      await eventually(() => signals.length === 1, 5_000, 'the request asked for');
      f.engine.close();
      expect(signals[0]!.aborted).to.equal(true);
      await new Promise((r) => setTimeout(r, 500));
      expect(await serverItems(f.collection)).to.deep.equal([]);
    });

    it('takes an operation delivered but not yet recorded as done: no discard, no clear refusal', async () => {
      f = await engineFixture({ batch: false });
      const outcomes: string[] = [];
      f.engine.completions$.subscribe((c) => outcomes.push(`${c.id}:${'discarded' in c ? 'discarded' : 'done'}`));
      let seen = delivered(f);
      const [x] = await f.engine.enqueue([f.create('a')]);
      await seen;
      expect(await f.engine.discard(x!.id), 'discard of a delivered operation').to.equal(false);
      await f.until(x!.id, null, 'a recorded');
      expect(outcomes).to.deep.equal([`${x!.id}:done`]);
      await f.engine.clear(); // lastSyncAt back to null, for the next delivery to be seen
      seen = delivered(f);
      const [y] = await f.engine.enqueue([f.create('b')]);
      await seen;
      await holdRecord();
      expect(await f.engine.clear(), 'cleared, nothing unsent').to.equal(1);
      // The record written after the clear removes nothing more, and brings back no result, no lastSyncAt and no
      // completion of its own: the clear ended the operation (as a discard, for a settled() waiting on it).
      f.clock.advance(1_000);
      const engine = f.engine as unknown as { recording: Promise<void> | null };
      await eventually(() => engine.recording === null, 5_000, 'b recorded');
      expect(outcomes).to.deep.equal([`${x!.id}:done`, `${y!.id}:discarded`]);
      expect(await keptResult(f.db, y!.id)).to.equal(undefined);
      expect(await f.db.get('meta', 'lastSyncAt')).to.equal(undefined);
      expect(f.engine.counts).to.deep.equal({ pending: 0, sending: 0, failed: 0, conflict: 0 });
    });

    /** Makes the next record of successes fail, so it is tried again only once the (virtual) clock moves 1 s. */
    async function holdRecord(): Promise<void> {
      const failing = failWrites('results', 1);
      try {
        await eventually(() => failing.left() === 0, 5_000, 'the record tried');
      } finally {
        failing.restore();
      }
    }

    it('keeps the answer of a request that lands after its operation was discarded; not after a clear, nor under an id queued again', async () => {
      f = await engineFixture({ batch: false });
      await addFault({ pathPrefix: f.path, latencyMs: 400 });
      const completions: string[] = [];
      // Each discard here is of an operation whose request is out: the server may apply it all the same.
      f.engine.completions$.subscribe((c) =>
        completions.push(`${c.id}:${'discarded' in c ? `discarded${c.requestOut ? ' (out)' : ''}` : 'done'}`),
      );
      const engine = f.engine as unknown as { recording: Promise<void> | null };
      const landed = async (id: string) => {
        await eventually(async () => (await serverItems(f.collection)).some((i) => i.id === id), 5_000, `${id} landed`);
        await new Promise((r) => setTimeout(r, 100));
        await eventually(() => engine.recording === null, 5_000, `${id} recorded`);
      };
      const out = () => eventually(() => f.engine.counts.sending === 1, 5_000, 'request out');

      const [x] = await f.engine.enqueue([f.create('x')]);
      await out();
      expect(await f.engine.discard(x!.id)).to.equal(true);
      await landed('x');
      expect((await f.engine.result(x!.id))?.status, 'kept for settled()').to.equal(201);
      expect(completions).to.deep.equal([`${x!.id}:discarded (out)`, `${x!.id}:done`]);

      const [z] = await f.engine.enqueue([f.create('z')]);
      await out();
      expect(await f.engine.clear({ discardUnsent: true })).to.equal(1);
      await landed('z');
      expect(await f.engine.result(z!.id), 'the clear removed the answers').to.equal(undefined);

      const [w] = await f.engine.enqueue([f.create('w')]);
      await out();
      expect(await f.engine.discard(w!.id)).to.equal(true);
      f.engine.setNetwork(false);
      const [again] = await f.engine.enqueue([{ ...f.create('w2'), id: w!.id }]);
      // While the old request is still out, the id names the new operation: a retry is of it, not of that flight.
      const flights = (f.engine as unknown as { inFlight: Map<string, Operation> }).inFlight;
      expect(flights.get(w!.id)?.seq, 'the old request is still out').to.equal(w!.seq);
      expect((await f.engine.retry(w!.id)).seq).to.equal(again!.seq);
      await landed('w');
      expect(await f.engine.result(w!.id), 'the id is a new operation now').to.equal(undefined);
      // The clear ended z (its request out), and its answer landing after is not told.
      expect(completions.filter((c) => c.startsWith(z!.id) || c.startsWith(w!.id))).to.deep.equal([
        `${z!.id}:discarded (out)`,
        `${w!.id}:discarded (out)`,
      ]);
      expect((await f.engine.list()).map((op) => op.seq)).to.deep.equal([again!.seq]);
      // The old delivery's answer does not make the new operation under its id look gone: it is sent (and refused,
      // as a different request under a key the server has seen).
      f.engine.setNetwork(true);
      const sent = await f.until(again!.id, (op) => op.attempts === 1, 'the operation queued again is sent');
      expect(sent!.lastError).to.include({ kind: 'http', status: 422 });
    });

    it('records a delivery a clear removed as nothing, and the same id queued and delivered again once, under a new seq', async () => {
      f = await engineFixture({ batch: false });
      const completions: string[] = [];
      f.engine.completions$.subscribe((c) =>
        completions.push(`${c.id}:${'discarded' in c ? `discarded${c.requestOut ? ', out' : ''}` : c.result.status}`),
      );
      const seen = delivered(f);
      const [y] = await f.engine.enqueue([f.create('b')]);
      await seen;
      await holdRecord();
      expect(await f.engine.clear(), 'the delivered one cleared, nothing unsent').to.equal(1);
      // The same id, queued again (the same request, so the server replays its answer), sent and done while the
      // first record still waits: a new operation, with a seq never handed out before.
      const [again] = await f.engine.enqueue([{ ...f.create('b'), id: y!.id }]);
      expect(again!.seq).to.be.greaterThan(y!.seq);
      await eventually(() => f.engine.status.lastSyncAt !== null, 5_000, 'sent again');
      f.clock.advance(1_000);
      await eventually(async () => (await f.engine.list()).length === 0, 5_000, 'both recorded');
      expect(f.engine.counts, 'one row, one removal').to.deep.equal({ pending: 0, sending: 0, failed: 0, conflict: 0 });
      expect((await f.engine.window()).total).to.equal(0);
      // The cleared delivery's result is not written back, nor told as a result: the clear ends it as a discard of
      // a request that was out (a settled() waiting on it ends), and the one result kept is the new operation's.
      expect((await keptResult(f.db, y!.id))?.seq).to.equal(again!.seq);
      expect(completions).to.deep.equal([`${y!.id}:discarded, out`, `${y!.id}:201`]);
    });

    /**
     * Reopens the fixture's engine as the app's next release would, allowing only the endpoint's origin (the first
     * engine also allowed https://elsewhere.example); returns every URL the new engine asks fetch for.
     */
    async function reopenAllowingOnlyTheEndpoint(): Promise<string[]> {
      const { resolveConfig } = await import('../src/index.ts');
      const config = resolveConfig({
        endpoint: API,
        namespace: f.namespace,
        healthUrl: `${API}/health/${f.collection}`,
      });
      const requested: string[] = [];
      f.engine = await SyncEngine.open({
        config,
        db: await openSynclineDB(f.namespace),
        fetch: (input, init) => {
          requested.push(String(input));
          return fetch(input, init);
        },
      });
      return requested;
    }

    it('never sends an operation whose origin is no longer allowed: it fails as blocked', async () => {
      f = await engineFixture({ allowedOrigins: ['https://elsewhere.example'] });
      f.engine.setNetwork(false);
      const [op] = await f.engine.enqueue([
        { ...f.create('x'), request: { method: 'POST', url: 'https://elsewhere.example/items', body: {} } },
      ]);
      f.engine.close();
      // The app's next release no longer allows that origin.
      const requested = await reopenAllowingOnlyTheEndpoint();
      const failed = () => f.engine.list().then((ops) => ops.find((o) => o.id === op!.id && o.status === 'failed'));
      await eventually(async () => !!(await failed()), 10_000, 'failed');
      expect((await failed())!.lastError).to.include({ kind: 'blocked' });
      expect((await failed())!.lastError!.message).to.contain('https://elsewhere.example');
      expect(requested.filter((url) => url.startsWith('https://elsewhere.example'))).to.deep.equal([]);
    });

    it('never sends a stored collection whose origin is no longer allowed: no pull, its edits fail as blocked', async () => {
      f = await engineFixture({ allowedOrigins: ['https://elsewhere.example'] });
      f.engine.setNetwork(false);
      await f.engine.registerCollection({ name: 'notes', url: 'https://elsewhere.example/notes' });
      await f.engine.entityPut('notes', 'n1', { title: 'private' });
      f.engine.close();
      // The app's next release no longer allows that origin; the collection and its edit are still stored.
      const requested = await reopenAllowingOnlyTheEndpoint();
      const blocked = async () => (await f.engine.dirtyEntities()).find((e) => e.id === 'n1' && e.failed);
      await eventually(async () => !!(await blocked()), 10_000, 'the edit failed as blocked');
      expect((await blocked())!.lastError).to.include({ kind: 'blocked' });
      await f.engine.syncNow();
      await eventually(
        () => f.engine.status.engineError?.message.includes('https://elsewhere.example') === true,
        10_000,
        'the pull refused',
      );
      expect(requested.filter((url) => url.startsWith('https://elsewhere.example'))).to.deep.equal([]);
      expect((await f.engine.entities('notes')).map((e) => e.data)).to.deep.equal([{ title: 'private' }]);
    });

    it('refuses a malformed id with a typed error, never a raw DOMException', async () => {
      f = await engineFixture();
      for (const call of [
        () => f.engine.retry({} as never),
        () => f.engine.discard(42 as never),
        () => f.engine.retry(''),
      ]) {
        const error = await call().catch((e) => e);
        expect(error).to.be.instanceOf(SynclineError);
        expect((error as SynclineError).code).to.equal('invalid-operation');
      }
    });

    it('turns a database closed under it into typed storage errors and says so in its status', async () => {
      const namespace = uniqueName('closed');
      const db = await openSynclineDB(namespace);
      const config = (await import('../src/index.ts')).resolveConfig({ endpoint: API, namespace });
      const engine = await SyncEngine.open({ config, db });
      f = {
        path: '/api/none',
        collection: 'none',
        dispose: async () => {
          engine.close();
          await deleteSynclineDB(namespace);
        },
      } as EngineFixture;
      db.close();
      const error = await engine
        .enqueue([{ kind: 'x', label: 'x', request: { method: 'POST', url: `${API}/x` } }])
        .catch((e) => e);
      expect(error).to.be.instanceOf(SynclineError);
      expect((error as SynclineError).code).to.equal('storage');
      expect(engine.status.storage).to.equal('error');
      const listError = await engine.list().catch((e) => e);
      expect((listError as SynclineError).code).to.equal('storage');
      // What goes wrong inside the engine itself is in its status, not only in a worker's console.
      engine.resume();
      await eventually(() => engine.status.engineError !== null, 5_000, 'engine error in status');
      expect(engine.status.engineError!.message).to.contain('lanes');
    });

    it('refuses a health URL off the allowed origins (the probe carries credentials too)', async () => {
      f = await engineFixture();
      const { resolveConfig } = await import('../src/index.ts');
      expect(() =>
        resolveConfig({ endpoint: API, namespace: 'x', healthUrl: 'https://elsewhere.example/health' }),
      ).to.throw(SynclineError, /healthUrl/);
      expect(
        resolveConfig({
          endpoint: API,
          namespace: 'x',
          healthUrl: 'https://elsewhere.example/health',
          allowedOrigins: ['https://elsewhere.example'],
        }).healthUrl,
      ).to.equal('https://elsewhere.example/health');
    });
  });

  describe('connectivity', () => {
    it('goes offline on a network error, probes, and drains at once when the server is back', async () => {
      f = await engineFixture({ backoffBaseMs: 60_000, probeIntervalMs: 5000 });
      const health = `/api/health/${f.collection}`;
      await addFault({ pathPrefix: f.path, offline: true });
      await addFault({ pathPrefix: health, offline: true });
      const [op] = await f.engine.enqueue([f.create('x')]);
      const waiting = await f.until(op!.id, (o) => o.lastError?.kind === 'network');
      expect(waiting!.strikes).to.equal(0);
      expect(waiting!.nextAttemptAt).to.be.greaterThan(f.clock.now() + 5000);
      expect(f.engine.status.connectivity).to.equal(Connectivity.Offline);
      // Still offline: the probe fails and nothing is sent (the browser may itself resend once on a cut connection).
      const sentBefore = await requestCount(f.path);
      f.clock.advance(5000);
      await eventually(async () => (await requestCount(health)) >= 1, 5_000, 'first probe');
      expect(await requestCount(f.path)).to.equal(sentBefore);
      await clearFaults(f.path);
      await clearFaults(health);
      f.clock.advance(5000);
      // Back: sent long before its 60 s backoff ran out.
      await f.until(op!.id, null, 'drained on reconnect');
      expect(f.engine.status.connectivity).to.equal(Connectivity.Online);
    });

    it('treats a tab offline event as offline and an online event as a reason to probe', async () => {
      f = await engineFixture();
      f.engine.setNetwork(false);
      expect(f.engine.status.connectivity).to.equal(Connectivity.Offline);
      const [op] = await f.engine.enqueue([f.create('x')]);
      expect(await requestCount(f.path)).to.equal(0);
      f.engine.setNetwork(true);
      await f.until(op!.id, null);
      expect(f.engine.status.connectivity).to.equal(Connectivity.Online);
    });

    it('looks at its lanes again when the read that should wake them after an outage fails', async () => {
      f = await engineFixture({ probeIntervalMs: 5000 });
      const health = `/api/health/${f.collection}`;
      await addFault({ pathPrefix: f.path, offline: true });
      await addFault({ pathPrefix: health, offline: true });
      const [op] = await f.engine.enqueue([f.create('x')]);
      // Stopped by the outage while it ran, the lane has no timer: the look at every lane on the way back is all
      // that wakes it.
      await f.until(op!.id, (o) => o.lastError?.kind === 'network');
      expect(f.engine.status.connectivity).to.equal(Connectivity.Offline);
      await clearFaults(f.path);
      await clearFaults(health);
      const sent = await requestCount(f.path);
      const failing = failReads('operations', 1);
      try {
        f.clock.advance(5000);
        await eventually(() => failing.left() === 0, 5_000, 'the look at the lanes fails');
      } finally {
        failing.restore();
      }
      expect(f.engine.status.connectivity).to.equal(Connectivity.Online);
      await new Promise((r) => setTimeout(r, 300));
      expect(await requestCount(f.path)).to.equal(sent);
      f.clock.advance(1_000);
      await f.until(op!.id, null, 'sent once the lanes were read again');
    });
  });

  describe('bad input', () => {
    it('refuses each bad operation with a typed error and leaves the queue as it was', async () => {
      f = await engineFixture();
      // Offline, so the kept operation stays exactly as stored while the bad ones are tried.
      f.engine.setNetwork(false);
      const [kept] = await f.engine.enqueue([f.create('kept')]);
      const before = await f.engine.list();
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const cases: [string, unknown, string][] = [
        ['not an object', 42, 'invalid-operation'],
        ['missing url', { kind: 'k', label: 'l', request: { method: 'POST' } }, 'invalid-operation'],
        [
          'unknown method',
          { kind: 'k', label: 'l', request: { method: 'BREW', url: `${API}/x` } },
          'invalid-operation',
        ],
        [
          'function in body',
          { kind: 'k', label: 'l', request: { method: 'POST', url: `${API}/x`, body: { f: () => 1 } } },
          'invalid-operation',
        ],
        [
          'cyclic body',
          { kind: 'k', label: 'l', request: { method: 'POST', url: `${API}/x`, body: cyclic } },
          'invalid-operation',
        ],
        [
          'credential header',
          {
            kind: 'k',
            label: 'l',
            request: { method: 'POST', url: `${API}/x`, headers: { Authorization: 'Bearer t' } },
          },
          'invalid-operation',
        ],
        [
          'foreign origin',
          { kind: 'k', label: 'l', request: { method: 'POST', url: 'https://evil.example/x' } },
          'invalid-operation',
        ],
        [
          'too large',
          { kind: 'k', label: 'l', request: { method: 'POST', url: `${API}/x`, body: 'x'.repeat(1024 * 1024 + 1) } },
          'payload-too-large',
        ],
        [
          'too large a Blob',
          {
            kind: 'k',
            label: 'l',
            request: { method: 'POST', url: `${API}/x`, body: new Blob([new Uint8Array(1024 * 1024 + 1)]) },
          },
          'payload-too-large',
        ],
        // What the browser itself would refuse to send: refused now, not retried forever with no strike.
        [
          'GET with a body',
          { kind: 'k', label: 'l', request: { method: 'GET', url: `${API}/x`, body: { a: 1 } } },
          'invalid-operation',
        ],
        [
          'HEAD with a body',
          { kind: 'k', label: 'l', request: { method: 'HEAD', url: `${API}/x`, body: 'x' } },
          'invalid-operation',
        ],
        [
          'CR/LF in a header value',
          {
            kind: 'k',
            label: 'l',
            request: { method: 'POST', url: `${API}/x`, headers: { 'X-Note': 'a\r\nX-Evil: 1' } },
          },
          'invalid-operation',
        ],
        [
          'CR/LF in a header name',
          { kind: 'k', label: 'l', request: { method: 'POST', url: `${API}/x`, headers: { 'X-No\r\nte': 'a' } } },
          'invalid-operation',
        ],
        [
          'header value above U+00FF',
          {
            kind: 'k',
            label: 'l',
            request: { method: 'POST', url: `${API}/x`, headers: { 'X-Title': 'Straße → 東京' } },
          },
          'invalid-operation',
        ],
        [
          'a password in the URL',
          { kind: 'k', label: 'l', request: { method: 'POST', url: `${API.replace('://', '://user:secret@')}/x` } },
          'invalid-operation',
        ],
        [
          'a header the browser owns',
          { kind: 'k', label: 'l', request: { method: 'POST', url: `${API}/x`, headers: { 'Content-Length': '3' } } },
          'invalid-operation',
        ],
        [
          'its own Idempotency-Key',
          {
            kind: 'k',
            label: 'l',
            request: { method: 'POST', url: `${API}/x`, headers: { 'Idempotency-Key': '"k"' } },
          },
          'invalid-operation',
        ],
        [
          'a Symbol in the body',
          { kind: 'k', label: 'l', request: { method: 'POST', url: `${API}/x`, body: { s: Symbol('x') } } },
          'invalid-operation',
        ],
        [
          'a DOM node in the body',
          {
            kind: 'k',
            label: 'l',
            request: { method: 'POST', url: `${API}/x`, body: { node: document.createElement('p') } },
          },
          'invalid-operation',
        ],
      ];
      for (const [name, input, code] of cases) {
        let error: unknown;
        try {
          // A good operation beside the bad one: the batch is refused whole.
          await f.engine.enqueue([f.create('good'), input]);
        } catch (e) {
          error = e;
        }
        expect(error, name).to.be.instanceOf(SynclineError);
        expect((error as SynclineError).code, name).to.equal(code);
      }
      expect(await f.engine.list()).to.deep.equal(before);
      expect(before[0]!.id).to.equal(kept!.id);
    });

    /** A live query's events until `settle` says it has answered (or 2 s pass). */
    async function liveEvents(query: LiveQuery, settle: (events: LiveEvent[]) => boolean): Promise<LiveEvent[]> {
      const events: LiveEvent[] = [];
      const sub = subscribeLive(f.engine, query, (event) => events.push(event));
      try {
        await eventually(() => settle(events), 2_000, `an answer to ${JSON.stringify(query)}`).catch(() => {});
        return events;
      } finally {
        sub.unsubscribe();
      }
    }

    it('refuses a bad filter or range with invalid-operation, in calls and in live queries, and nothing changes', async () => {
      f = await engineFixture();
      f.engine.setNetwork(false);
      await f.engine.enqueue([f.create('a'), f.create('b')]);
      const before = await f.engine.list();
      const filters: [string, unknown][] = [
        ['inherited status name', { status: 'constructor' }],
        ['__proto__ status', { status: ['pending', '__proto__'] }],
        ['toString status', { status: 'toString' }],
        ['null entity', { entity: null }],
        ['entity without id', { entity: { type: 't' } }],
        ['object lane', { lane: {} }],
        ['number kind', { kind: 7 }],
        ['null filter', null],
      ];
      const refused = async (name: string, call: () => Promise<unknown>) => {
        const error = await call().then(
          () => null,
          (e: unknown) => e,
        );
        expect(error, name).to.be.instanceOf(SynclineError);
        expect((error as SynclineError).code, name).to.equal('invalid-operation');
      };
      for (const [name, filter] of filters) {
        const bad = filter as OperationFilter;
        await refused(`count: ${name}`, () => f.engine.count(bad));
        await refused(`list: ${name}`, () => f.engine.list(bad));
        await refused(`window: ${name}`, () => f.engine.window(bad, 0, 10));
        await refused(`retryAll: ${name}`, () => f.engine.retryAll(bad));
        for (const query of [
          { topic: 'count', filter: bad },
          { topic: 'ops', filter: bad },
          { topic: 'window', filter: bad, offset: 0, limit: 10 },
        ] as LiveQuery[]) {
          const events = await liveEvents(query, (e) => e.length > 0);
          expect(
            events.map((e) => e.type),
            `${query.topic}: ${name}`,
          ).to.deep.equal(['error']);
          const error = (events[0] as Extract<LiveEvent, { type: 'error' }>).error;
          expect(error.code, `${query.topic}: ${name}`).to.equal('invalid-operation');
        }
      }
      for (const [offset, limit] of [
        [2 ** 32, 10],
        [-1, 10],
        [0.5, 10],
        [0, Number.NaN],
        [0, '10'],
      ] as [number, number][]) {
        await refused(`window range ${offset}, ${limit}`, () =>
          f.engine.window({ kind: 'item.create' }, offset, limit),
        );
        const events = await liveEvents(
          { topic: 'window', filter: { kind: 'item.create' }, offset, limit },
          (e) => e.length > 0,
        );
        expect(
          events.map((e) => e.type),
          `live window range ${offset}, ${limit}`,
        ).to.deep.equal(['error']);
      }
      // A refused query ended: later changes reach no predicate (an entity filter of null threw on every batch).
      await f.engine.enqueue([f.create('c')]);
      expect(f.engine.status.storage).to.equal('ok');
      expect(f.engine.status.engineError).to.equal(null);
      expect((await f.engine.list()).slice(0, 2)).to.deep.equal(before);
      expect(f.engine.counts).to.deep.equal({ pending: 3, sending: 0, failed: 0, conflict: 0 });
    });

    it("keeps the browser's verdict on a request's shape: the same refusal every time, and a caller's later change never reaches what was queued", async () => {
      f = await engineFixture();
      f.engine.setNetwork(false);
      const get = { kind: 'k', label: 'l', request: { method: 'GET', url: `${API}/x`, body: { a: 1 } } };
      const crlf = {
        kind: 'k',
        label: 'l',
        request: { method: 'POST', url: `${API}/y`, headers: { 'X-N': 'a\r\nb' } },
      };
      for (let i = 0; i < 3; i++) {
        const error = await f.engine.enqueue([get]).catch((e: unknown) => e);
        expect((error as SynclineError).code, `GET #${i}`).to.equal('invalid-operation');
        expect((error as SynclineError).message).to.contain('The browser cannot send this request');
      }
      // A header the browser would refuse is named, with why (the browser's own message names none).
      const header = (headers: Record<string, string>) => ({ ...crlf, request: { ...crlf.request, headers } });
      for (const [bad, words] of [
        [crlf, 'Header "X-N" holds a line break'],
        [header({ 'X-Nul': 'a\0b' }), 'Header "X-Nul" holds a line break or NUL'],
        [header({ 'X-Name': 'Zoë ✓' }), 'Header "X-Name" holds characters beyond Latin-1'],
        [header({ 'X N': 'a' }), 'Header name "X N" is not an HTTP token'],
      ] as const) {
        const error = await f.engine.enqueue([bad]).catch((e: unknown) => e);
        expect((error as SynclineError).code, words).to.equal('invalid-operation');
        expect((error as SynclineError).message).to.contain(words);
      }
      expect(await f.engine.count(), 'nothing refused was stored').to.equal(0);
      // The same shapes without what made them unsendable, on other URLs: accepted.
      const input = f.create('kept', {
        request: { method: 'POST', url: `${API}/z`, headers: { 'X-N': 'a' }, body: { t: 1 } },
      });
      const [op] = await f.engine.enqueue([input]);
      (input.request.body as { t: number }).t = 2;
      (input.request.headers as Record<string, string>)['X-N'] = 'changed';
      const [stored] = await f.engine.list();
      expect(stored!.id).to.equal(op!.id);
      expect(stored!.request.body).to.deep.equal({ t: 1 });
      expect(stored!.request.headers).to.deep.include({ 'X-N': 'a' });
      expect(
        (await f.engine.enqueue([f.create('get', { request: { method: 'GET', url: `${API}/q` } })])).length,
      ).to.equal(1);
    });

    it('answers hostile arguments to every call with a typed error, and nothing stored changes', async () => {
      f = await engineFixture();
      f.engine.setNetwork(false);
      await f.engine.enqueue([f.create('a'), f.create('b', { lane: 'z' })]);
      const before = await f.engine.list();
      const hostile: unknown[] = [undefined, null, 7, {}, [], '', '__proto__', 'constructor', Object.create(null)];
      // Each call as a tab could send it (any JSON-like arguments): every refusal is a SynclineError with a code a
      // page can act on, never a TypeError or a raw IndexedDB DataError.
      const codes = Object.values(SynclineErrorCode).filter((c) => c !== 'internal') as string[];
      // syncNow and resume take no arguments, and send: they would empty the queue this test watches.
      for (const method of CALL_METHODS.filter((m) => m !== 'syncNow' && m !== 'resume')) {
        for (const a of hostile) {
          for (const b of [undefined, null, {}, 'x']) {
            const args = method === 'window' ? [a, b, 10] : [a, b];
            const call = (f.engine[method] as (...args: unknown[]) => Promise<unknown>).bind(f.engine);
            const error = await Promise.resolve()
              .then(() => call(...args))
              .then(
                () => null,
                (e: unknown) => e,
              );
            const name = `${method}(${JSON.stringify(a) ?? 'undefined'}, ${JSON.stringify(b) ?? 'undefined'})`;
            if (error === null) continue;
            expect(error, name).to.be.instanceOf(SynclineError);
            expect(codes, `${name}: ${(error as Error).message}`).to.include((error as SynclineError).code);
          }
        }
      }
      // A value that only looks like true never discards: clear() refuses it and the queue stays.
      const refused = await f.engine.clear({ discardUnsent: 'false' as unknown as boolean }).catch((e: unknown) => e);
      expect((refused as SynclineError).code).to.equal('invalid-operation');
      expect(await f.engine.list()).to.deep.equal(before);
      expect(f.engine.counts).to.deep.equal({ pending: 2, sending: 0, failed: 0, conflict: 0 });
    });

    it('ends a replica or result live query whose read fails with a typed error, never without a word', async () => {
      f = await engineFixture();
      f.engine.setNetwork(false);
      await f.engine.registerCollection({ name: 'notes', url: `${API}/${f.collection}` });
      // The database goes away under the engine: every read now fails with IndexedDB's InvalidStateError.
      f.db.close();
      for (const query of [
        { topic: 'entities', collection: 'notes' },
        { topic: 'conflicts' },
        { topic: 'dirty' },
        { topic: 'result', id: 'some-operation' },
      ] as LiveQuery[]) {
        const events = await liveEvents(query, (e) => e.length > 0);
        expect(
          events.map((e) => e.type),
          query.topic,
        ).to.deep.equal(['error']);
        const { error } = events[0] as Extract<LiveEvent, { type: 'error' }>;
        expect(error.code, query.topic).to.equal('storage');
        expect((error.detail as { name: string }).name, query.topic).to.equal('InvalidStateError');
      }
      // A call's failure reaches a tab the same way: typed, with the original kind kept.
      const failed = serializeError(await f.engine.list().catch((e: unknown) => e));
      expect([failed.name, failed.code]).to.deep.equal(['SynclineError', 'storage']);
      expect(serializeError(new TypeError('x is undefined'))).to.deep.equal({
        name: 'SynclineError',
        code: 'internal',
        message: 'x is undefined',
        detail: { name: 'TypeError' },
      });
    });

    it('counts a status named twice once', async () => {
      f = await engineFixture();
      f.engine.setNetwork(false);
      await f.engine.enqueue([f.create('a'), f.create('b'), f.create('c', { lane: 'z' })]);
      const twice = { status: ['pending', 'pending'] } as OperationFilter;
      expect(await f.engine.count(twice)).to.equal(3);
      expect(await f.engine.count({ ...twice, lane: 'z' })).to.equal(1);
      expect((await f.engine.list(twice)).length).to.equal(3);
      expect((await f.engine.window(twice, 0, 10)).total).to.equal(3);
      const value = (events: LiveEvent[]) =>
        (events.at(-1) as Extract<LiveEvent, { type: 'count' }> | undefined)?.value;
      expect(value(await liveEvents({ topic: 'count', filter: twice }, (e) => e.length > 0))).to.equal(3);
      expect(
        value(await liveEvents({ topic: 'count', filter: { ...twice, lane: 'z' } }, (e) => e.length > 0)),
      ).to.equal(1);
    });

    it('answers a filtered window exactly as the filtered list, cut: whatever index or read it takes', async () => {
      f = await engineFixture({ batch: false });
      f.engine.setNetwork(false);
      const inputs = Array.from({ length: 240 }, (_, i) =>
        f.create(`w${i}`, {
          kind: i % 8 === 0 ? 'rare' : 'common',
          lane: i % 3 === 0 ? 'l3' : 'other',
          ...(i % 50 === 0 ? { entity: { type: 'doc', id: String(i % 100) } } : {}),
          // Ids out of seq order: an index on kind or status lists by id, not by seq.
          id: `id-${String(1000 - i).padStart(6, '0')}`,
        }),
      );
      await f.engine.enqueue(inputs);
      // Some failed (stored): statuses as tabs see them decide.
      await addFault({ pathPrefix: `${f.path}`, status: 400, times: 3 });
      f.engine.setNetwork(true);
      await eventually(() => f.engine.counts.failed >= 1, 5_000, 'a failure');
      f.engine.setNetwork(false);
      // A request already out still lands (and its operation changes status): compare only once none is out.
      await eventually(() => f.engine.counts.sending === 0, 5_000, 'no request out');
      const filters: OperationFilter[] = [
        { kind: 'common' },
        { kind: 'rare' },
        { entity: 'doc/0' },
        { entity: { type: 'doc', id: '50' } },
        { status: 'failed' },
        { status: ['pending', 'failed'] },
        { status: 'sending' },
        { kind: 'common', lane: 'l3' },
        { kind: 'rare', status: 'pending' },
        { lane: 'other', status: 'failed' },
        // No filter, or a lane alone: read on the seq or laneSeq index, skipping to the window's first key.
        {},
        { lane: 'l3' },
        { lane: 'nowhere' },
      ];
      for (const filter of filters) {
        for (const [offset, limit] of [
          [0, 10],
          [0, 1000],
          [25, 7],
          [200, 50],
          [5, 0],
          [79, 1],
          [80, 5],
          [239, 10],
          [240, 10],
          [1000, 10],
        ] as [number, number][]) {
          const list = await f.engine.list(filter);
          const window = await f.engine.window(filter, offset, limit);
          expect(window, `${JSON.stringify(filter)} ${offset}+${limit}`).to.deep.equal({
            total: list.length,
            offset,
            items: list.slice(offset, offset + limit),
          });
        }
      }
      await clearFaults(f.path);
    });

    it('reads only about a window of rows for a filtered window at the top of a large queue', async () => {
      f = await engineFixture();
      f.engine.setNetwork(false);
      await f.engine.enqueue(
        Array.from({ length: 600 }, (_, i) => f.create(`r${i}`, { kind: i % 10 === 0 ? 'rare' : 'common' })),
      );
      // Rows handed back by getAll (the engine's reads use it, a cursor's steps would show as well).
      let rows = 0;
      const count = (request: IDBRequest) => {
        request.addEventListener('success', () => {
          const result = request.result as unknown;
          rows += Array.isArray(result) ? result.length : result ? 1 : 0;
        });
        return request;
      };
      const patched = [IDBIndex.prototype, IDBObjectStore.prototype] as unknown as Record<string, unknown>[];
      const originals = patched.map((proto) => ({ getAll: proto.getAll, openCursor: proto.openCursor }));
      for (const proto of patched)
        for (const name of ['getAll', 'openCursor'] as const) {
          const original = proto[name] as (...args: unknown[]) => IDBRequest;
          proto[name] = function (this: unknown, ...args: unknown[]) {
            return count(original.apply(this, args));
          };
        }
      try {
        const read = async (filter: OperationFilter, offset: number, limit: number) => {
          rows = 0;
          const window = await f.engine.window(filter, offset, limit);
          return { rows, window };
        };
        const common = await read({ kind: 'common' }, 0, 20);
        expect(common.window.total).to.equal(540);
        expect(common.window.items.length).to.equal(20);
        expect(common.rows).to.be.below(100);
        const rare = await read({ kind: 'rare' }, 0, 20);
        expect(rare.window.total).to.equal(60);
        expect(rare.rows).to.be.at.most(200);
        // Nothing failed: the failed rows are read, not the queue.
        const failed = await read({ status: 'failed' }, 0, 20);
        expect(failed.window.total).to.equal(0);
        expect(failed.rows).to.equal(0);
      } finally {
        patched.forEach((proto, i) => Object.assign(proto, originals[i]));
      }
    });
  });
});

describe('database schema', () => {
  const request = <T>(r: IDBRequest<T>) =>
    new Promise<T>((resolve, reject) => {
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });

  it('upgrades a version 1 database in place, keeping the queue, rekeyed by lane', async () => {
    const namespace = uniqueName('v1');
    const open = indexedDB.open(`syncline:${namespace}`, 1);
    open.onupgradeneeded = () => {
      const ops = open.result.createObjectStore('operations', { keyPath: 'id' });
      for (const [name, path] of [
        ['status', 'status'],
        ['lane', 'lane'],
        ['laneSeq', ['lane', 'seq']],
        ['entityKey', 'entityKey'],
        ['kind', 'kind'],
      ] as const)
        ops.createIndex(name, path as string | string[]);
      ops.createIndex('seq', 'seq', { unique: true });
      open.result.createObjectStore('meta');
    };
    const v1 = await request(open);
    const tx = v1.transaction(['operations', 'meta'], 'readwrite');
    tx.objectStore('operations').put({
      id: 'old-op-0001',
      seq: 1,
      lane: 'default',
      kind: 'k',
      label: 'From v1',
      request: { method: 'POST', url: `${API}/x` },
      status: 'pending',
      attempts: 0,
      strikes: 0,
      nextAttemptAt: 0,
      createdAt: 1,
      updatedAt: 1,
    });
    // Marked sending by an engine of version 1 or 2, which stored that state: pending once upgraded.
    tx.objectStore('operations').put({
      id: 'old-op-0000',
      seq: 2,
      lane: 'a-lane',
      kind: 'k',
      label: 'Sent by v1',
      request: { method: 'POST', url: `${API}/x` },
      status: 'sending',
      attempts: 1,
      strikes: 0,
      nextAttemptAt: 0,
      createdAt: 2,
      updatedAt: 2,
    });
    tx.objectStore('meta').put(2, 'seq');
    await new Promise((r) => (tx.oncomplete = r));
    v1.close();

    const db = await openSynclineDB(namespace);
    expect(db.version).to.equal(6);
    const store = db.transaction('operations').store;
    expect(store.keyPath).to.deep.equal(['lane', 'seq']);
    expect([...store.indexNames]).to.not.include('lane');
    const config = (await import('../src/index.ts')).resolveConfig({ endpoint: API, namespace });
    const engine = await SyncEngine.open({ config, db });
    engine.setNetwork(false);
    expect((await engine.list()).map((op) => [op.label, op.lane, op.status])).to.deep.equal([
      ['From v1', 'default', OperationStatus.Pending],
      ['Sent by v1', 'a-lane', OperationStatus.Pending],
    ]);
    expect(await engine.lanes()).to.deep.equal(['a-lane', 'default']);
    const [next] = await engine.enqueue([
      { kind: 'k', label: 'From v2', request: { method: 'POST', url: `${API}/x` } },
    ]);
    expect(next!.seq).to.equal(3);
    engine.close();
    await deleteSynclineDB(namespace);
  });

  it('upgrades a version 4 database, moving the answers kept one per row into groups', async () => {
    const namespace = uniqueName('v4');
    const open = indexedDB.open(`syncline:${namespace}`, 4);
    open.onupgradeneeded = () => {
      const db = open.result;
      const ops = db.createObjectStore('operations', { keyPath: 'id' });
      for (const [name, path] of [
        ['status', 'status'],
        ['laneSeq', ['lane', 'seq']],
        ['entityKey', 'entityKey'],
        ['kind', 'kind'],
      ] as const)
        ops.createIndex(name, path as string | string[]);
      ops.createIndex('seq', 'seq', { unique: true });
      db.createObjectStore('meta');
      db.createObjectStore('completed', { keyPath: 'id' }).createIndex('completedAt', 'completedAt');
      db.createObjectStore('entities', { keyPath: ['collection', 'id'] }).createIndex('pushOrder', [
        'collection',
        'pushOrder',
      ]);
      db.createObjectStore('conflicts', { keyPath: 'id' }).createIndex('entity', ['collection', 'entityId']);
      db.createObjectStore('collections', { keyPath: 'name' });
    };
    const v4 = await request(open);
    const tx = v4.transaction(['completed', 'meta'], 'readwrite');
    const now = Date.now();
    // More than one group's worth, so the move writes two groups.
    for (let i = 0; i < 70; i++)
      tx.objectStore('completed').put({
        id: `old-row-${i}`,
        seq: i + 1,
        status: 201,
        body: { n: i },
        completedAt: now - 70 + i,
      });
    tx.objectStore('meta').put(70, 'seq');
    await new Promise((r) => (tx.oncomplete = r));
    v4.close();

    const db = await openSynclineDB(namespace);
    expect(db.version).to.equal(6);
    expect([...db.objectStoreNames]).to.not.include('completed');
    expect((await db.getAll('results')).map((group) => group.ids.length)).to.deep.equal([64, 6]);
    const config = (await import('../src/index.ts')).resolveConfig({ endpoint: API, namespace });
    const engine = await SyncEngine.open({ config, db });
    engine.setNetwork(false);
    expect(await engine.result('old-row-0')).to.deep.include({ status: 201, body: { n: 0 } });
    expect(await engine.result('old-row-69')).to.deep.include({ status: 201, body: { n: 69 } });
    // A call re-sent with an id done before the upgrade is answered from its moved result, not queued again.
    const [again] = await engine.enqueue([
      { id: 'old-row-66', kind: 'k', label: 'Again', request: { method: 'POST', url: `${API}/x` } },
    ]);
    expect(again!.seq).to.equal(67);
    expect(await engine.count()).to.equal(0);
    engine.close();
    await deleteSynclineDB(namespace);
  });

  it('moves any number of queued rows to version 6, giving a row without a lane or seq one after the rest', () => {
    const row = (i: number) => ({ id: `op-${i}`, seq: i + 1, lane: `l${i % 3}`, status: 'pending' }) as Operation;
    // More rows than a spread into one call takes in any engine: the move must not throw after its store is gone.
    const rows = Array.from({ length: 300_000 }, (_, i) => row(i));
    rows.push(
      { ...row(0), id: 'no-seq', seq: undefined as never },
      { ...row(1), id: 'sending', status: 'sending' as never },
    );
    rows.push({ ...row(2), id: 'no-lane', lane: undefined as never });
    const moved = movedRows(rows);
    expect(moved.length).to.equal(rows.length);
    expect(moved[299_999]).to.deep.equal(rows[299_999]);
    expect(moved.slice(300_000).map((op) => [op.id, op.lane, op.seq, op.status])).to.deep.equal([
      ['no-seq', 'l0', 300_001, 'pending'],
      ['sending', 'l1', 2, 'pending'],
      ['no-lane', 'default', 3, 'pending'],
    ]);
  });

  it('answers an id from the last answer recorded for it', () => {
    const row = (id: string, seq: number) => ({ id, seq, status: 200, completedAt: seq });
    const [first, second] = [resultGroups([row('a', 1), row('b', 2), row('a', 3)]), resultGroups([row('a', 9)])];
    expect(latestResult(first!, 'a')?.seq).to.equal(3);
    expect(latestResult([...first!, ...second!], 'a')?.seq).to.equal(9);
    expect(latestResult([...first!, ...second!], 'b')?.seq).to.equal(2);
    expect(latestResult(first!, 'c')).to.equal(undefined);
    expect(resultGroups(Array.from({ length: 129 }, (_, i) => row(`r${i}`, i))).map((g) => g.ids.length)).to.deep.equal(
      [64, 64, 1],
    );
  });

  it('steps aside when a newer version needs to upgrade the database', async () => {
    const namespace = uniqueName('newer');
    const { startEngine } = await import('../src/runtime/start-engine.ts');
    const engine = await startEngine((await import('../src/index.ts')).resolveConfig({ endpoint: API, namespace }));
    const newer = indexedDB.open(`syncline:${namespace}`, 99);
    newer.onblocked = () => {
      throw new Error('the old engine blocked the upgrade');
    };
    const db = await request(newer);
    expect(db.version).to.equal(99);
    let error: unknown;
    try {
      await engine.count();
    } catch (e) {
      error = e;
    }
    expect((error as SynclineError).code).to.equal('closed');
    db.close();
    await deleteSynclineDB(namespace);
  });
});

describe('backoff and Retry-After', () => {
  it('grows exponentially up to the cap, scaled by jitter', () => {
    expect([1, 2, 3, 4, 10].map((n) => backoffDelay(n, 1000, 30_000, () => 1))).to.deep.equal([
      1000, 2000, 4000, 8000, 30_000,
    ]);
    expect(backoffDelay(3, 1000, 30_000, () => 0)).to.equal(0);
    expect(backoffDelay(3, 1000, 30_000, () => 0.25)).to.equal(1000);
  });

  it('reads delta-seconds and HTTP dates, and nothing else (RFC 9110)', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).to.equal(120_000);
    expect(parseRetryAfter('2', now)).to.equal(2_000);
    expect(parseRetryAfter(' 2 ', now)).to.equal(2_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).to.equal(30_000);
    expect(parseRetryAfter('Thursday, 01-Jan-26 00:00:30 GMT', now)).to.equal(30_000);
    // Date.parse would read these as dates in 2001 (no delay at all): they are not Retry-After values.
    for (const bad of ['1.5', '-5', '+3', '2 minutes', 'soon', '', '0x10'])
      expect(parseRetryAfter(bad, now), bad).to.equal(undefined);
    expect(parseRetryAfter(null, now)).to.equal(undefined);
  });

  it('takes Retry-After as the least wait: "0" or a past date never skips the backoff', () => {
    const policy = {
      maxAttempts: 5,
      backoffBaseMs: 1000,
      backoffCapMs: 60_000,
      maxRetryAfterMs: 3_600_000,
      random: () => 0.5,
    };
    const now = Date.parse('2026-01-01T00:00:00Z');
    const op = {
      id: 'a',
      seq: 1,
      kind: 'x',
      label: 'x',
      lane: 'default',
      status: OperationStatus.Sending,
      attempts: 3,
      strikes: 2,
      createdAt: now,
      updatedAt: now,
      nextAttemptAt: 0,
      request: { method: 'POST', url: '/x', headers: {}, body: null },
    } as unknown as Operation;
    const error = { kind: 'http' as const, status: 503, message: 'HTTP 503' };
    const waitFor = (outcome: Parameters<typeof reduceOutcome>[1]) =>
      reduceOutcome(op, outcome, now, policy).next!.nextAttemptAt - now;
    // The third strike: 0.5 × 4 s of backoff.
    expect(waitFor({ type: 'retry', error, strike: true })).to.equal(2_000);
    expect(waitFor({ type: 'retry', error, strike: true, retryAfterMs: parseRetryAfter('0', now) })).to.equal(2_000);
    const past = parseRetryAfter('Wed, 31 Dec 2025 23:58:00 GMT', now);
    expect(waitFor({ type: 'retry', error, strike: true, retryAfterMs: past })).to.equal(2_000);
    expect(waitFor({ type: 'retry', error, strike: true, retryAfterMs: 7_000 })).to.equal(7_000);
    // A key in progress (no strike) is asked about again after a second at the soonest.
    const inProgress = { ...error, status: 409 };
    expect(waitFor({ type: 'retry', error: inProgress, strike: false, retryAfterMs: 0 })).to.equal(1_000);
    expect(waitFor({ type: 'retry', error: inProgress, strike: false, retryAfterMs: 3_000 })).to.equal(3_000);
  });

  it('waits out a Retry-After of "1.5" with backoff, not as an instant retry', async () => {
    const f = await engineFixture({ backoffBaseMs: 10_000 });
    try {
      const url = `${location.origin}/hooks/refuse/${uniqueName('ra')}?status=503&retryAfter=1.5&times=1`;
      const [op] = await f.engine.enqueue([{ kind: 'x', label: 'x', request: { method: 'POST', url, body: {} } }]);
      const waiting = await f.until(op!.id, (o) => o.attempts === 1 && o.status === OperationStatus.Pending);
      // random() is 0.5: half of the 10 s base, not the "no delay" a date in 2001 gave.
      expect(waiting!.nextAttemptAt - waiting!.updatedAt).to.equal(5_000);
      f.clock.advance(5_000);
      await f.until(op!.id, null, 'sent after the backoff');
    } finally {
      await f.dispose();
    }
  });
});

describe("calls before the queue's code has loaded", () => {
  // The queue's commands and drain (queue.ts) load after the engine opens. Each test opens an engine in a frame of
  // its own, so that code loads anew there, and holds the module's request at the server until the calls are made.
  let realm = '';
  const queueModule = () => `/realm/${realm}${new URL('../src/engine/queue.ts', import.meta.url).pathname}`;
  type FrameSyncline = typeof import('../src/testing.ts') & {
    resolveConfig: typeof import('../src/index.ts').resolveConfig;
    subscribeLive: typeof subscribeLive;
  };
  const hook = async (action: 'hold' | 'release' | 'held'): Promise<number> => {
    const response = await fetch(`/hooks/${action}?path=${encodeURIComponent(queueModule())}`, {
      method: action === 'held' ? 'GET' : 'POST',
    });
    return ((await response.json()) as { waiting: number }).waiting;
  };
  let frame: HTMLIFrameElement | null = null;
  let namespace = '';

  /** An engine opened in a new frame while the queue's module is held; the frame's objects build its inputs. */
  async function engineWhileHeld(): Promise<{ engine: SyncEngine; syncline: FrameSyncline; clone<T>(value: T): T }> {
    realm = uniqueName('realm');
    await hook('hold');
    frame = document.createElement('iframe');
    frame.src = `/realm/${realm}/test/fixtures/engine-frame.html`;
    const win = () => frame!.contentWindow as Window & { syncline?: FrameSyncline; JSON: JSON };
    const ready = new Promise<void>((resolve) =>
      frame!.addEventListener('load', () =>
        win().syncline ? resolve() : win().addEventListener('syncline-ready', () => resolve()),
      ),
    );
    document.body.append(frame);
    await ready;
    const syncline = win().syncline!;
    namespace = uniqueName('held');
    const config = syncline.resolveConfig({ endpoint: API, namespace });
    const engine = await syncline.SyncEngine.open({ config, db: await syncline.openSynclineDB(namespace) });
    // The engine started loading the queue's code as it opened: that request is the one held.
    await eventually(async () => (await hook('held')) > 0, 5_000, "the queue's module requested");
    // Inputs made of the frame's own objects, as a tab's arrive in the engine's realm.
    return { engine, syncline, clone: (value) => win().JSON.parse(JSON.stringify(value)) };
  }

  afterEach(async () => {
    await hook('release');
    frame?.remove();
    frame = null;
    if (namespace) await deleteSynclineDB(namespace);
    namespace = '';
  });

  it('runs them in the order they were made once it loads (an enqueue, then a clear, then another enqueue)', async () => {
    const { engine, clone } = await engineWhileHeld();
    try {
      engine.setNetwork(false);
      const create = (id: string) =>
        clone({ id, kind: 'item.create', label: id, request: { method: 'POST', url: `${API}/held`, body: { id } } });
      const first = engine.enqueue([create('op-first')]);
      const cleared = engine.clear({ discardUnsent: true });
      const second = engine.enqueue([create('op-second')]);
      let settled = false;
      void Promise.allSettled([first, cleared, second]).then(() => (settled = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(settled, 'no call answered while the code is held').to.equal(false);
      await hook('release');
      expect((await first).map((op) => op.id)).to.deep.equal(['op-first']);
      // The clear ran after the first enqueue (it removed it) and before the second (which it left queued).
      expect(await cleared).to.equal(1);
      expect((await second).map((op) => op.id)).to.deep.equal(['op-second']);
      expect((await engine.list()).map((op) => op.id)).to.deep.equal(['op-second']);
    } finally {
      engine.close();
    }
  });

  it('fails a waiting call with `closed` when the engine closes before the code has loaded, without waiting for it', async () => {
    const { engine, clone } = await engineWhileHeld();
    const waiting = engine
      .enqueue([clone({ kind: 'x', label: 'x', request: { method: 'POST', url: `${API}/held`, body: {} } })])
      .then(
        () => null,
        (e: SynclineError) => e,
      );
    const counting = engine.count().then(
      () => null,
      (e: SynclineError) => e,
    );
    engine.close();
    // Still held: the calls end on the close, not on the load.
    for (const error of [await waiting, await counting]) {
      expect(error?.code).to.equal(SynclineErrorCode.Closed);
      expect(error?.name).to.equal('SynclineError');
    }
    expect(await hook('held'), "the queue's module still held").to.be.greaterThan(0);
    // A call after the close fails the same way.
    const late = await engine.has('x').then(
      () => null,
      (e: SynclineError) => e,
    );
    expect(late?.code).to.equal(SynclineErrorCode.Closed);
  });

  it('lines a live count up with the calls made before it while the code loads: an operation queued first counts once', async () => {
    const { engine, syncline, clone } = await engineWhileHeld();
    const counts: number[] = [];
    try {
      engine.setNetwork(false);
      const queued = engine.enqueue([
        clone({ kind: 'x', label: 'x', lane: 'counted', request: { method: 'POST', url: `${API}/held`, body: {} } }),
      ]);
      // A count the engine's own counts cannot answer (a lane): a snapshot read, then the changes after it.
      const live = syncline.subscribeLive(engine, clone({ topic: 'count', filter: { lane: 'counted' } }), (event) => {
        if (event.type === 'count') counts.push(event.value);
      });
      await hook('release');
      await queued;
      await eventually(() => counts.length > 0, 5_000, 'the first count');
      await new Promise((r) => setTimeout(r, 300));
      live.unsubscribe();
      expect(counts[counts.length - 1], `counts ${counts.join(', ')}`).to.equal(1);
    } finally {
      engine.close();
    }
  });
});
