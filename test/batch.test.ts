// Batched push: many operations of a lane in one request, each with its own key; partial failures, crashes, fallback.
import { expect } from '@open-wc/testing';
import { OperationStatus } from '../src/index.ts';
import { engineFixture, type EngineFixture } from './support/engine.ts';
import { API, addFault, clearFaults, eventually, requestCount, serverItems } from './support/server.ts';

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
    await eventually(
      async () => {
        f.clock.advance(500);
        return (await f.engine.count()) === 0;
      },
      10_000,
      'drained',
    );
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
