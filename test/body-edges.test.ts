// JSON bodies with toJSON, endpoints with an empty query, opaque origins, windowless documents and news after silence.
import { expect, fixture, html } from '@open-wc/testing';
import { BehaviorSubject } from 'rxjs';
import { createSyncClient, SynclineError, type Conflict, type Resolution, type SyncClient } from '../src/index.ts';
import '../components/define.ts';
import { PageAnnouncer, type ConflictResolverElement } from '../components/index.ts';
import { liveLog } from '../components/test/a11y.ts';
import { fakeConflict, testClient, until } from '../components/test/support.ts';
import { uniqueName, unreachable } from './support/server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A client in the page on a collection of its own, disposed after the test. */
function makeClient() {
  const t = testClient('tj');
  cleanups.push(() => t.dispose());
  return t;
}

const post = (url: string, body: unknown) =>
  ({ kind: 'x', label: 'x', request: { method: 'POST', url, body } }) as never;

describe('JSON bodies with toJSON', () => {
  it('a JSON body whose toJSON returns a string (a Date) is stored and sent as JSON, not turned into a text body', async () => {
    const { client, collection } = makeClient();
    await client.ready();
    await unreachable(collection);
    // OperationRequest.body: "a string is sent as is ... anything else as JSON". A Date is not a string: its JSON is
    // "\"1970-01-01T00:00:00.000Z\"". withToJSON replaces it by its toJSON() string in the page, so the engine sees
    // a string and stores bodyType 'text': the server gets the bare text, unquoted, as text/plain.
    const op = await client.enqueue(post(`${collection}/d`, new Date(0)));
    expect(op.request.bodyType, 'bodyType of a Date body').to.equal('json');
    class Amount {
      constructor(readonly cents: number) {}
      toJSON() {
        return (this.cents / 100).toFixed(2);
      }
    }
    const op2 = await client.enqueue(post(`${collection}/a`, new Amount(150)));
    expect(op2.request.bodyType, 'bodyType of a class whose toJSON returns a string').to.equal('json');
  });

  it("applies toJSON once, as JSON.stringify does: a toJSON's result is not passed through toJSON again", async () => {
    const { client, collection } = makeClient();
    await client.ready();
    await unreachable(collection);
    // JSON.stringify calls toJSON on a value once and then serialises the result as it is: a toJSON returning a Date
    // gives {} (a Date has no own enumerable keys). withToJSON recurses into the result and calls its toJSON too.
    const body = { at: { toJSON: () => new Date(0) } };
    const op = await client.enqueue(post(`${collection}/x`, body));
    // A toJSON that returns a fresh instance of its own class: JSON.stringify gives {"self":{}}, withToJSON never
    // stops (RangeError, refused as unreadable input).
    class Self {
      toJSON(): Self {
        return new Self();
      }
    }
    let code = 'resolved';
    try {
      await client.enqueue(post(`${collection}/y`, { self: new Self() }));
    } catch (e) {
      code =
        e instanceof SynclineError ? `${e.code}: ${e.message}` : `raw ${(e as Error).name}: ${(e as Error).message}`;
    }
    expect({ stored: JSON.stringify(op.request.body), self: code }).to.deep.equal({
      stored: JSON.stringify(body), // {"at":{}}
      self: 'resolved',
    });
  });

  it('refuses a body whose toJSON returns undefined (JSON cannot write it), rather than send the write with no body', async () => {
    const { client, collection } = makeClient();
    await client.ready();
    await unreachable(collection);
    // JSON.stringify gives undefined: normalizeBody refuses such a body ("not JSON-serialisable"). withToJSON turns it
    // into `body: undefined` in the page first, so the POST is queued and later sent with no body at all.
    let outcome: string;
    try {
      const op = await client.enqueue(post(`${collection}/u`, { toJSON: () => undefined }));
      outcome = `queued with body ${String(op.request.body)}`;
    } catch (e) {
      outcome = e instanceof SynclineError ? e.code : `raw ${(e as Error).name}`;
    }
    expect(outcome).to.equal('invalid-operation');
  });
});

describe('endpoint checks', () => {
  it('refuses (or keeps the path of) an endpoint with an empty query or fragment ("/api?", "/api#")', async () => {
    // url.search and url.hash are '' for a bare "?" or "#", so the new check passes them, but href keeps them:
    // the endpoint becomes "http://host/api?" and every relative request URL resolves against "…/api?/", i.e. the
    // origin's root: exactly what the check was written to prevent.
    for (const endpoint of ['/api?', '/api#']) {
      let stored: string;
      try {
        const c = createSyncClient({ endpoint, namespace: uniqueName('ep'), mode: 'in-page' });
        cleanups.push(() => c.close());
        const collection = uniqueName('c');
        await unreachable(collection);
        cleanups.push(() => unreachable(collection, false));
        const op = await c.enqueue(post(`${collection}/1`, { a: 1 }));
        stored = op.request.url;
        await c.clear({ discardUnsent: true });
      } catch (e) {
        if (!(e instanceof SynclineError)) throw e;
        stored = e.code;
      }
      expect(stored, endpoint).to.satisfy(
        (s: string) => s === 'invalid-config' || /\/api\//.test(s),
        `${endpoint} → ${stored}`,
      );
    }
  });
});

describe('the Trusted Types policy in an opaque origin', () => {
  it('refuses a data: worker URL in an opaque-origin (sandboxed) document: "null" is not the same origin as "null"', async () => {
    // The guard compares serialised origins: in a sandboxed frame globalThis.origin is "null", and so is the origin
    // of every data: URL, so data:text/javascript,… passes as "same-origin". location.origin (the old check) was the
    // frame URL's origin, which no data: URL matches.
    const source = await (await fetch('/src/trusted-script-url.ts')).text();
    const frame = document.createElement('iframe');
    frame.setAttribute('sandbox', 'allow-scripts');
    const script = `${source}
      try {
        const url = trustedScriptUrl('data:text/javascript,self.onconnect=()=>{}');
        parent.postMessage({ tt: 'accepted ' + String(url) }, '*');
      } catch (e) {
        parent.postMessage({ tt: 'refused ' + e.message }, '*');
      }`;
    // A sandboxed frame at a real URL (a blob: of this origin): location.origin is this origin, globalThis.origin "null".
    const page = new Blob([`<script type="module">${script.replace(/<\/script/gi, '<\\/script')}</script>`], {
      type: 'text/html',
    });
    const pageUrl = URL.createObjectURL(page);
    cleanups.push(() => URL.revokeObjectURL(pageUrl));
    frame.src = pageUrl;
    const answer = new Promise<string>((resolve) => {
      const on = (event: MessageEvent) => {
        if (event.source !== frame.contentWindow || typeof event.data?.tt !== 'string') return;
        window.removeEventListener('message', on);
        resolve(event.data.tt);
      };
      window.addEventListener('message', on);
    });
    document.body.append(frame);
    cleanups.push(() => frame.remove());
    const said = await Promise.race([answer, sleep(5000).then(() => 'no answer from the frame')]);
    expect(said).to.match(/^refused /);
  });
});

describe('styles per document', () => {
  it('an element moved into a document with no window (template content, createHTMLDocument) throws nothing', async () => {
    // adoptedCallback → styleForDocument: no defaultView → Lit's adoptStyles with the page's constructed sheets
    // into a shadow root that now belongs to another document → NotAllowedError, reported as an uncaught error.
    const errors: string[] = [];
    const onError = (event: ErrorEvent) => {
      errors.push(event.message);
      event.preventDefault();
    };
    window.addEventListener('error', onError);
    const host = await fixture(html`<div><sync-status></sync-status><pending-badge></pending-badge></div>`);
    try {
      const status = host.querySelector('sync-status')!;
      const badge = host.querySelector('pending-badge')!;
      await (status as unknown as { updateComplete: Promise<unknown> }).updateComplete;
      const template = document.createElement('template');
      template.content.append(status);
      const inert = document.implementation.createHTMLDocument('');
      inert.body.append(badge);
      await sleep(50);
      host.append(status, badge);
      await sleep(50);
      expect(errors, 'uncaught errors').to.deep.equal([]);
    } finally {
      window.removeEventListener('error', onError);
    }
  });
});

describe('<conflict-resolver> news after silence', () => {
  function fakeClient(initial: Conflict[]) {
    const list = new BehaviorSubject<Conflict[]>(initial);
    const client = {
      conflicts$: list.asObservable(),
      resolve: (_id: string, _r: Resolution) => Promise.reject(new Error('The engine stopped')),
    } as unknown as SyncClient;
    return { client, list };
  }

  it('does not say a refused resolve whose announcement silence cancelled, once un-silenced and news comes later', async () => {
    const announcer = new PageAnnouncer({ delay: 300, clearAfter: 10_000 });
    const log = liveLog();
    try {
      const fake = fakeClient([fakeConflict('x')]);
      const provider = await fixture(
        html`<sync-provider .client=${fake.client} .announcer=${announcer}><conflict-resolver></conflict-resolver></sync-provider>`,
      );
      const el = provider.querySelector<ConflictResolverElement>('conflict-resolver')!;
      await until(() => el.conflicts?.length === 1, 2000, 'first');
      const root = el.shadowRoot!;
      root.querySelector<HTMLInputElement>('input[type="radio"][name$=":title"][value="theirs"]')!.click();
      await el.updateComplete;
      root.querySelector<HTMLElement>('[part~="apply"]')!.click();
      await until(() => !!root.querySelector('[part~="error"]'), 2000, 'the refusal shown');
      // Silenced before the announcer's burst ends: the announcement is cancelled (willUpdate → announcer.cancel),
      // but the message stays in `unsaid`.
      el.silent = true;
      await el.updateComplete;
      await sleep(400);
      el.silent = false;
      await el.updateComplete;
      await sleep(1000);
      // Much later, unrelated news: a second conflict.
      const before = log.said.length;
      fake.list.next([...fake.list.value, fakeConflict('y', { id: 'k-y' })]);
      await until(() => log.said.some((s) => s.includes('2 conflicts need your decision')), 3000, 'the count said');
      expect(log.said.slice(before)).to.deep.equal(['2 conflicts need your decision']);
    } finally {
      log.stop();
      announcer.dispose();
    }
  });
});
