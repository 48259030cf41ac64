// The sync API as one function of (method, target, headers, body) → ApiResult, shared by the HTTP routes and batch ops.
import type { Store, StoredResponse, WriteOrigin } from './db.ts';
import {
  ApiError,
  checkCollection,
  checkId,
  jsonResult,
  methodNotAllowed,
  parseIfMatch,
  parseJsonObject,
  type ApiResult,
} from './http.ts';
import { IdempotencyKeys, parseIdempotencyKey, replayResult, requestFingerprint } from './idempotency.ts';
import { createEntity, deleteEntity, getEntity, listChanges, putEntity } from './resources.ts';

/** The methods whose Idempotency-Key counts (keys are for writes; other methods ignore one). */
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** One request to a collection route, as data: a single HTTP request or one op of a batch. */
export interface ApiRequest {
  method: string;
  /** Absolute path and query exactly as sent, e.g. `/api/tasks/42?x=1`. */
  target: string;
  headers: Headers;
  body: Uint8Array;
}

/** What the caller knows about the exchange that carries the request. */
export interface ApiContext {
  /** Whose request it is: idempotency keys are scoped to it, and the change log records it. */
  principal: string;
  /** Injected latency for a write; waited after the key is claimed, so a concurrent duplicate sees it in progress. */
  latencyMs: number;
}

export interface ApiOptions {
  basePath: string;
  pageSize: number;
  /** Most bytes of entity data in one feed page past its first entity. */
  pageBytes: number;
  maxBodyBytes: number;
}

/**
 * A request's Idempotency-Key with the fingerprint it is bound to (hashed once, for the key's answer and admission),
 * and the stored response the key already answers it with.
 */
type KeyedRequest = { key: string; fingerprint: string; replay: StoredResponse | null };

type Route = { kind: 'collection'; collection: string } | { kind: 'item'; collection: string; id: string };

export class SyncApi {
  readonly #store: Store;
  readonly #keys: IdempotencyKeys;
  readonly #options: ApiOptions;

  constructor(store: Store, keys: IdempotencyKeys, options: ApiOptions) {
    this.#store = store;
    this.#keys = keys;
    this.#options = options;
  }

  /**
   * Answers one request. Never throws for a request's fault: every ApiError becomes its result, and an
   * unexpected error becomes a 500 result (logged), so a batch can report it like any other outcome.
   */
  async handle(request: ApiRequest, context: ApiContext): Promise<ApiResult> {
    try {
      return await this.#dispatch(request, context);
    } catch (err) {
      if (err instanceof ApiError) return err.toResult();
      console.error('[syncline server]', err);
      return new ApiError(500, 'internal', 'The server failed to handle this request.').toResult();
    }
  }

  async #dispatch(request: ApiRequest, context: ApiContext): Promise<ApiResult> {
    const url = new URL(request.target, 'http://syncline.invalid');
    const method = request.method.toUpperCase();
    // A key already used is answered before the request's own checks (contract section 1): a retry gets the
    // first request's answer (or 409 while that is in progress) whatever its headers, and a bad path, method or
    // body under a key used for another request is a 422, not a 400, 405 or 413.
    const keyed = WRITE_METHODS.has(method) ? this.#keyOf(request, context) : null;
    if (keyed?.replay) return replayResult(keyed.replay);
    const route = this.#route(method, url.pathname);
    const { headers } = request;
    const store = this.#store;
    if (request.body.byteLength > this.#options.maxBodyBytes) {
      throw new ApiError(413, 'too-large', `The body exceeds ${this.#options.maxBodyBytes} bytes.`);
    }
    if (route.kind === 'collection') {
      const { collection } = route;
      switch (method) {
        case 'GET':
        case 'HEAD':
          return jsonResult(
            200,
            listChanges(
              store,
              collection,
              url.searchParams.get('since') ?? undefined,
              this.#options.pageSize,
              this.#options.pageBytes,
            ),
          );
        case 'POST': {
          const data = this.#entityData(request);
          // Refused by validation before any processing, so not stored under the key (as a bad body is not).
          if ('id' in data) checkId(data['id']);
          return this.#write(keyed, context, (origin) =>
            createEntity(store, collection, data, this.#location(collection), origin),
          );
        }
        default:
          throw methodNotAllowed(method, url.pathname, ['GET', 'HEAD', 'POST']);
      }
    }
    const { collection, id } = route;
    switch (method) {
      case 'GET':
      case 'HEAD':
        return getEntity(store, collection, id);
      case 'PUT': {
        const ifMatch = parseIfMatch(headers.get('if-match'));
        const ifNoneMatch = parseIfMatch(headers.get('if-none-match'), 'If-None-Match');
        const data = this.#entityData(request);
        return this.#write(keyed, context, (origin) =>
          putEntity(store, collection, id, data, { ifMatch, ifNoneMatch }, this.#location(collection), origin),
        );
      }
      case 'DELETE': {
        const ifMatch = parseIfMatch(headers.get('if-match'));
        return this.#write(keyed, context, (origin) => deleteEntity(store, collection, id, ifMatch, origin));
      }
      default:
        throw methodNotAllowed(method, url.pathname, ['GET', 'HEAD', 'PUT', 'DELETE']);
    }
  }

  /** `{basePath}/{collection}` or `{basePath}/{collection}/{id}`; anything else is 404. */
  #route(method: string, pathname: string): Route {
    const { basePath } = this.#options;
    const rest = pathname.startsWith(`${basePath}/`) ? pathname.slice(basePath.length + 1) : null;
    const segments = rest === null ? [] : rest.split('/').map(decodeSegment);
    if (segments.length === 0 || segments.length > 2 || segments.some((s) => s === '')) {
      throw new ApiError(404, 'not-found', `No route for ${method} ${pathname}.`);
    }
    const collection = checkCollection(segments[0]!);
    return segments.length === 1
      ? { kind: 'collection', collection }
      : { kind: 'item', collection, id: checkId(segments[1]!) };
  }

  /**
   * The body as entity data, refused (413) when what would be stored is over maxBodyBytes: the store keeps
   * data re-encoded as JSON, which can be several times the body (`1e20` is stored as 21 digits), and every
   * stored entity must stay small enough to go out in a feed page.
   */
  #entityData(request: ApiRequest): Record<string, unknown> {
    const data = parseJsonObject(request.headers.get('content-type'), request.body);
    const { maxBodyBytes } = this.#options;
    const stored = Buffer.byteLength(JSON.stringify(data));
    if (stored > maxBodyBytes) {
      throw new ApiError(
        413,
        'too-large',
        `The data takes ${stored} bytes once stored as JSON (numbers and escapes written out); the limit is ${maxBodyBytes}.`,
        { storedBytes: stored, limit: maxBodyBytes },
      );
    }
    return data;
  }

  /**
   * The request's Idempotency-Key and what it already answers: refused (422) when it was used for a different
   * request, 409 while the first request with it is in progress, or the stored response to replay.
   */
  #keyOf(request: ApiRequest, context: ApiContext): KeyedRequest | null {
    const key = parseIdempotencyKey(request.headers.get('idempotency-key'));
    if (key === null) return null;
    const fingerprint = requestFingerprint(request.method, request.target, request.body);
    return { key, fingerprint, replay: this.#keys.answered(context.principal, key, fingerprint) };
  }

  #location(collection: string): (id: string) => string {
    const { basePath } = this.#options;
    return (id) => `${basePath}/${encodeURIComponent(collection)}/${encodeURIComponent(id)}`;
  }

  /**
   * Runs a validated write: claims the Idempotency-Key if one is sent, waits out injected latency, then
   * applies the effect and stores its response in one transaction. Replays and 409/422 answers skip the work.
   */
  async #write(
    keyed: KeyedRequest | null,
    context: ApiContext,
    write: (origin: WriteOrigin) => ApiResult,
  ): Promise<ApiResult> {
    const { principal } = context;
    const work = () => write({ principal, idempotencyKey: keyed?.key ?? null });
    if (keyed === null) {
      await sleep(context.latencyMs);
      return this.#store.transaction(() => this.#apply(work));
    }
    const admission = this.#keys.admit(principal, keyed.key, keyed.fingerprint, context.latencyMs);
    if (admission.kind === 'replay') return replayResult(admission.response);
    const { claim } = admission;
    try {
      await sleep(context.latencyMs);
      return this.#store.transaction(() => {
        const result = this.#apply(work);
        this.#keys.settle(claim, result);
        return result;
      });
    } catch (err) {
      this.#keys.release(claim);
      throw err;
    }
  }

  /**
   * Runs the work in a savepoint. An ApiError thrown by it is its answer; that and any other non-2xx answer
   * undo whatever the work wrote first, so a failed request (whose key may be released) leaves no effect.
   */
  #apply(work: () => ApiResult): ApiResult {
    try {
      return this.#store.transaction(() => {
        const result = work();
        if (result.status < 200 || result.status > 299) throw new Rollback(result);
        return result;
      });
    } catch (err) {
      if (err instanceof ApiError) return err.toResult();
      if (err instanceof Rollback) return err.result;
      throw err;
    }
  }
}

/** Carries a non-2xx result out of a savepoint so the savepoint rolls back. */
class Rollback extends Error {
  constructor(readonly result: ApiResult) {
    super(`rolled back: ${result.status}`);
  }
}

/**
 * A path as the router reads it: each segment percent-decoded. Fault rules and request stats use this form,
 * so `/api/ta%73ks/2` counts, and is faulted, as the `/api/tasks/2` it is routed to.
 */
export function decodePath(pathname: string): string {
  return pathname.split('/').map(decodeSegment).join('/');
}

/** Percent-decodes one path segment; a malformed escape stays as sent and fails the name checks. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
