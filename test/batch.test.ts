// Batched push: many operations of a lane in one request, each with its own key; partial failures, crashes, fallback.
import { expect } from '@open-wc/testing';
import { OperationStatus, type Operation } from '../src/index.ts';
import { subscribeLive } from '../src/engine/live-queries.ts';
import { engineFixture, type EngineFixture } from './support/engine.ts';
import { API, addFault, clearFaults, eventually, requestCount, serverItems } from './support/server.ts';

/**
 * A fetch that answers the next batch requests itself, with `answers` in turn (a server at fault), and passes
 * every other request, and batches once the answers are used up, to the reference server.
 */
function answeringBatches(answers: { status?: number; body: unknown }[]) {
  let batches = 0;
  const answering: typeof fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.endsWith('/_batch')) return fetch(input, init);
    batches++;
    const answer = answers.shift();
    if (!answer) return fetch(input, init);
    const headers = { 'Content-Type': 'application/json' };
    return Promise.resolve(new Response(JSON.stringify(answer.body), { status: answer.status ?? 200, headers }));
  };
  return { fetch: answering, batches: () => batches };
}

/**
 * A fetch that holds the first batch request until `answer()` is called, then answers it itself, or with a null
 * status gives it no answer at all (a network error).
 */
function heldBatch(status: number | null, body?: unknown) {
  let answer!: () => void;
  const answered = new Promise<void>((resolve) => (answer = resolve));
  let arrived!: () => void;
  const sent = new Promise<void>((resolve) => (arrived = resolve));
  let used = false;
  const holding: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.endsWith('/_batch') || used) return fetch(input, init);
    used = true;
    arrived();
    await answered;
    if (status === null) throw new TypeError('Failed to fetch');
    const headers = { 'Content-Type': 'application/json' };
    return new Response(JSON.stringify(body), { status, headers });
  };
  return { fetch: holding, sent, answer };
}

describe('batched push', () => {
  let f: EngineFixture;
  afterEach(async () => {
    await clearFaults(f.path);
    await clearFaults('/api/_batch');
    await clearFaults('/api/_syncline');
    await f.dispose();
  });

  const put = (id: string, extra: Record<string, unknown> = {}) => ({
    kind: 'item.put',
    label: id,
    request: { method: 'PUT' as const, url: `${API}/${f.collection}/${id}`, body: { title: id, ...extra } },
  });

  /** Waits until the queue is empty, moving virtual time on meanwhile (backoffs, Retry-After). */
  const drainedAdvancing = () =>
    eventually(
      async () => {
        f.clock.advance(500);
        return (await f.engine.count()) === 0;
      },
      10_000,
      'drained',
    );

  async function applied(collection: string): Promise<string[]> {
    const changes = (await (await fetch(`${API}/_admin/changes?collection=${collection}`)).json()) as {
      items: { id: string; idempotencyKey: string | null }[];
    };
    return changes.items.map((c) => c.id);
  }

  it("drains a lane in batches of the server's size, in order, each operation applied once", async () => {
    f = await engineFixture();
    await f.engine.capabilitiesLoaded;
    expect(f.engine.capabilities.batch).to.include({ maxOps: 100 });
    f.engine.setNetwork(false);
    const ids = Array.from({ length: 250 }, (_, i) => `n${String(i).padStart(3, '0')}`);
    await f.engine.enqueue(ids.map((id) => put(id)));
    const batchesBefore = await requestCount('/api/_batch');
    f.engine.setNetwork(true);
    await eventually(async () => (await f.engine.count()) === 0, 20_000, 'drained');
    expect(await applied(f.collection)).to.deep.equal(ids);
    // Three batches (a browser may repeat one request once when a reused connection closes under it).
    expect((await requestCount('/api/_batch')) - batchesBefore).to.be.within(3, 4);
    expect((await serverItems(f.collection)).every((i) => i.version === 1)).to.equal(true);
  });

  it('records the successes before a failure in the middle, parks the failure, and puts the rest back uncounted', async () => {
    f = await engineFixture();
    await f.engine.capabilitiesLoaded;
    // n3 exists at version 1 on the server; the batch asks for version 7: a 412 in the middle of the batch.
    await fetch(`${API}/${f.collection}/n3`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: '{"title":"theirs"}',
    });
    f.engine.setNetwork(false);
    const inputs = [
      put('n1'),
      put('n2'),
      { ...put('n3'), request: { ...put('n3').request, headers: { 'If-Match': '"7"' } } },
      put('n4'),
      put('n5'),
    ];
    const ops = await f.engine.enqueue(inputs);
    f.engine.setNetwork(true);
    const parked = await f.until(ops[2]!.id, (o) => o.status === OperationStatus.Conflict);
    expect(parked!.lastError).to.include({ kind: 'conflict', status: 412 });
    expect((parked!.lastError!.body as { current: { data: { title: string } } }).current.data.title).to.equal('theirs');
    await eventually(async () => (await f.engine.count()) === 3, 5_000, 'two recorded');
    const rest = await f.engine.list();
    expect(rest.map((o) => [o.label, o.status, o.attempts])).to.deep.equal([
      ['n3', 'conflict', 1],
      ['n4', 'pending', 0],
      ['n5', 'pending', 0],
    ]);
    expect(await applied(f.collection)).to.deep.equal(['n3', 'n1', 'n2']);
    // Discarding the conflict lets the rest through, in order.
    await f.engine.discard(ops[2]!.id);
    await eventually(async () => (await f.engine.count()) === 0, 10_000, 'drained');
    expect(await applied(f.collection)).to.deep.equal(['n3', 'n1', 'n2', 'n4', 'n5']);
  });

  for (const [name, status, body] of [
    ['goes unanswered (a 503)', 503, { error: 'down' }],
    ['is refused as a whole (a 400)', 400, { error: 'no' }],
  ] as const) {
    it(`keeps an operation discarded while its batch was out discarded when the batch ${name}`, async () => {
      const held = heldBatch(status, body);
      f = await engineFixture({ backoffBaseMs: 100 }, { fetch: held.fetch });
      await f.engine.capabilitiesLoaded;
      f.engine.setNetwork(false);
      const ops = await f.engine.enqueue(['a', 'b', 'c'].map((id) => put(id)));
      const shown: Operation[][] = [];
      const sub = subscribeLive(f.engine, { topic: 'ops', filter: {} }, (event) => {
        const last = shown.at(-1) ?? [];
        if (event.type === 'ops-reset') shown.push(event.ops);
        if (event.type === 'ops-changes')
          shown.push([
            ...last.filter((o) => !event.removes.includes(o.id) && !event.upserts.some((u) => u.id === o.id)),
            ...event.upserts,
          ]);
      });
      try {
        f.engine.setNetwork(true);
        await held.sent;
        expect(f.engine.counts).to.include({ sending: 3 });
        expect(await f.engine.discard(ops[1]!.id)).to.equal(true);
        expect(f.engine.counts).to.deep.equal({ pending: 0, sending: 2, failed: 0, conflict: 0 });
        // Every count from here on, as tabs are shown them: b is never put back in line.
        const seen: { pending: number; sending: number }[] = [];
        const watch = f.engine.changes$.subscribe(() => seen.push({ ...f.engine.counts }));
        held.answer();
        await eventually(() => seen.length > 0, 5_000, 'the batch answered');
        await drainedAdvancing();
        watch.unsubscribe();
        expect(f.engine.counts).to.deep.equal({ pending: 0, sending: 0, failed: 0, conflict: 0 });
        expect(seen.every((c) => c.sending >= 0 && c.pending >= 0 && c.pending + c.sending <= 2)).to.equal(true);
        expect(shown.some((list) => list.some((o) => o.id === ops[1]!.id))).to.equal(true);
        expect(shown.at(-1)!.map((o) => o.id)).to.deep.equal([]);
        expect((await serverItems(f.collection)).map((i) => i.id)).to.deep.equal(['a', 'c']);
      } finally {
        sub.unsubscribe();
      }
    });
  }

  it('re-sends a batch whose reply was lost; the server applies each operation once', async () => {
    f = await engineFixture({ backoffBaseMs: 100 });
    await f.engine.capabilitiesLoaded;
    // Applied up to n3, then the connection is cut: the engine cannot know how far it got. Twice, since Chromium
    // itself repeats a request once when a reused connection closes without an answer.
    await addFault({ pathPrefix: `${f.path}/n3`, drop: true, times: 2 });
    f.engine.setNetwork(false);
    const ids = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
    await f.engine.enqueue(ids.map((id) => put(id)));
    const batchesBefore = await requestCount('/api/_batch');
    f.engine.setNetwork(true);
    await drainedAdvancing();
    expect((await requestCount('/api/_batch')) - batchesBefore).to.be.greaterThan(1);
    expect(await applied(f.collection)).to.deep.equal(ids);
    expect((await serverItems(f.collection)).map((i) => [i.id, i.version])).to.deep.equal(ids.map((id) => [id, 1]));
  });

  it('treats a 409 in progress inside a batch as a wait without a strike, and a 409 exists as a conflict', async () => {
    f = await engineFixture({ backoffBaseMs: 100 });
    await f.engine.capabilitiesLoaded;
    await addFault({ pathPrefix: `${f.path}/n2`, status: 409, retryAfter: 1, times: 1 });
    f.engine.setNetwork(false);
    const ops = await f.engine.enqueue([put('n1'), put('n2'), put('n3')]);
    f.engine.setNetwork(true);
    const waiting = await f.until(ops[1]!.id, (o) => o.attempts === 1 && o.status === OperationStatus.Pending);
    expect(waiting!.strikes).to.equal(0);
    expect(waiting!.nextAttemptAt - waiting!.updatedAt).to.equal(1_000);
    f.clock.advance(1_000);
    await eventually(async () => (await f.engine.count()) === 0, 10_000, 'drained');
    const [dup] = await f.engine.enqueue([
      { kind: 'x', label: 'again', request: { method: 'POST', url: `${API}/${f.collection}`, body: { id: 'n1' } } },
      put('n9'),
    ]);
    const parked = await f.until(dup!.id, (o) => o.status === OperationStatus.Conflict);
    expect(parked!.lastError).to.include({ kind: 'conflict', status: 409 });
  });

  it('counts a batch the browser refused to build (bad headers from authorize) as not sent: none of it maybe applied', async () => {
    f = await engineFixture({ backoffBaseMs: 100 });
    await f.engine.capabilitiesLoaded;
    let token = 'line\nbreak';
    f.engine.authorize = async () => ({ Authorization: `Bearer ${token}` });
    const batchesBefore = await requestCount('/api/_batch');
    const ops = await f.engine.enqueue([put('r1'), put('r2'), put('r3')]);
    await f.until(ops[0]!.id, (o) => o.attempts === 1 && o.status === OperationStatus.Pending);
    const after = await f.engine.list();
    expect(after.map((o) => o.uncertainSince)).to.deep.equal([undefined, undefined, undefined]);
    expect(after[0]!.lastError?.message).to.match(/^Not sent: /);
    expect(await requestCount('/api/_batch')).to.equal(batchesBefore);
    token = 'fine';
    f.clock.advance(1_000);
    f.engine.resume();
    await eventually(async () => (await f.engine.count()) === 0, 10_000, 'drained');
    expect(await applied(f.collection)).to.deep.equal(['r1', 'r2', 'r3']);
  });

  it('honours a discard up to the moment a batch leaves', async () => {
    f = await engineFixture();
    await f.engine.capabilitiesLoaded;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let asked = 0;
    f.engine.authorize = async () => {
      asked++;
      await held;
      return null;
    };
    const ops = await f.engine.enqueue([put('n1'), put('n2'), put('n3')]);
    await eventually(() => asked === 1, 5_000, 'the batch is about to leave');
    await f.engine.discard(ops[1]!.id);
    release();
    await eventually(async () => (await f.engine.count()) === 0, 10_000, 'drained');
    expect(await applied(f.collection)).to.deep.equal(['n1', 'n3']);
  });

  it('keeps the lane going through malformed batch answers: a Retry-After that is not text, an empty results list', async () => {
    const server = answeringBatches([
      { body: { results: [{ status: 503, headers: { 'retry-after': 5 } }] } },
      { body: { results: [] } },
      { body: { results: [null, 'x'] } },
    ]);
    f = await engineFixture({ backoffBaseMs: 100 }, { fetch: server.fetch });
    await f.engine.capabilitiesLoaded;
    f.engine.setNetwork(false);
    const ids = ['n1', 'n2', 'n3'];
    const ops = await f.engine.enqueue(ids.map((id) => put(id)));
    f.engine.setNetwork(true);
    // A 503 for the head: it waits out a backoff (the number is no Retry-After); the rest go back uncounted.
    const head = await f.until(ops[0]!.id, (o) => o.status === OperationStatus.Pending && o.attempts === 1);
    expect(head!.lastError).to.include({ kind: 'http', status: 503 });
    expect((await f.engine.list()).map((o) => [o.status, o.attempts])).to.deep.equal([
      ['pending', 1],
      ['pending', 0],
      ['pending', 0],
    ]);
    // No results to read, twice: each time the head takes a strike and waits; the batch is not sent again at once.
    for (const answered of [2, 3]) {
      f.clock.advance(1_000);
      await f.until(ops[0]!.id, (o) => o.attempts === answered, `answer ${answered}`);
      await new Promise((r) => setTimeout(r, 300));
      expect(server.batches(), 'no batch sent again before the backoff').to.equal(answered);
      expect((await f.engine.list())[0]!.lastError!.message).to.contain('no usable results');
    }
    await drainedAdvancing();
    expect(await applied(f.collection)).to.deep.equal(ids);
  });

  it('sends each operation of a batch the server refused as a whole alone, once, so only the one at fault fails', async () => {
    const server = answeringBatches([{ status: 400, body: { error: 'bad-batch', message: 'ops[1]', op: 1 } }]);
    f = await engineFixture({}, { fetch: server.fetch });
    await f.engine.capabilitiesLoaded;
    await addFault({ pathPrefix: `${f.path}/n2`, status: 400, times: 1 });
    f.engine.setNetwork(false);
    const ops = await f.engine.enqueue(['n1', 'n2', 'n3', 'n4'].map((id) => put(id)));
    f.engine.setNetwork(true);
    // n1 alone, then n2 alone (its own 400: it fails, the lane stops at it); n3 and n4 wait behind it.
    const failed = await f.until(ops[1]!.id, (o) => o.status === OperationStatus.Failed);
    expect(failed!.attempts).to.equal(1);
    await f.until(ops[0]!.id, null);
    expect((await f.engine.list()).map((o) => [o.label, o.status])).to.deep.equal([
      ['n2', 'failed'],
      ['n3', 'pending'],
      ['n4', 'pending'],
    ]);
    expect(await applied(f.collection)).to.deep.equal(['n1']);
    // Discarding it lets the rest through in order (n3 alone, as it was in the refused batch, then n4).
    await f.engine.discard(ops[1]!.id);
    await eventually(async () => (await f.engine.count()) === 0, 10_000, 'drained');
    expect(await applied(f.collection)).to.deep.equal(['n1', 'n3', 'n4']);
  });

  it('sends an operation outside the API base alone, never inside a batch the server would refuse', async () => {
    f = await engineFixture();
    await f.engine.capabilitiesLoaded;
    f.engine.setNetwork(false);
    const outside = { ...put('x'), request: { ...put('x').request, url: `${location.origin}/not-the-api/x` } };
    const health = { ...put('h'), request: { ...put('h').request, url: `${API}/health/${f.collection}` } };
    const ops = await f.engine.enqueue([put('n1'), put('n2'), outside, health, put('n3'), put('n4')]);
    const before = await requestCount('/api/_batch');
    f.engine.setNetwork(true);
    // n1 and n2 in one batch; the operation off the API base alone (this page's server refuses it: it fails).
    await f.until(ops[2]!.id, (o) => o.status === OperationStatus.Failed);
    expect(await applied(f.collection)).to.deep.equal(['n1', 'n2']);
    await f.engine.discard(ops[2]!.id);
    // The health route is under the base but reserved: alone too (and refused there), then n3 and n4 together.
    await f.until(ops[3]!.id, (o) => o.status === OperationStatus.Failed);
    await f.engine.discard(ops[3]!.id);
    await eventually(async () => (await f.engine.count()) === 0, 10_000, 'drained');
    expect(await applied(f.collection)).to.deep.equal(['n1', 'n2', 'n3', 'n4']);
    expect((await requestCount('/api/_batch')) - before).to.equal(2);
  });

  it('marks every operation of a batch that got no answer as possibly applied, not only its head', async () => {
    f = await engineFixture({ backoffBaseMs: 100, maxAttempts: 2 });
    await f.engine.capabilitiesLoaded;
    await addFault({ pathPrefix: '/api/_batch', offline: true });
    f.engine.setNetwork(false);
    const ops = await f.engine.enqueue(['n1', 'n2', 'n3'].map((id) => put(id)));
    f.engine.setNetwork(true);
    // The server is reachable, the batch never answered: the head fails in the end, and none is forgotten as sent.
    await eventually(
      async () => {
        f.clock.advance(1_000);
        return (await f.engine.list())[0]?.status === OperationStatus.Failed;
      },
      10_000,
      'the head failed',
    );
    expect((await f.engine.list())[0]!.id).to.equal(ops[0]!.id);
    expect((await f.engine.list()).map((o) => o.uncertainSince !== undefined)).to.deep.equal([true, true, true]);
    await clearFaults('/api/_batch');
    await f.engine.retryAll();
    await eventually(async () => (await f.engine.count()) === 0, 10_000, 'drained');
    expect(await applied(f.collection)).to.deep.equal(['n1', 'n2', 'n3']);
  });

  it('marks every operation of a batch answered 5xx as possibly applied: the server may have applied some', async () => {
    const server = answeringBatches([{ status: 502, body: { error: 'bad gateway' } }]);
    f = await engineFixture({ backoffBaseMs: 100 }, { fetch: server.fetch });
    await f.engine.capabilitiesLoaded;
    f.engine.setNetwork(false);
    await f.engine.enqueue(['n1', 'n2', 'n3'].map((id) => put(id)));
    f.engine.setNetwork(true);
    await eventually(async () => server.batches() === 1, 10_000, 'the batch answered 502');
    await eventually(
      async () => (await f.engine.list()).every((o) => o.uncertainSince !== undefined),
      10_000,
      'each operation marked',
    );
    expect((await f.engine.list())[0]!.lastError?.status).to.equal(502);
    await drainedAdvancing();
    expect(await applied(f.collection)).to.deep.equal(['n1', 'n2', 'n3']);
  });

  it('marks as possibly applied only the operations of the unanswered batch, not one queued again under an id', async () => {
    // The batch is held until answered, and then gets no answer at all.
    const held = heldBatch(null);
    f = await engineFixture({ batch: true }, { fetch: held.fetch });
    await f.engine.capabilitiesLoaded;
    const ops = await f.engine.enqueue(['n1', 'n2', 'n3'].map((id) => put(id)));
    await held.sent;
    // While the batch is out, the queue is cleared and n2's id queued again: a new operation, never sent.
    expect(await f.engine.clear({ discardUnsent: true })).to.equal(3);
    f.engine.setNetwork(false);
    const [again] = await f.engine.enqueue([{ ...put('n2b'), id: ops[1]!.id }]);
    held.answer();
    await eventually(async () => (await f.engine.list())[0]?.id === again!.id && f.engine.counts.sending === 0, 5_000);
    // Give the no-answer handling its write: it must leave the new operation alone.
    await new Promise((r) => setTimeout(r, 200));
    const [row] = await f.engine.list();
    expect(row!.seq).to.equal(again!.seq);
    expect(row!.uncertainSince, 'the new operation was never sent').to.equal(undefined);
    expect(f.engine.counts, 'the cleared batch is not put back in line').to.deep.equal({
      pending: 1,
      sending: 0,
      failed: 0,
      conflict: 0,
    });
  });

  it('keeps the key of an operation waiting on a 409 in progress when the user retries it', async () => {
    f = await engineFixture({ backoffBaseMs: 100 });
    await f.engine.capabilitiesLoaded;
    await addFault({ pathPrefix: `${f.path}/n1`, status: 409, retryAfter: 30, times: 1 });
    const [op] = await f.engine.enqueue([put('n1')]);
    const waiting = await f.until(op!.id, (o) => o.attempts === 1 && o.status === OperationStatus.Pending);
    expect(waiting!.lastError).to.include({ kind: 'http', status: 409 });
    // The request the server is still processing may yet be applied: a fresh key would apply it a second time.
    const retried = await f.engine.retry(op!.id);
    expect(retried.keyGen ?? 0).to.equal(waiting!.keyGen ?? 0);
    await f.until(op!.id, null);
    expect(await applied(f.collection)).to.deep.equal(['n1']);
  });

  it('holds, rather than skips, the operations a clear is removing, so a refused clear leaves the order intact', async () => {
    f = await engineFixture();
    await f.engine.capabilitiesLoaded;
    let release!: () => void;
    let asked = 0;
    f.engine.authorize = async () => {
      asked++;
      if (asked === 1) await new Promise<void>((r) => (release = r));
      return null;
    };
    f.engine.setNetwork(false);
    const old = await f.engine.enqueue([put('n1'), put('n2')]);
    f.clock.advance(1_000);
    await f.engine.enqueue([put('n3')]);
    const before = old[1]!.createdAt;
    f.engine.setNetwork(true);
    await eventually(() => asked === 1, 5_000, 'the batch is about to leave');
    // A clear of what is older than n3 (a tab's call re-sent: bound by the time it was first sent), refused (n1 and
    // n2 are unsent); the batch leaves while it runs.
    const resent = { key: 't#1', resent: true };
    const refused = f.engine.clear({ before }, resent).catch((e: unknown) => e);
    release();
    expect(((await refused) as { code?: string }).code).to.equal('unsent-operations');
    await eventually(async () => (await f.engine.count()) === 0, 10_000, 'drained');
    expect(await applied(f.collection)).to.deep.equal(['n1', 'n2', 'n3']);

    // The same with discardUnsent: n1 and n2 are held, never sent; n3 goes once the clear has removed them.
    f.engine.setNetwork(false);
    asked = 0;
    const more = await f.engine.enqueue([put('m1'), put('m2')]);
    f.clock.advance(1_000);
    await f.engine.enqueue([put('m3')]);
    f.engine.setNetwork(true);
    await eventually(() => asked === 1, 5_000, 'the second batch is about to leave');
    const cleared = f.engine.clear({ before: more[1]!.createdAt, discardUnsent: true }, resent);
    release();
    expect(await cleared).to.equal(2);
    await eventually(async () => (await f.engine.count()) === 0, 10_000, 'drained again');
    expect(await applied(f.collection)).to.deep.equal(['n1', 'n2', 'n3', 'm3']);
  });

  it("starts with the batch route it stored for the same endpoint, and never with another endpoint's", async () => {
    f = await engineFixture();
    await f.engine.capabilitiesLoaded;
    const stored = f.engine.capabilities.batch;
    expect(stored).to.not.equal(null);
    f.engine.close();
    // The capability document is not answered: what the engine starts with is what it had stored.
    const unanswered: typeof fetch = (input, init) =>
      String(input).endsWith('/_syncline') ? new Promise<Response>(() => {}) : fetch(input, init);
    const reopen = async (endpoint: string) => {
      const { resolveConfig } = await import('../src/index.ts');
      const { SyncEngine, openSynclineDB } = await import('../src/testing.ts');
      const config = resolveConfig({ endpoint, namespace: f.namespace, healthUrl: `${API}/health/${f.collection}` });
      return SyncEngine.open({ config, db: await openSynclineDB(f.namespace), fetch: unanswered });
    };
    const same = await reopen(API);
    expect(same.capabilities.batch).to.deep.equal(stored);
    same.close();
    const other = await reopen(`${location.origin}/other-api`);
    expect(other.capabilities.batch).to.equal(null);
    f.engine = other;
  });

  it('sends one request per operation to a server that does not advertise batching', async () => {
    f = await engineFixture({}, {});
    await addFault({ pathPrefix: '/api/_syncline', status: 404 });
    await f.engine.capabilitiesLoaded;
    f.engine.capabilities = { ...f.engine.capabilities, batch: null };
    const before = await requestCount('/api/_batch');
    const ops = await f.engine.enqueue([put('n1'), put('n2'), put('n3')]);
    await f.until(ops[2]!.id, null);
    expect(await requestCount('/api/_batch')).to.equal(before);
    expect(await applied(f.collection)).to.deep.equal(['n1', 'n2', 'n3']);
  });

  it('falls back to single requests when the batch route goes away, counting nothing against the operations', async () => {
    f = await engineFixture();
    await f.engine.capabilitiesLoaded;
    await addFault({ pathPrefix: '/api/_batch', status: 404 });
    const ops = await f.engine.enqueue([put('n1'), put('n2'), put('n3')]);
    await f.until(ops[2]!.id, null);
    expect(f.engine.capabilities.batch).to.equal(null);
    expect(await applied(f.collection)).to.deep.equal(['n1', 'n2', 'n3']);
  });

  it('batches only the lanes the app allows', async () => {
    f = await engineFixture({ batch: ['bulk'] });
    await f.engine.capabilitiesLoaded;
    f.engine.setNetwork(false);
    await f.engine.enqueue([
      ...['a1', 'a2', 'a3'].map((id) => ({ ...put(id), lane: 'bulk' })),
      ...['b1', 'b2', 'b3'].map((id) => ({ ...put(id), lane: 'careful' })),
    ]);
    const before = await requestCount('/api/_batch');
    f.engine.setNetwork(true);
    await eventually(async () => (await f.engine.count()) === 0, 10_000, 'drained');
    expect((await requestCount('/api/_batch')) - before).to.equal(1);
  });
});
