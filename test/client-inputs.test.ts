// The public client API under hostile input: getters that throw, Proxies, toJSON, sparse arrays, odd endpoints and timeouts.
import { expect } from '@open-wc/testing';
import { firstValueFrom, type Observable } from 'rxjs';
import { createSyncClient, SynclineError, type SyncClientOptions, type SyncMode } from '../src/index.ts';
import { testClient } from '../components/test/support.ts';
import { eventually, serverItems, uniqueName, unreachable } from './support/server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A client of `mode` (and `extra` options) on a collection of its own, disposed after the test. */
function makeClient(mode: SyncMode = 'in-page', extra: Partial<SyncClientOptions> = {}) {
  const t = testClient(`rv-${mode}`, { mode, ...extra });
  cleanups.push(() => t.dispose());
  return t;
}

/** The settled outcome of a promise, or 'pending' if it has not settled within `ms`. */
async function outcome<T>(
  p: Promise<T>,
  ms = 4000,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown } | 'pending'> {
  return Promise.race([
    p.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
    sleep(ms).then(() => 'pending' as const),
  ]);
}

/** The first thing a stream does within `ms`: a value, an error, completion, or nothing. */
function firstEvent<T>(
  stream: Observable<T>,
  ms = 4000,
): Promise<{ kind: 'value' | 'error' | 'complete' | 'silent'; value?: unknown }> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      sub.unsubscribe();
      resolve({ kind: 'silent' });
    }, ms);
    const sub = stream.subscribe({
      next: (value) => {
        clearTimeout(timer);
        queueMicrotask(() => sub.unsubscribe());
        resolve({ kind: 'value', value });
      },
      error: (error) => {
        clearTimeout(timer);
        resolve({ kind: 'error', value: error });
      },
      complete: () => {
        clearTimeout(timer);
        resolve({ kind: 'complete' });
      },
    });
  });
}

const codeOf = (r: Awaited<ReturnType<typeof outcome>>) =>
  r === 'pending'
    ? 'pending'
    : r.ok
      ? 'resolved'
      : r.error instanceof SynclineError
        ? r.error.code
        : `raw ${String((r.error as Error)?.name)}: ${String((r.error as Error)?.message)}`;

describe('client API under hostile input', () => {
  const post = (url: string, body?: unknown) =>
    ({ kind: 'x', label: 'x', request: { method: 'POST', url, ...(body === undefined ? {} : { body }) } }) as never;

  it('refuses with invalid-operation, not unavailable, a body or data whose getter throws', async () => {
    const { client, collection } = makeClient();
    await client.ready();
    const throwing = {
      get boom(): never {
        throw new Error('getter boom');
      },
    };
    const enqueued = await outcome(client.enqueue(post(collection, { nested: throwing })));
    const headers = await outcome(
      client.enqueue({
        kind: 'x',
        label: 'x',
        request: { method: 'POST', url: collection, headers: throwing as never },
      }),
    );
    const put = await outcome(client.collection(collection).put('a', throwing as never));
    // The engine is up and answering: bad input must be named as such, not as a lost engine.
    expect([codeOf(enqueued), codeOf(headers), codeOf(put)]).to.deep.equal([
      'invalid-operation',
      'invalid-operation',
      'invalid-operation',
    ]);
    expect(await firstValueFrom(client.pendingCount$)).to.equal(0);
  });

  it('refuses with invalid-operation an input a getter of which throws, or a revoked Proxy', async () => {
    const { client, collection } = makeClient();
    await client.ready();
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const inputs: unknown[] = [
      {
        kind: 'x',
        label: 'x',
        get request(): never {
          throw new Error('request boom');
        },
      },
      {
        kind: 'x',
        label: 'x',
        request: {
          method: 'POST',
          get url(): never {
            throw new Error('url boom');
          },
        },
      },
      {
        kind: 'x',
        label: 'x',
        request: {
          method: 'POST',
          url: collection,
          get body(): never {
            throw new Error('body boom');
          },
        },
      },
      {
        kind: 'x',
        label: 'x',
        get id(): never {
          throw new Error('id boom');
        },
        request: { method: 'POST', url: collection },
      },
      revoked.proxy,
      post(collection, revoked.proxy),
    ];
    const codes: string[] = [];
    for (const input of inputs) codes.push(codeOf(await outcome(client.enqueue(input as never))));
    expect(codes).to.deep.equal(Array(inputs.length).fill('invalid-operation'));
  });

  it('errors a live query whose filter cannot be sent (a Proxy, as a Vue reactive object is), rather than stay silent', async () => {
    const { client } = makeClient();
    await client.ready();
    const ops = await firstEvent(client.watchOperations(new Proxy({ lane: 'x' }, {})), 3000);
    const count = await firstEvent(client.count$({ lane: 'x', extra: () => 1 } as never), 3000);
    // Either served (the filter read as data) or refused with a typed error; silence forever is neither.
    expect(ops.kind, 'watchOperations(Proxy filter)').to.not.equal('silent');
    expect(count.kind, 'count$(filter with a function)').to.not.equal('silent');
    for (const e of [ops, count]) if (e.kind === 'error') expect(e.value).to.be.instanceOf(SynclineError);
  });

  it('stores and sends a JSON body or entity data with toJSON (a class instance) as its JSON', async () => {
    const { client, collection } = makeClient();
    await client.ready();
    class Money {
      constructor(readonly cents: number) {}
      toJSON() {
        return { amount: this.cents / 100 };
      }
    }
    const body = { id: 'm1', price: new Money(150) };
    const op = await client.enqueue(post(collection, body));
    await eventually(async () => (await serverItems(collection)).length > 0, 8000, 'the POST on the server');
    const [item] = await serverItems(collection);
    const record = await client.collection(collection).put('m2', { price: new Money(250) } as never);
    // What JSON.stringify(body) gives is what a JSON body means; the server got {"cents":150} instead.
    expect(item!.data).to.deep.equal(JSON.parse(JSON.stringify(body)));
    expect(JSON.stringify(op.request.body)).to.equal(JSON.stringify(body));
    expect(record.data).to.deep.equal({ price: { amount: 2.5 } });
  });

  it('waits for the engine on ready(Infinity) (a timeout no timer holds), rather than failing at once', async () => {
    const { client } = makeClient('shared-worker');
    const started = Date.now();
    const r = await outcome(client.ready(Infinity), 8000);
    // Waiting (as for any long timeout) or refusing the value as a bad argument would both be right; failing as if the
    // engine had not answered within "Infinity ms" is not.
    expect(['resolved', 'invalid-config', 'invalid-operation'], `after ${Date.now() - started} ms`).to.include(
      codeOf(r),
    );
  });

  it('refuses an endpoint with a query or fragment (relative requests would go to the origin root)', async () => {
    for (const endpoint of ['/api?v=1', '/api#v1']) {
      let stored: string | undefined;
      try {
        const c = createSyncClient({ endpoint, namespace: uniqueName('rv-ep'), mode: 'in-page' });
        cleanups.push(() => c.close());
        const collection = uniqueName('c');
        await unreachable(collection);
        cleanups.push(() => unreachable(collection, false));
        const r = await outcome(c.enqueue(post(`${collection}/1`)));
        stored = r !== 'pending' && r.ok ? r.value.request.url : codeOf(r);
        // Refused at creation (invalid-config) would be right; so would keeping the endpoint's path.
        expect(stored, endpoint).to.match(/\/api\//);
        await c.clear({ discardUnsent: true });
      } catch (e) {
        if (!(e instanceof SynclineError)) throw e;
        expect(e.code, endpoint).to.equal('invalid-config');
      }
    }
  });

  it('refuses an endpoint that is not http(s) or carries a user name and password', async () => {
    for (const endpoint of ['ftp://localhost/api', 'javascript:void 0', `http://u:p@${location.host}/api`]) {
      let code = 'created';
      try {
        const c = createSyncClient({ endpoint, namespace: uniqueName('rv-ep'), mode: 'in-page' });
        c.close();
      } catch (e) {
        code = (e as SynclineError).code;
      }
      expect(code, endpoint).to.equal('invalid-config');
    }
  });

  it('refuses enqueueMany of a sparse array (a hole is not an operation) rather than resolve fewer, misaligned', async () => {
    const { client, collection } = makeClient();
    await client.ready();
    await unreachable(collection);
    // eslint-disable-next-line no-sparse-arrays
    const inputs = [post(collection, { id: 'a' }), , post(collection, { id: 'c' })];
    const r = await outcome(client.enqueueMany(inputs as never));
    // A hole is not an operation: all or none, with a typed error (or one result per input).
    if (r !== 'pending' && r.ok) expect(r.value.length, 'one operation per input').to.equal(inputs.length);
    else expect(codeOf(r)).to.equal('invalid-operation');
  });

  it("counts a form body's file names against maxPayloadBytes", async () => {
    const { client, collection } = makeClient('in-page', { maxPayloadBytes: 100 });
    await client.ready();
    await unreachable(collection);
    const form = new FormData();
    form.append('f', new Blob(['x'.repeat(50)]), 'n'.repeat(5000));
    const r = await outcome(client.enqueue(post(collection, form)));
    expect(codeOf(r)).to.equal('payload-too-large');
  });
});
