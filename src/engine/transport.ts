// Sends one stored operation: builds the request, never follows a redirect, and reads back what the answer means.
import type { FormEntry, Operation, OperationResult } from '../types.ts';
import type { Clock } from './clock.ts';
import { classifyResponse, type Outcome } from './outcome.ts';
import { idempotencyKey } from './ids.ts';
import { RequestWatch } from './watch.ts';

/** The longest response body kept for an error or a result. */
export const MAX_BODY_KEPT = 64 * 1024;

export interface TransportOptions {
  fetch: typeof fetch;
  clock: Clock;
  credentials: RequestCredentials;
  requestTimeoutMs: number;
  /** The longest JSON answer parsed (a batch's results are bigger than one operation's answer). */
  maxBodyBytes?: number;
  /**
   * The engine's requests out now: their timeouts share one timer, and the engine closing stops them all (a request
   * still waiting in the browser never leaves). Without one, the attempt watches its own request.
   */
  watch?: RequestWatch;
  /** The headers are known to be ones the browser accepts (an operation's own, checked when it was queued). */
  headersChecked?: boolean;
}

/** An attempt's outcome, plus the server's answer when it is a delivery. */
export interface Attempt {
  outcome: Outcome;
  result?: Omit<OperationResult, 'id' | 'completedAt'>;
  /** The answer's ETag, whatever its status: a 412 names the server's current version in it. */
  etag?: string;
}

/** Paths under the API base a batch op may not target (docs/server-contract.md, section 5). */
const NOT_BATCH_TARGETS = new Set(['_batch', '_admin', '_syncline', 'health']);

/**
 * Whether an operation can travel inside a batch to `batchUrl`: a write with a text body, on the batch route's
 * origin, under the API base (`endpoint`) and not at one of its reserved paths. Any other is sent alone: in a
 * batch the server would refuse the whole request for it.
 */
export function batchable(op: Operation, batchUrl: string, endpoint: string): boolean {
  if (op.request.method === 'GET' || op.request.method === 'HEAD') return false;
  if (op.request.bodyType === 'binary' || op.request.bodyType === 'form') return false;
  const url = new URL(op.request.url);
  if (url.origin !== new URL(batchUrl).origin) return false;
  const base = new URL(endpoint).pathname.replace(/\/+$/, '');
  if (!url.pathname.startsWith(`${base}/`)) return false;
  return !NOT_BATCH_TARGETS.has(url.pathname.slice(base.length + 1).split('/')[0]!);
}

/** One result of a batch answer, checked: an HTTP status, and only the headers given as text (names in lower case). */
export interface BatchAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Reads one entry of a batch answer's `results`; null when it is not a result at all (a server's fault). */
export function readBatchAnswer(value: unknown): BatchAnswer | null {
  if (!value || typeof value !== 'object') return null;
  const { status, headers, body } = value as { status?: unknown; headers?: unknown; body?: unknown };
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) return null;
  const kept: Record<string, string> = {};
  if (headers && typeof headers === 'object') {
    for (const [name, text] of Object.entries(headers)) if (typeof text === 'string') kept[name.toLowerCase()] = text;
  }
  return { status, headers: kept, body };
}

/** One operation as an entry of a batch (see docs/server-contract.md): its key, method, path, headers and body as text. */
export function batchEntry(op: Operation): {
  key: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
} {
  const url = new URL(op.request.url);
  const headers: Record<string, string> = { ...(op.request.headers ?? {}) };
  let body: string | undefined;
  const stored = op.request.body;
  if (stored !== undefined && stored !== null) {
    const json = (op.request.bodyType ?? (typeof stored === 'string' ? 'text' : 'json')) === 'json';
    body = json ? JSON.stringify(stored) : (stored as string);
    if (json && !hasHeader(headers, 'content-type')) headers['Content-Type'] = 'application/json';
  }
  return {
    key: idempotencyKey(op),
    method: op.request.method,
    path: url.pathname + url.search,
    headers,
    ...(body !== undefined ? { body } : {}),
  };
}

/** The request for one attempt at `op`, with credentials from `authorize()` merged in at send time. */
export function buildRequest(op: Operation, auth: Record<string, string> | null): { url: string; init: RequestInit } {
  const headers: Record<string, string> = { ...(op.request.headers ?? {}), ...(auth ?? {}) };
  headers['Idempotency-Key'] = `"${idempotencyKey(op)}"`;
  // Asking for JSON lets an HTML page from a captive portal be told apart from a delivery.
  if (!hasHeader(headers, 'accept')) headers['Accept'] = 'application/json';
  let body: BodyInit | null = null;
  const stored = op.request.body;
  if (stored !== undefined && stored !== null) {
    switch (op.request.bodyType ?? (typeof stored === 'string' ? 'text' : 'json')) {
      case 'text':
        body = stored as string;
        break;
      case 'binary':
        body = stored as Blob | ArrayBuffer;
        break;
      case 'form': {
        // The browser writes the multipart boundary into Content-Type itself.
        const form = new FormData();
        for (const [name, value, filename] of stored as FormEntry[]) {
          if (typeof value === 'string') form.append(name, value);
          else
            form.append(name, value instanceof Blob ? value : new Blob([value.bytes], { type: value.type }), filename);
        }
        body = form;
        break;
      }
      case 'json':
        body = JSON.stringify(stored);
        if (!hasHeader(headers, 'content-type')) headers['Content-Type'] = 'application/json';
        break;
    }
  }
  return { url: op.request.url, init: { method: op.request.method, headers, body } };
}

/**
 * One request with a timeout. Redirects are never followed (`redirect: 'manual'`): a 3xx could carry the body,
 * the key and the credentials off the allowed origins. Never throws: every failure is an Attempt.
 */
export async function attempt(url: string, init: RequestInit, options: TransportOptions): Promise<Attempt> {
  try {
    // Headers the browser refuses to build (from an `authorize()` hook: a line break, a character above U+00FF):
    // the request never leaves, so its failure is known, not a lost answer that may have been applied. An
    // operation's own headers passed the same check when it was queued.
    if (!options.headersChecked) new Headers(init.headers);
  } catch (error) {
    return {
      outcome: {
        type: 'retry',
        strike: true,
        error: {
          kind: 'network',
          message: `Not sent: ${(error as Error)?.message || 'the browser refused its headers'}`,
        },
      },
    };
  }
  const watch = options.watch ?? new RequestWatch(options.clock);
  const watched = watch.start(options.requestTimeoutMs);
  try {
    const response = await options.fetch(url, {
      ...init,
      credentials: options.credentials,
      redirect: 'manual',
      cache: 'no-store',
      signal: watched.controller.signal,
    });
    if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) {
      return {
        outcome: classifyResponse(
          { status: response.status, retryAfter: null, body: undefined, redirected: true },
          options.clock.now(),
        ),
      };
    }
    const contentType = response.headers.get('Content-Type') ?? '';
    const body = await readBody(response, contentType, options.maxBodyBytes ?? MAX_BODY_KEPT);
    const htmlInsteadOfJson = /text\/html/i.test(contentType) && /json/i.test(headerOf(init.headers, 'accept') ?? '');
    const ok = response.status >= 200 && response.status < 300;
    const outcome = classifyResponse(
      // A success has no use for Retry-After: not read (a call into the browser per request).
      { status: response.status, retryAfter: ok ? null : response.headers.get('Retry-After'), body, htmlInsteadOfJson },
      options.clock.now(),
    );
    const etag = response.headers.get('ETag');
    if (outcome.type !== 'done') return { outcome, ...(etag ? { etag } : {}) };
    const location = response.headers.get('Location');
    return {
      outcome,
      result: {
        status: response.status,
        ...(etag ? { etag } : {}),
        ...(location ? { location } : {}),
        ...(body !== undefined ? { body } : {}),
      },
    };
  } catch (error) {
    if (watched.timedOut) {
      return {
        outcome: {
          type: 'retry',
          strike: true,
          uncertain: true,
          error: { kind: 'timeout', message: `No answer within ${options.requestTimeoutMs} ms.` },
        },
      };
    }
    // No answer at all: maybe no network, maybe a request the browser would not send. The engine asks the
    // health probe which, before it decides between "offline" and a strike for this operation.
    return {
      outcome: {
        type: 'retry',
        strike: false,
        uncertain: true,
        error: { kind: 'network', message: (error as Error)?.message || 'Network error' },
      },
    };
  } finally {
    watch.end(watched);
    // A watch of its own: its timer goes with it.
    if (!options.watch) watch.stop();
  }
}

/** An attempt the browser refused to send (see `attempt`): the only network failure known not to have been applied. */
export function neverSent(outcome: Outcome): boolean {
  return outcome.type === 'retry' && outcome.error.kind === 'network' && !outcome.uncertain;
}

async function readBody(response: Response, contentType: string, maxJson: number): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  if (/json/i.test(contentType) && text.length <= maxJson) {
    try {
      return JSON.parse(text);
    } catch {
      /* fall through to text */
    }
  }
  return text.slice(0, MAX_BODY_KEPT);
}

/** The value of header `name` (lower case) in `headers`; a plain record is read without building a Headers. */
function headerOf(headers: HeadersInit | undefined, name: string): string | null {
  if (!headers) return null;
  if (headers instanceof Headers || Array.isArray(headers)) return new Headers(headers).get(name);
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return headers[key]!;
  return null;
}

/** Whether `headers` has `name` (lower case), in any case. */
export function hasHeader(headers: Record<string, string> | undefined, name: string): boolean {
  return headerOf(headers, name) !== null;
}

/**
 * Whether `url` is on one of `origins` (serialised origins). A URL that begins with one of them and a slash is on it:
 * the host ends at the first slash. Any other is parsed, so the answer is always the URL's own origin; parsing
 * every request's URL was a tenth of the lane loop's own time. Checked before every send (an operation, a push, a pull).
 */
export function onAllowedOrigin(url: string, origins: readonly string[]): boolean {
  for (const origin of origins) if (url.startsWith(origin) && url.charCodeAt(origin.length) === 47) return true;
  return origins.includes(new URL(url).origin);
}
