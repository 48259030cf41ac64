// The reference sync server: versioned collections, a changes feed, idempotent and batched writes, switchable faults.
import { Hono, type Context } from 'hono';
import { cors } from 'hono/cors';
import type { HttpBindings } from '@hono/node-server';
import { Store } from './db.ts';
import { FaultInjector, injectedResult, type FaultPlan } from './faults.ts';
import { decodePath, SyncApi, sleep } from './api.ts';
import { parseBatch, runBatch, type BatchLimits } from './batch.ts';
import { ApiError, checkCollection, EMPTY_BODY, methodNotAllowed, readJson, readRawBody, toResponse } from './http.ts';
import { defaultPrincipal, IdempotencyKeys } from './idempotency.ts';

export interface SyncServerOptions {
  /** SQLite file path; its directory is created when missing. */
  dbFile: string;
  /** Enables the /_admin fault switches and request stats (default false: those routes 404). */
  admin?: boolean;
  /**
   * How long a stored idempotent response is kept, from when it was stored (so at least that long from the
   * first request; default 7 days). Advertised in the capability document: a client whose op stayed uncertain
   * longer can no longer rely on a replay. A key whose request is still in progress never expires.
   */
  idempotencyTtlMs?: number;
  /**
   * How long a tombstone (a deleted entity) stays in the changes feed (default 30 days). Older ones are
   * purged by the background sweep; a `since` cursor from before a purged one then gets 410 cursor-expired.
   */
  tombstoneTtlMs?: number;
  /**
   * Largest accepted request body, and largest entity data as stored (re-encoded as JSON, which can be larger
   * than the body sent); more gets 413. Default 1 MiB, at most 256 MiB (an entity must fit in a feed page).
   */
  maxBodyBytes?: number;
  /** Where the API is mounted (default '/api'). */
  basePath?: string;
  /** Most items per changes-feed page (default 500). */
  changesPageSize?: number;
  /**
   * Most bytes of entity data per changes-feed page (default 4 MiB). A page always carries at least one
   * entity, so one larger than this comes in a page of its own and the cursor still moves.
   */
  changesPageBytes?: number;
  /**
   * Who makes a request: idempotency keys are scoped to it (two principals' equal keys never meet) and the
   * change log records it. Must return a non-empty string; may throw an ApiError (e.g. 401) to refuse the
   * request. Default: `bearer:<token>` from `Authorization: Bearer <token>`, else `anonymous`.
   * A real back end returns the authenticated user's id, not the credential, so a refreshed token keeps its keys.
   */
  principal?: (request: Request) => string;
  /**
   * Batch push at `POST {basePath}/_batch` (default on: 100 ops, 1 MiB). `false` turns it off: the route
   * answers 404, as on a server without batching, so clients can test their fallback to single requests.
   */
  batch?: false | { maxOps?: number; maxBytes?: number };
  /**
   * Cross-origin access for apps on other origins (default none: only same-origin pages, or a proxy, reach the API).
   * Preflights from `origins` are answered allowing the methods and headers they ask for (`Idempotency-Key`,
   * `If-Match` and the app's own), and `ETag`, `Retry-After` and `Location` are exposed: a client that cannot read
   * them cannot learn a version or a server's wish to wait. Each origin is exact (`https://app.example`, no path,
   * no wildcard). With `credentials`, browsers send cookies too (the client's `credentials: 'include'`).
   */
  cors?: { origins: readonly string[]; credentials?: boolean; maxAgeSeconds?: number };
}

/** The capability document, `GET {basePath}/_syncline`. */
export interface Capabilities {
  /** The sync protocol this server speaks; bumped only for changes an older client would get wrong. */
  protocol: number;
  idempotency: {
    /** How long a response stays replayable: at least this long after the first request with its key. */
    ttlMs: number;
  };
  /** Batch push, or null when the server has none (send one request per op). */
  batch: { path: string; maxOps: number; maxBytes: number } | null;
  changes: {
    /** How long a deletion stays in the feed; a cursor older than that may get 410 cursor-expired. */
    tombstoneTtlMs: number;
  };
}

export const PROTOCOL_VERSION = 1;

export interface SyncServer {
  app: Hono;
  /**
   * Purges expired idempotency keys and tombstones as of `now`. Runs in the background on its own; call it
   * to purge at once (tests pass a later `now` instead of waiting).
   */
  sweep(now?: number): { keys: number; tombstones: number };
  /** Closes the database and stops background timers. */
  close(): void;
}

type AppEnv = {
  // Absent when the app runs outside @hono/node-server (e.g. app.request() in a unit test).
  Bindings: Partial<HttpBindings> | undefined;
  Variables: { fault: FaultPlan | undefined };
};
type Ctx = Context<AppEnv>;

const DAY_MS = 24 * 60 * 60 * 1000;
// A feed page is written out as one JavaScript string (at most 2^29 - 24 UTF-16 units in V8); an entity as
// large as this still fits in one, with room to spare.
const MAX_BODY_BYTES = 256 * 1024 * 1024;
const MUTATING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
// Tells @hono/node-server that the response went out another way (here: not at all).
const ALREADY_SENT_HEADER = 'x-hono-already-sent';

export function createSyncServer(options: SyncServerOptions): SyncServer {
  const basePath = normalizeBasePath(options.basePath ?? '/api');
  const maxBodyBytes = positive('maxBodyBytes', options.maxBodyBytes ?? 1024 * 1024);
  if (maxBodyBytes > MAX_BODY_BYTES) {
    throw new TypeError(`maxBodyBytes must be at most ${MAX_BODY_BYTES}, got ${maxBodyBytes}`);
  }
  const pageSize = positiveInteger('changesPageSize', options.changesPageSize ?? 500);
  const pageBytes = positive('changesPageBytes', options.changesPageBytes ?? 4 * 1024 * 1024);
  const ttlMs = positive('idempotencyTtlMs', options.idempotencyTtlMs ?? 7 * DAY_MS);
  const tombstoneTtlMs = positive('tombstoneTtlMs', options.tombstoneTtlMs ?? 30 * DAY_MS);
  const principalOf = options.principal ?? defaultPrincipal;
  const batch: BatchLimits | null =
    options.batch === false
      ? null
      : {
          maxOps: positiveInteger('batch.maxOps', options.batch?.maxOps ?? 100),
          maxBytes: positive('batch.maxBytes', options.batch?.maxBytes ?? 1024 * 1024),
        };

  const corsOrigins = options.cors ? corsOriginsOf(options.cors.origins) : null;
  const store = new Store(options.dbFile);
  const keys = new IdempotencyKeys(store, ttlMs);
  const sweep = (now = Date.now()) => ({
    keys: keys.purgeExpired(now),
    tombstones: store.purgeTombstonesBefore(now - tombstoneTtlMs),
  });
  try {
    sweep();
  } catch (err) {
    store.close();
    throw err;
  }
  // Often enough that nothing outlives its TTL by much; the timer never keeps the process alive. A sweep that
  // fails (the file locked past busy_timeout by another process, a disk error) is tried again at the next tick:
  // thrown from a timer, it would end the process.
  const sweeper = setInterval(
    () => {
      try {
        if (store.open) sweep();
      } catch (err) {
        console.error('[syncline server] the sweep of expired keys and tombstones failed; tried again later:', err);
      }
    },
    Math.min(Math.max(Math.min(ttlMs, tombstoneTtlMs), 1000), 60 * 60 * 1000),
  );
  sweeper.unref();
  const faults = options.admin ? new FaultInjector(basePath, { batchPath: batch ? `${basePath}/_batch` : null }) : null;
  const adminPrefix = `${basePath}/_admin`;
  const path = (suffix: string) => `${basePath}${suffix}`;

  const app = new Hono<AppEnv>();

  app.onError((err) => {
    if (err instanceof ApiError) return toResponse(err.toResult());
    console.error('[syncline server]', err);
    return toResponse(new ApiError(500, 'internal', 'The server failed to handle this request.').toResult());
  });
  app.notFound((c) =>
    toResponse(new ApiError(404, 'not-found', `No route for ${c.req.method} ${c.req.path}.`).toResult()),
  );

  // Sync data must never come from an HTTP cache: a stale feed page or entity would silently lose updates. Around
  // everything else (a CORS preflight's answer too: every response under the API base carries it).
  app.use(path('/*'), async (c, next) => {
    await next();
    if (!c.res.headers.has(ALREADY_SENT_HEADER)) c.res.headers.set('cache-control', 'no-store');
  });

  // Before the fault switches and routes, so a preflight is answered before any of them sees it.
  if (corsOrigins)
    app.use(
      path('/*'),
      cors({
        origin: corsOrigins,
        allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
        exposeHeaders: ['ETag', 'Retry-After', 'Location'],
        credentials: options.cors!.credentials === true,
        maxAge: options.cors!.maxAgeSeconds ?? 600,
      }),
    );

  if (faults) {
    app.use(path('/*'), async (c, next) => {
      const { pathname } = new URL(c.req.url);
      // Decoded as the router reads it, so an encoded spelling of an admin path is still one.
      const routed = decodePath(pathname);
      if (routed === adminPrefix || routed.startsWith(`${adminPrefix}/`)) return next();
      // plan() decodes it the same way, for this request and for batch ops alike.
      const plan = faults.plan(c.req.method, pathname);
      c.set('fault', plan);
      const { outcome } = plan;
      if (outcome.kind === 'offline') return cutConnection(c);
      if (outcome.kind === 'status') {
        await sleep(plan.latencyMs);
        return toResponse(injectedResult(outcome));
      }
      // Writes wait later, after claiming their idempotency key, so a concurrent duplicate sees it in progress.
      if (!MUTATING_METHODS.has(c.req.method)) await sleep(plan.latencyMs);
      await next();
      if (outcome.kind === 'drop') c.res = cutConnection(c);
    });
  }

  // What a client needs to know before it relies on the server: fixed for the life of the process.
  const capabilities: Capabilities = {
    protocol: PROTOCOL_VERSION,
    idempotency: { ttlMs },
    batch: batch && { path: path('/_batch'), maxOps: batch.maxOps, maxBytes: batch.maxBytes },
    changes: { tombstoneTtlMs },
  };
  app.get(path('/_syncline'), (c) => c.json(capabilities));

  const health = (c: Ctx) => c.json({ ok: true, time: Date.now() });
  app.get(path('/health'), health);
  app.get(path('/health/*'), health);
  const readOnly = (c: Ctx) => {
    throw methodNotAllowed(c.req.method, c.req.path, ['GET', 'HEAD']);
  };
  app.all(path('/_syncline'), readOnly);
  app.all(path('/health'), readOnly);
  app.all(path('/health/*'), readOnly);

  const api = new SyncApi(store, keys, { basePath, pageSize, pageBytes, maxBodyBytes });

  if (faults) {
    app.get(path('/_admin/faults'), (c) => c.json({ rules: faults.list() }));
    app.post(path('/_admin/faults'), async (c) => c.json(faults.add(await readJson(c.req.raw, maxBodyBytes)), 201));
    app.put(path('/_admin/faults'), async (c) =>
      c.json({ rules: faults.replace(await readJson(c.req.raw, maxBodyBytes)) }),
    );
    app.delete(path('/_admin/faults'), (c) => {
      const removed = faults.clear(c.req.query('pathPrefix'));
      return c.json({ removed, rules: faults.list() });
    });
    app.get(path('/_admin/stats'), (c) => c.json({ requests: faults.requests(c.req.query('pathPrefix') ?? basePath) }));
    app.delete(path('/_admin/stats'), (c) => {
      faults.resetStats();
      return c.json({ requests: 0 });
    });
    app.get(path('/_admin/changes'), (c) => {
      const since = cursorParam(c.req.query('since'));
      const collection = c.req.query('collection');
      return c.json({
        items: store.changeLog(since, pageSize, collection === undefined ? undefined : checkCollection(collection)),
      });
    });
    // `{base}/_admin/direct/<path>` is the request `{base}/<path>` made by another client (principal `admin`), past
    // the fault switches: the demo's "Edit on server" while its visitor's side is switched off.
    const directPrefix = `${adminPrefix}/direct`;
    app.all(`${directPrefix}/*`, async (c) => {
      const url = new URL(c.req.url);
      // By segments of the path as sent: the router matched it decoded (`%5Fadmin`), and the rest stays encoded.
      const rest = url.pathname.split('/').slice(directPrefix.split('/').length).join('/');
      const target = `${basePath}/${rest}${url.search}`;
      const body = MUTATING_METHODS.has(c.req.method) ? await readRawBody(c.req.raw, maxBodyBytes) : EMPTY_BODY;
      return toResponse(
        await api.handle(
          { method: c.req.method, target, headers: c.req.raw.headers, body: body.bytes },
          { principal: 'admin', latencyMs: 0 },
        ),
      );
    });
  }
  // Without admin (and for unknown admin paths) these answer 404 rather than falling into the collection routes.
  app.all(path('/_admin'), (c) => notFound(c));
  app.all(path('/_admin/*'), (c) => notFound(c));

  app.all(path('/_batch'), async (c) => {
    if (!batch) return notFound(c);
    if (c.req.method !== 'POST') throw methodNotAllowed(c.req.method, c.req.path, ['POST']);
    const principal = checkPrincipal(principalOf(c.req.raw));
    if (c.req.header('idempotency-key') !== undefined) {
      throw new ApiError(400, 'bad-batch', 'A batch request carries no Idempotency-Key; each op has its own key.');
    }
    const raw = await readRawBody(c.req.raw, batch.maxBytes);
    const ops = parseBatch(c.req.header('content-type') ?? null, raw.bytes, basePath, batch);
    // The batch has no key of its own to claim first, so its injected latency comes before any op.
    await sleep(c.get('fault')?.latencyMs ?? 0);
    const { results, cut } = await runBatch(
      ops,
      (op, latencyMs) => api.handle(op, { principal, latencyMs }),
      faults ? (op) => faults.plan(op.method, op.pathname) : undefined,
    );
    return cut ? cutConnection(c) : c.json({ results });
  });

  // Every other path under the base goes to the shared handler, the same one each batch op goes through.
  const handle = async (c: Ctx) => {
    const url = new URL(c.req.url);
    const principal = checkPrincipal(principalOf(c.req.raw));
    const write = MUTATING_METHODS.has(c.req.method);
    const body = write ? await readRawBody(c.req.raw, maxBodyBytes) : EMPTY_BODY;
    const result = await api.handle(
      { method: c.req.method, target: url.pathname + url.search, headers: c.req.raw.headers, body: body.bytes },
      { principal, latencyMs: write ? (c.get('fault')?.latencyMs ?? 0) : 0 },
    );
    return toResponse(result);
  };
  app.all(basePath === '' ? '/' : basePath, handle);
  app.all(path('/*'), handle);

  return {
    app: app as unknown as Hono,
    sweep,
    close() {
      clearInterval(sweeper);
      store.close();
    },
  };
}

/**
 * Ends the exchange with no response at all, the way an unreachable server or a lost reply looks to a
 * client. Needs the Node socket; elsewhere a 503 is the nearest honest substitute.
 */
function cutConnection(c: Ctx): Response {
  const socket = c.env?.incoming?.socket;
  if (!socket) throw new ApiError(503, 'unreachable', 'Injected outage.');
  socket.destroy();
  return new Response(null, { headers: { [ALREADY_SENT_HEADER]: 'true' } });
}

function notFound(c: Ctx): Response {
  return toResponse(new ApiError(404, 'not-found', `No route for ${c.req.method} ${c.req.path}.`).toResult());
}

function cursorParam(value: string | undefined): number {
  if (!value) return 0;
  if (!/^\d{1,15}$/.test(value)) throw new ApiError(400, 'bad-cursor', 'since must be a non-negative integer.');
  return Number(value);
}

function checkPrincipal(principal: unknown): string {
  if (typeof principal !== 'string' || principal === '') {
    throw new TypeError(`The principal option must return a non-empty string, got ${JSON.stringify(principal)}`);
  }
  return principal;
}

function normalizeBasePath(basePath: string): string {
  const trimmed = basePath.replace(/\/+$/, '');
  if (trimmed !== '' && !/^\/[^?#]*$/.test(trimmed)) throw new TypeError(`basePath must start with "/": ${basePath}`);
  return trimmed;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/** The `cors.origins` option checked: each a bare origin, as browsers send it in `Origin`. */
function corsOriginsOf(origins: readonly string[]): string[] {
  if (!Array.isArray(origins) || origins.length === 0)
    throw new TypeError('cors.origins must list at least one origin, e.g. ["https://app.example"]');
  return origins.map((origin) => {
    let parsed: URL | null = null;
    try {
      parsed = typeof origin === 'string' ? new URL(origin) : null;
    } catch {
      /* reported below */
    }
    // Browsers compare Origin byte for byte: a trailing slash, a path or a default port written out never matches.
    if (!parsed || parsed.origin === 'null' || parsed.origin !== origin)
      throw new TypeError(
        `cors.origins: ${JSON.stringify(origin)} is not an origin as browsers send it (scheme://host[:port]${parsed && parsed.origin !== 'null' ? `, here ${parsed.origin}` : ''})`,
      );
    return origin;
  });
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number, got ${value}`);
  return value;
}
