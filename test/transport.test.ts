// What goes over the wire: redirects never followed, captive portals not taken for delivery, error bodies read, binary bodies as is, results kept.
import { expect } from '@open-wc/testing';
import { attempt, onAllowedOrigin } from '../src/engine/transport.ts';
import type { Clock } from '../src/engine/clock.ts';
import { RequestWatch } from '../src/engine/watch.ts';
import { Connectivity, OperationStatus, SynclineError, createSyncClient } from '../src/index.ts';
import { VirtualClock, deleteSynclineDB } from '../src/testing.ts';
import { engineFixture, type EngineFixture } from './support/engine.ts';
import { addFault, clearFaults, eventually, hookLog, serverItems, sha256Hex, uniqueName } from './support/server.ts';

describe('transport', () => {
  let f: EngineFixture;
  afterEach(async () => {
    await clearFaults(f.path);
    await f.dispose();
  });

  it('never follows a redirect off the allowed origins: nothing reaches the other origin, and the op is not done', async () => {
    f = await engineFixture({ backoffBaseMs: 60_000 });
    f.engine.authorize = async () => ({ Authorization: 'Bearer secret-token' });
    const name = uniqueName('redir');
    const [op] = await f.engine.enqueue([
      {
        kind: 'x',
        label: 'Upload',
        request: { method: 'POST', url: `${location.origin}/hooks/redirect/${name}`, body: { secret: 'payload' } },
      },
    ]);
    const waiting = await f.until(op!.id, (o) => o.attempts === 1 && o.status === OperationStatus.Pending);
    expect(waiting!.lastError!.message).to.contain('redirect');
    const log = await hookLog(name);
    // The redirecting route saw the request; the origin it pointed at saw nothing: no body, no key, no token.
    expect(log.map((r) => r.kind)).to.deep.equal(['redirect']);
    expect(log[0]!.origin).to.equal(location.origin);
    // The server answered: reachable, just not delivering.
    expect(f.engine.status.connectivity).to.equal(Connectivity.Degraded);
    expect(await f.engine.count()).to.equal(1);
  });

  it('does not take an HTML page from a captive portal for a delivery', async () => {
    f = await engineFixture({ backoffBaseMs: 60_000 });
    const name = uniqueName('portal');
    const [op] = await f.engine.enqueue([
      {
        kind: 'x',
        label: 'Save',
        request: { method: 'PUT', url: `${location.origin}/hooks/portal/${name}`, body: { a: 1 } },
      },
    ]);
    const waiting = await f.until(op!.id, (o) => o.attempts === 1 && o.status === OperationStatus.Pending);
    expect(waiting!.lastError).to.include({ kind: 'http', status: 200 });
    expect(waiting!.lastError!.message).to.contain('HTML');
    expect((await hookLog(name)).length).to.equal(1);
  });

  it('counts a request the browser will not send as a strike when the server is reachable, and leaves connectivity alone', async () => {
    // Port 6000 is one browsers refuse to connect to (ERR_UNSAFE_PORT): fetch rejects at once, like offline.
    f = await engineFixture({ allowedOrigins: ['http://localhost:6000'], maxAttempts: 2, backoffBaseMs: 100 });
    const [bad] = await f.engine.enqueue([
      {
        kind: 'x',
        label: 'Doomed',
        lane: 'bad',
        request: { method: 'POST', url: 'http://localhost:6000/x', body: {} },
      },
    ]);
    const [good] = await f.engine.enqueue([f.create('g1', { lane: 'good' })]);
    const first = await f.until(bad!.id, (o) => o.attempts === 1 && o.status === OperationStatus.Pending);
    expect(first!.strikes).to.equal(1);
    expect(first!.lastError!.kind).to.equal('network');
    expect(f.engine.status.connectivity).to.equal(Connectivity.Online);
    // The other lane is not paused by it.
    await f.until(good!.id, null, 'the good lane drained');
    f.clock.advance(1_000);
    const failed = await f.until(bad!.id, (o) => o.status === OperationStatus.Failed);
    expect(failed!.strikes).to.equal(2);
    expect(f.engine.status.connectivity).to.equal(Connectivity.Online);
  });

  it("keeps the server's answer for settled(): status, ETag, Location and body", async () => {
    f = await engineFixture();
    const [op] = await f.engine.enqueue([f.create('made')]);
    await f.until(op!.id, null);
    await eventually(async () => (await f.engine.result(op!.id)) !== undefined, 5_000, 'result recorded');
    const result = (await f.engine.result(op!.id))!;
    expect(result).to.include({ id: op!.id, status: 201, etag: '"1"' });
    expect(result.location).to.equal(`/api/${f.collection}/made`);
    expect((result.body as { id: string }).id).to.equal('made');
  });
});

describe("an error's message from the body formats servers commonly send", () => {
  /** The message and body an answer of `status` with `body` (JSON unless a string) leaves on the operation. */
  async function errorOf(status: number, body: unknown, contentType = 'application/json') {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const fetchStub = (async () =>
      new Response(text, { status, headers: { 'Content-Type': contentType } })) as unknown as typeof fetch;
    const { outcome } = await attempt(
      'https://api.example/x',
      { method: 'POST', headers: { Accept: 'application/json' } },
      { fetch: fetchStub, clock: new VirtualClock(), credentials: 'same-origin', requestTimeoutMs: 1_000 },
    );
    expect(outcome.type).to.not.equal('done');
    return (outcome as Exclude<typeof outcome, { type: 'done' }>).error;
  }

  it('reads RFC 9457 problem details: detail, else title', async () => {
    const problem = {
      type: 'https://api.example/probs/out-of-credit',
      title: 'You do not have enough credit.',
      status: 403,
      detail: 'Your current balance is 30, but that costs 50.',
    };
    const error = await errorOf(403, problem, 'application/problem+json');
    expect(error.message).to.equal('403: Your current balance is 30, but that costs 50.');
    expect(error.body).to.deep.equal(problem);
    expect(
      (await errorOf(400, { type: 'about:blank', title: 'Bad Request' }, 'application/problem+json')).message,
    ).to.equal('400: Bad Request');
  });

  it('reads { error: { message } }', async () => {
    const body = { error: { code: 'invalid_request', message: 'The title is too long.' } };
    const error = await errorOf(400, body);
    expect(error.message).to.equal('400: The title is too long.');
    expect(error.body).to.deep.equal(body);
  });

  it('sums up { errors }: a list of strings or of { message }, or fields with a string or a list each', async () => {
    expect((await errorOf(422, { errors: ['Title is required', 'Due date is in the past'] })).message).to.equal(
      '422: Title is required (+1 more)',
    );
    expect((await errorOf(422, { errors: [{ message: 'Title is required' }] })).message).to.equal(
      '422: Title is required',
    );
    expect(
      (await errorOf(422, { errors: [{ status: '422', title: 'Invalid', detail: 'Title is required' }] })).message,
    ).to.equal('422: Title is required');
    expect(
      (await errorOf(422, { errors: { title: ["can't be blank", 'is too short'], due: 'is in the past' } })).message,
    ).to.equal("422: title: can't be blank (+2 more)");
    expect((await errorOf(422, { errors: { email: 'is taken' } })).message).to.equal('422: email: is taken');
    // A code in `error` says less than what the fields say.
    expect((await errorOf(422, { error: 'validation_failed', errors: { email: ['is taken'] } })).message).to.equal(
      '422: email: is taken',
    );
  });

  it('still reads message, a string error and a text body, and keeps every message short', async () => {
    expect(
      (await errorOf(409, { error: 'precondition-failed', message: 'The current version is 2.' })).message,
    ).to.equal('409: The current version is 2.');
    expect((await errorOf(400, { error: 'Bad input' })).message).to.equal('400: Bad input');
    expect((await errorOf(400, 'Plain words', 'text/plain')).message).to.equal('400: Plain words');
    expect((await errorOf(400, { errors: [] })).message).to.equal('HTTP 400');
    expect((await errorOf(400, { error: { code: 7 } })).message).to.equal('HTTP 400');
    const long = 'x'.repeat(5_000);
    for (const body of [
      { message: long },
      { detail: long },
      { error: { message: long } },
      { errors: { field: long } },
      long,
    ]) {
      const error = await errorOf(400, body, typeof body === 'string' ? 'text/plain' : 'application/json');
      expect(error.message.length, JSON.stringify(body).slice(0, 30)).to.be.at.most(220);
    }
  });
});

describe('binary bodies and results through a client', () => {
  const namespace = uniqueName('bin');
  // One request per operation, so the second of two queued operations is still in line when it is discarded.
  const client = createSyncClient({ endpoint: '/api', namespace, mode: 'shared-worker', batch: false });
  after(async () => {
    client.close();
    await Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]);
  });

  it('stores Blob, File, ArrayBuffer, typed-array and FormData bodies natively and sends their exact bytes', async () => {
    const name = uniqueName('sink');
    const url = `${location.origin}/hooks/sink/${name}`;
    const bytes = new Uint8Array(70_000);
    for (let i = 0; i < bytes.length; i += 65_536) crypto.getRandomValues(bytes.subarray(i, i + 65_536));
    const photo = new File([bytes], 'photo.jpg', { type: 'image/jpeg' });
    const form = new FormData();
    form.append('caption', 'Straße at night');
    form.append('photo', photo, 'photo.jpg');
    const bodies: [string, unknown][] = [
      ['blob', new Blob([bytes], { type: 'image/png' })],
      ['file', photo],
      ['buffer', bytes.buffer.slice(0)],
      ['view', new Uint8Array(bytes.buffer, 10, 1000)],
      ['form', form],
    ];
    const ops = await client.enqueueMany(
      bodies.map(([label, body]) => ({ kind: 'upload', label, request: { method: 'POST' as const, url, body } })),
    );
    await Promise.all(ops.map((op) => client.settled(op.id)));
    const log = await hookLog(name);
    expect(log.map((r) => r.kind)).to.deep.equal(['sink', 'sink', 'sink', 'sink', 'sink']);
    expect(log[0]!.sha256).to.equal(await sha256Hex(bytes.buffer));
    expect(log[0]!.headers['content-type']).to.equal('image/png');
    expect(log[1]!.sha256).to.equal(await sha256Hex(bytes.buffer));
    expect(log[1]!.headers['content-type']).to.equal('image/jpeg');
    expect(log[2]!.sha256).to.equal(await sha256Hex(bytes.buffer));
    expect(log[3]!.bytes).to.equal(1000);
    expect(log[3]!.sha256).to.equal(await sha256Hex(bytes.slice(10, 1010).buffer));
    expect(log[4]!.headers['content-type']).to.match(/^multipart\/form-data; boundary=/);
    expect(log[4]!.bytes).to.be.greaterThan(70_000);
    // Every request carried its own key.
    expect(new Set(log.map((r) => r.headers['idempotency-key'])).size).to.equal(5);
  });

  it('resolves settled() with the answer, rejects it for a discarded or unknown operation', async () => {
    const collection = uniqueName('c');
    const made = await client.enqueue({
      kind: 'x',
      label: 'x',
      request: { method: 'POST', url: collection, body: { id: 'r1', title: 'T' } },
    });
    const result = await client.settled(made.id);
    expect(result).to.include({ status: 201, etag: '"1"' });
    expect((result.body as { data: { title: string } }).data.title).to.equal('T');
    await addFault({ pathPrefix: `/api/${collection}`, latencyMs: 2_000 });
    const [, second] = await client.enqueueMany([
      { kind: 'x', label: 'slow', request: { method: 'POST', url: collection, body: { id: 'r2' } } },
      { kind: 'x', label: 'dropped', request: { method: 'POST', url: collection, body: { id: 'r3' } } },
    ]);
    const fate = client.settled(second!.id).catch((e: SynclineError) => e.code);
    expect(await client.discard(second!.id)).to.equal(true);
    expect(await fate).to.equal('discarded');
    expect(await client.settled('no-such-operation').catch((e: SynclineError) => e.code)).to.equal('not-found');
    await clearFaults(`/api/${collection}`);
    await eventually(async () => (await serverItems(collection)).length === 2, 10_000, 'slow one landed');
    // Each applied once (version 1), the discarded one never.
    expect((await serverItems(collection)).map((i) => [i.id, i.version])).to.deep.equal([
      ['r1', 1],
      ['r2', 1],
    ]);
  });

  it('ends a settled() already waiting when a clear (a logout) removes its operation', async () => {
    const collection = uniqueName('c');
    await addFault({ pathPrefix: `/api/${collection}`, offline: true });
    try {
      const op = await client.enqueue({
        kind: 'x',
        label: 'x',
        request: { method: 'POST', url: collection, body: { id: 'gone' } },
      });
      const fate = client.settled(op.id).catch((e: SynclineError) => e.code);
      expect(await client.clear({ discardUnsent: true })).to.be.at.least(1);
      expect(await fate).to.equal('discarded');
    } finally {
      await clearFaults(`/api/${collection}`);
    }
  });
});

describe('the request watch (timeouts and the stop of the requests out)', () => {
  /** A virtual clock that counts the timers set on it. */
  function countingClock() {
    const clock = new VirtualClock();
    let set = 0;
    const setTimeout = clock.setTimeout.bind(clock);
    clock.setTimeout = (callback, ms) => {
      set++;
      return setTimeout(callback, ms);
    };
    return { clock, timersSet: () => set };
  }

  it('aborts a request once its time is up, and not one that ended before', async () => {
    const { clock } = countingClock();
    const watch = new RequestWatch(clock);
    const ended = watch.start(1_000);
    clock.advance(400);
    const hanging = watch.start(1_000);
    watch.end(ended);
    clock.advance(600);
    expect(ended.controller.signal.aborted).to.equal(false);
    expect(hanging.controller.signal.aborted).to.equal(false);
    clock.advance(399);
    expect(hanging.controller.signal.aborted).to.equal(false);
    clock.advance(1);
    expect(hanging).to.include({ timedOut: true });
    expect(hanging.controller.signal.aborted).to.equal(true);
  });

  it('serves many requests with one timer, not one set (and cleared) per request', async () => {
    const { clock, timersSet } = countingClock();
    const watch = new RequestWatch(clock);
    for (let i = 0; i < 100; i++) {
      const watched = watch.start(30_000);
      clock.advance(10);
      watch.end(watched);
    }
    expect(timersSet()).to.equal(1);
    // The timer fires for a request that has ended: nothing is aborted, and nothing is armed again.
    clock.advance(30_000);
    expect(clock.nextTimerAt()).to.equal(undefined);
    expect(timersSet()).to.equal(1);
  });

  it('gives up on a hanging request within twice its timeout when the clock goes back', async () => {
    // Timers run on elapsed time, as the platform's do; the time read is a wall clock that can be set back.
    const timers = new VirtualClock();
    let offset = 0;
    const clock: Clock = {
      now: () => timers.now() + offset,
      setTimeout: (callback, ms) => timers.setTimeout(callback, ms),
      clearTimeout: (handle) => timers.clearTimeout(handle),
    };
    const watch = new RequestWatch(clock);
    const hanging = watch.start(1_000);
    offset -= 3_600_000;
    timers.advance(1_000);
    expect(hanging.controller.signal.aborted).to.equal(false);
    timers.advance(999);
    expect(hanging.controller.signal.aborted).to.equal(false);
    timers.advance(1);
    expect(hanging).to.include({ timedOut: true });
  });

  it('aborts every request out when stopped, and every one started after', async () => {
    const { clock } = countingClock();
    const watch = new RequestWatch(clock);
    const out = [watch.start(1_000), watch.start(5_000)];
    watch.stop();
    expect(out.map((w) => w.controller.signal.aborted)).to.deep.equal([true, true]);
    expect(out.some((w) => w.timedOut)).to.equal(false);
    expect(watch.start(1_000).controller.signal.aborted).to.equal(true);
    expect(clock.nextTimerAt()).to.equal(undefined);
  });

  it('never leaves the request out when the browser rejects it before it leaves: an attempt ends its watch', async () => {
    const clock = new VirtualClock();
    const watch = new RequestWatch(clock);
    const refused = (async () => {
      throw new TypeError('Failed to fetch');
    }) as unknown as typeof fetch;
    const { outcome } = await attempt(
      'https://api.example/x',
      { method: 'POST' },
      { fetch: refused, clock, credentials: 'same-origin', requestTimeoutMs: 1_000, watch },
    );
    expect(outcome).to.include({ type: 'retry', uncertain: true });
    // Ended: its timeout no longer applies, and the timer finds nothing to abort.
    expect((watch as unknown as { out: Set<unknown> }).out.size).to.equal(0);
  });
});

describe('which origin a queued request is on', () => {
  const origins = ['https://api.example', 'http://localhost:5173'];

  it('takes a URL on an allowed origin, however it is written', async () => {
    expect(onAllowedOrigin('https://api.example/items/1', origins)).to.equal(true);
    expect(onAllowedOrigin('https://api.example:443/items', origins)).to.equal(true);
    expect(onAllowedOrigin('HTTPS://API.EXAMPLE/items', origins)).to.equal(true);
    expect(onAllowedOrigin('http://localhost:5173/api?x=1', origins)).to.equal(true);
  });

  it('refuses a URL on any other origin, even one that begins like an allowed one', async () => {
    expect(onAllowedOrigin('https://api.example.evil.test/items', origins)).to.equal(false);
    expect(onAllowedOrigin('https://api.examplex/items', origins)).to.equal(false);
    expect(onAllowedOrigin('https://api.example:8443/items', origins)).to.equal(false);
    expect(onAllowedOrigin('http://api.example/items', origins)).to.equal(false);
    expect(onAllowedOrigin('http://localhost:51730/api', origins)).to.equal(false);
    expect(onAllowedOrigin('https://evil.test/https://api.example/', origins)).to.equal(false);
  });
});
