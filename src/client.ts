// The main-thread API: createSyncClient picks a runtime (SharedWorker, leader tab or in-page) and exposes one queue as streams.
import {
  Observable,
  combineLatest,
  defer,
  distinctUntilChanged,
  filter,
  from,
  map,
  of,
  scan,
  shareReplay,
  startWith,
} from 'rxjs';
import { SynclineError, SynclineErrorCode, unreadableInput } from './errors.ts';
import { operationId } from './engine/ids.ts';
import { asJsonValue, normalizeBody } from './engine/body.ts';
import type { EngineHost } from './rpc/host.ts';
import { EngineConnection, type ConnectionState, type PageAuthorizeHook } from './rpc/connection.ts';
import {
  CollectionHandle,
  conflictList,
  dirtyEntityList,
  type Collection,
  type CollectionOptions,
} from './collection.ts';
import { portLink, type Link, type TopicEvent } from './rpc/protocol.ts';
import { broadcastLink } from './runtime/broadcast.ts';
import { channelName, checkNamespace, tabLockName, workerName } from './runtime/names.ts';
import { peekQueueSize } from './runtime/peek.ts';
import { trustedScriptUrl } from './trusted-script-url.ts';
import {
  allowedOriginsOf,
  COLLECTION_NAME_PATTERN,
  CONFLICT_STRATEGIES,
  Connectivity,
  MAX_TIMER_MS,
  Runtime,
  type EngineConfig,
  type EngineStatus,
  type Operation,
  type OperationFilter,
  type OperationInput,
  type OperationResult,
  type OperationWindow,
  type Conflict,
  type DirtyEntity,
  type EntityRecord,
  type Resolution,
  type SyncMode,
  type SyncStatus,
} from './types.ts';

export interface SyncClientOptions extends Partial<Omit<EngineConfig, 'endpoint' | 'namespace'>> {
  /** Base URL of the API ("/api" or absolute). */
  endpoint: string;
  /** Separates users on one device: database, worker and locks all carry it. */
  namespace: string;
  /** `auto` tries a SharedWorker, then a leader tab, then in-page. */
  mode?: SyncMode;
  /** Where the worker script is served, for apps that load syncline from elsewhere. */
  workerUrl?: string | URL;
  /**
   * Fresh credentials for each request, asked just before it is sent: headers to add, null for none, or false
   * when the user is signed out (the queue pauses until `resume()`). A throw is not a verdict: asked again later.
   * It may answer at once (a plain value) or with a promise.
   */
  authorize?: PageAuthorizeHook;
  /** Without Web Locks only: how often a tab checks that its engine is alive. */
  heartbeatMs?: number;
  /** Ask the browser to keep the SharedWorker alive briefly after the last tab closes (default true). */
  extendedLifetime?: boolean;
  /** How long `auto` waits for a SharedWorker before falling back. */
  startTimeoutMs?: number;
  /** Every call resolves or rejects within this (default 15 s): `unavailable` when the engine cannot be reached. */
  callTimeoutMs?: number;
}

/** One namespace's queue as seen from a tab. Every stream is cold and releases its engine-side query on unsubscribe. */
export interface SyncClient {
  readonly namespace: string;
  readonly config: Readonly<EngineConfig>;
  /** Queues one operation; resolves once it is durably stored. */
  enqueue(input: OperationInput): Promise<Operation>;
  /** Queues several operations in one transaction: all or none. */
  enqueueMany(inputs: OperationInput[]): Promise<Operation[]>;
  /**
   * The server's answer once the operation is done (status, ETag, Location, JSON body), waiting while it is
   * queued; rejects with `discarded` if it is discarded first, `not-found` if it is unknown (or its result has
   * expired: results are kept a day), `closed` or `update-required` if the client can no longer learn it.
   */
  settled(id: string): Promise<OperationResult>;
  /** Every unsent operation, in queue order. */
  readonly operations$: Observable<Operation[]>;
  /** How many operations have not reached the server yet (the sum of `status.counts`). */
  readonly pendingCount$: Observable<number>;
  readonly status$: Observable<SyncStatus>;
  watchOperations(filter?: OperationFilter): Observable<Operation[]>;
  count$(filter?: OperationFilter): Observable<number>;
  /** A live window of the queue in `seq` order, for virtual lists. */
  window$(filter: OperationFilter, offset: number, limit: number): Observable<OperationWindow>;
  /** The lanes that hold operations now. */
  lanes(): Promise<string[]>;
  retry(id: string): Promise<Operation>;
  retryAll(filter?: OperationFilter): Promise<number>;
  discard(id: string): Promise<boolean>;
  syncNow(): Promise<void>;
  /** Lifts a pause for sign-in: call after the user has signed in again. */
  resume(): Promise<void>;
  /**
   * Removes this namespace's data (a logout): the queued operations, the results kept for `settled()`, and Background
   * Sync's replica (entities, edits, conflicts; each collection pulls from the start next time). Refuses while
   * operations or edits have not reached the server, unless `discardUnsent`. Collections stay registered.
   */
  clear(options?: { discardUnsent?: boolean }): Promise<number>;
  /**
   * Resolves once the engine has answered this tab; `unavailable` after `timeoutMs` (10 s; Infinity or 2^31 ms and
   * more: no limit). A negative or NaN time is refused (`invalid-config`).
   */
  ready(timeoutMs?: number): Promise<void>;
  /**
   * A Background Sync collection (the same handle for the same name): edits show at once and are pushed in the
   * background; the server's changes are pulled. See `Collection`.
   */
  collection<T extends object = Record<string, unknown>>(name: string, options?: CollectionOptions<T>): Collection<T>;
  /** Every open Background Sync conflict, oldest first. */
  readonly conflicts$: Observable<Conflict[]>;
  /**
   * Every entity whose edit the server has not accepted yet, over all collections (also those this tab has not
   * opened), oldest edit first: what widgets show beside the queue's operations.
   */
  readonly dirtyEntities$: Observable<DirtyEntity[]>;
  /** Settles a conflict: the result is pushed against the server's current version. */
  resolve<T extends object = Record<string, unknown>>(
    conflictId: string,
    resolution: Resolution<T>,
  ): Promise<EntityRecord<T> | null>;
  close(): void;
}

const DEFAULTS: Omit<EngineConfig, 'endpoint' | 'namespace' | 'healthUrl'> = {
  allowedOrigins: [],
  credentials: 'same-origin',
  durability: 'strict',
  maxPayloadBytes: 1024 * 1024,
  requestTimeoutMs: 30_000,
  maxAttempts: 8,
  backoffBaseMs: 1_000,
  backoffCapMs: 60_000,
  maxRetryAfterMs: 60 * 60_000,
  laneConcurrency: 4,
  probeIntervalMs: 5_000,
  authorizeTimeoutMs: 10_000,
  batch: true,
  batchMaxOps: 100,
};

const EMPTY_STATUS: EngineStatus = {
  connectivity: Connectivity.Online,
  syncing: false,
  paused: null,
  counts: { pending: 0, sending: 0, failed: 0, conflict: 0 },
  lastSyncAt: null,
  storage: 'ok',
  clients: 0,
  engineError: null,
  entities: { dirty: 0, conflicts: 0, failed: 0 },
};

/**
 * What `status$` shows when no engine has ever answered (it is unavailable, or a newer version needs a reload):
 * the queue read in the page, all counted as pending (the read does not tell statuses apart), rather than a
 * queue of zero. Zero only where no queue was found.
 */
function statusBeforeEngine(queued: number | null): EngineStatus {
  return queued ? { ...EMPTY_STATUS, counts: { ...EMPTY_STATUS.counts, pending: queued } } : EMPTY_STATUS;
}

/** How long the engine's start waits for the early read of the queue size (it takes ~10 ms alone; see the constructor). */
const EARLY_READ_WAIT_MS = 50;
/**
 * This page's id, shared by every client in it (micro-frontends may make several): the engine counts pages, not
 * clients, so two clients of one page are not "another tab that keeps sending".
 */
const PAGE_ID = operationId();

function pageBase(): string {
  return globalThis.document?.baseURI ?? globalThis.location?.href ?? 'http://localhost/';
}

/**
 * Refuses an endpoint that is not there: resolved against the page, a missing, empty or blank one would become
 * the page's own URL, and every request would go there instead of failing where the mistake is.
 */
function checkEndpoint(endpoint: unknown): asserts endpoint is string {
  let problem: string | undefined;
  if (endpoint === undefined || endpoint === null) problem = 'missing';
  else if (typeof endpoint !== 'string') problem = `of type ${typeof endpoint}, not a string`;
  else if (endpoint === '') problem = 'empty';
  else if (endpoint.trim() === '') problem = 'blank';
  if (problem) {
    throw new SynclineError(
      SynclineErrorCode.InvalidConfig,
      `\`endpoint\` must be the URL of the sync API, such as "/api"; it is ${problem}.`,
    );
  }
}

/** Fills defaults and makes URLs absolute (the worker has another base URL than the page). */
export function resolveConfig(options: SyncClientOptions): EngineConfig {
  checkNamespace(options.namespace);
  checkEndpoint(options.endpoint);
  let url: URL;
  try {
    url = new URL(options.endpoint, pageBase());
  } catch {
    throw new SynclineError(SynclineErrorCode.InvalidConfig, `\`endpoint\` is not a URL: ${options.endpoint}`);
  }
  // Requests are resolved against the endpoint's path: a query or fragment would be cut off them (every relative
  // URL landing at the origin's root); another scheme or a user name could never be sent to.
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new SynclineError(
      SynclineErrorCode.InvalidConfig,
      `\`endpoint\` must be an http(s) URL: ${options.endpoint}`,
    );
  // On the string as given: a bare "?" or "#" leaves url.search and url.hash empty, and the href keeps it.
  if (/[?#]/.test(options.endpoint) || url.username || url.password)
    throw new SynclineError(
      SynclineErrorCode.InvalidConfig,
      `\`endpoint\` may not carry a query, a fragment or a user name: ${options.endpoint}`,
    );
  const endpoint = url.href.replace(/\/+$/, '');
  const config: EngineConfig = { ...DEFAULTS, healthUrl: `${endpoint}/health`, endpoint, namespace: options.namespace };
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    if (options[key] !== undefined) (config as unknown as Record<string, unknown>)[key] = options[key];
  }
  checkTunables(config);
  try {
    if (options.healthUrl) config.healthUrl = new URL(options.healthUrl, pageBase()).href;
  } catch {
    throw new SynclineError(SynclineErrorCode.InvalidConfig, `\`healthUrl\` is not a URL: ${options.healthUrl}`);
  }
  // Absolute, each: a bare host name read against the page would allow the page's own origin instead.
  config.allowedOrigins = config.allowedOrigins.map((o) => {
    let url: URL | null = null;
    try {
      url = new URL(String(o));
    } catch {
      /* refused below */
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:'))
      throw new SynclineError(
        SynclineErrorCode.InvalidConfig,
        `An \`allowedOrigins\` entry must be an absolute http(s) URL or origin, like https://api.example.com: ${String(o)}`,
      );
    return url.origin;
  });
  // The probe carries credentials like any request: it must not go where requests may not.
  const origins = allowedOriginsOf(config);
  if (!origins.includes(new URL(config.healthUrl).origin)) {
    throw new SynclineError(
      SynclineErrorCode.InvalidConfig,
      `\`healthUrl\` must be on ${origins.join(', ')} (add its origin to allowedOrigins).`,
    );
  }
  return config;
}

/**
 * Refuses tunables the engine cannot run with: a duration that is not a number of milliseconds a timer holds, a
 * count that is not a positive integer, an unknown mode. Without this, NaN or 2^31 ms made a retry loop spin.
 */
function checkTunables(config: EngineConfig): void {
  const c = config as unknown as Record<string, unknown>;
  const check = (key: string, ok: boolean, rule: string) => checkOption(c, key, ok, rule);
  // Durations, by the least each may be: timeouts and the probe interval must be some time at all.
  checkDurations(c, {
    requestTimeoutMs: 1,
    probeIntervalMs: 1,
    authorizeTimeoutMs: 1,
    backoffBaseMs: 0,
    backoffCapMs: 0,
    maxRetryAfterMs: 0,
  });
  for (const key of ['maxAttempts', 'laneConcurrency', 'batchMaxOps', 'maxPayloadBytes'])
    check(
      key,
      Number.isSafeInteger(c[key]) && (c[key] as number) >= 1,
      key === 'maxPayloadBytes' ? 'a whole number of bytes from 1' : 'a whole number from 1',
    );
  const oneOf = (key: string, allowed: string[]) =>
    check(
      key,
      allowed.includes(c[key] as string),
      `${allowed
        .slice(0, -1)
        .map((a) => `'${a}'`)
        .join(', ')} or '${allowed.at(-1)}'`,
    );
  oneOf('credentials', ['omit', 'same-origin', 'include']);
  oneOf('durability', ['strict', 'relaxed', 'default']);
  const { batch, allowedOrigins } = config;
  check(
    'batch',
    typeof batch === 'boolean' || (Array.isArray(batch) && batch.every((lane) => typeof lane === 'string')),
    'true, false or a list of lane names',
  );
  check(
    'allowedOrigins',
    Array.isArray(allowedOrigins) && allowedOrigins.every((o) => typeof o === 'string'),
    'a list of origins',
  );
}

/** Throws `invalid-config` naming the option and its value unless `ok`. */
function checkOption(options: Record<string, unknown>, key: string, ok: boolean, rule: string): void {
  if (ok) return;
  const value = options[key];
  const shown = typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
  throw new SynclineError(
    SynclineErrorCode.InvalidConfig,
    `\`${key}\` ${value === undefined ? 'is missing' : `is ${shown}`}: ${rule}.`,
  );
}

/** Durations a timer must hold, each at least its least value; `optional` ones may be left out. */
function checkDurations(options: Record<string, unknown>, leastMs: Record<string, number>, optional = false): void {
  for (const [key, least] of Object.entries(leastMs)) {
    const ms = options[key];
    if (optional && ms === undefined) continue;
    checkOption(
      options,
      key,
      typeof ms === 'number' && ms >= least && ms <= MAX_TIMER_MS,
      `a number of milliseconds from ${least} to ${MAX_TIMER_MS}`,
    );
  }
}

/** Creates a client for one namespace. The same API whichever runtime serves it. */
export function createSyncClient(options: SyncClientOptions): SyncClient {
  return new Client(options);
}

class Client implements SyncClient {
  readonly namespace: string;
  readonly config: EngineConfig;
  readonly operations$: Observable<Operation[]>;
  readonly pendingCount$: Observable<number>;
  readonly status$: Observable<SyncStatus>;
  readonly conflicts$: Observable<Conflict[]>;
  readonly dirtyEntities$: Observable<DirtyEntity[]>;

  private readonly clientId = operationId();
  private readonly collections = new Map<string, CollectionHandle<object>>();
  private readonly connection: EngineConnection;
  private strategy: Runtime;
  private localHost: Promise<EngineHost> | null = null;
  /** Settles once this tab holds its liveness lock: no hello (on any link) goes out before. */
  private readonly lockHeld: Promise<void>;
  /** The queue size read straight from IndexedDB at construction, for a number on screen before the engine answers. */
  private readonly early: Promise<number | null>;
  private releaseLife!: () => void;
  private readonly life = new Promise<void>((resolve) => (this.releaseLife = resolve));
  private readonly cleanup: (() => void)[] = [];
  private closed = false;
  /** The options last warned about (`warnConfigDiffers`). */
  private configWarned = '';
  /** What relative request URLs resolve against, parsed once (not at every enqueue). */
  private requestBase: URL | null = null;

  constructor(private readonly options: SyncClientOptions) {
    this.config = resolveConfig(options);
    // The tab's own timers: Infinity or 2^31 ms would fire at once (every call failing, no wait for the worker).
    checkDurations(
      options as unknown as Record<string, unknown>,
      { heartbeatMs: 1, startTimeoutMs: 1, callTimeoutMs: 1 },
      true,
    );
    // Another value would be called at the first request, fail, and leave every request waiting for credentials.
    checkOption(
      options as unknown as Record<string, unknown>,
      'authorize',
      options.authorize === undefined || typeof options.authorize === 'function',
      'a function (request) => headers, null or false',
    );
    this.namespace = this.config.namespace;
    const mode = options.mode ?? 'auto';
    this.strategy = this.pickRuntime(mode);
    // First, before the engine starts: on 2 cores a worker starting beside this read (script, thread, its own
    // opening of the database) made it 3 to 5 times slower. The engine waits for it, 50 ms at most.
    this.early = peekQueueSize(this.namespace);
    const earlyRead = Promise.race([this.early, new Promise((resolve) => setTimeout(resolve, EARLY_READ_WAIT_MS))]);
    const heartbeatMs = options.heartbeatMs ?? 1_500;
    const locks = globalThis.navigator?.locks ?? null;
    // Held for this tab's life, so the engine learns the moment the tab is gone (crash included). The tab
    // says hello only once it holds the lock: an engine that asked first would take the tab for gone.
    this.lockHeld = locks
      ? new Promise<void>((resolve) => {
          locks
            .request(tabLockName(this.namespace, this.clientId), () => {
              resolve();
              return this.life;
            })
            .catch(() => resolve());
        })
      : Promise.resolve();
    const canBroadcast = !!locks && typeof BroadcastChannel !== 'undefined';
    this.connection = new EngineConnection({
      client: this.clientId,
      page: PAGE_ID,
      config: this.config,
      connectPrimary: () => this.connect(),
      connectBroadcast: canBroadcast
        ? (onAnnounce) => broadcastLink(channelName(this.namespace), this.clientId, onAnnounce)
        : null,
      locks,
      ...(options.authorize ? { authorize: options.authorize } : {}),
      heartbeatMs,
      deadAfterMs: Math.max(heartbeatMs * 3, 1_000),
      callTimeoutMs: options.callTimeoutMs ?? 15_000,
      environment: () => ({
        online: globalThis.navigator?.onLine ?? true,
        visible: globalThis.document?.visibilityState !== 'hidden',
      }),
      onMalformed: (data) => console.warn('syncline: dropped a malformed message from the engine', data),
      onConfigDiffers: (names) => this.warnConfigDiffers(names),
    });
    const canStart = Promise.all([this.lockHeld, earlyRead]);
    void canStart.then(() => this.connection.start());
    if (mode === 'auto' && this.strategy === Runtime.SharedWorker) {
      this.connection.ready(options.startTimeoutMs ?? 5_000).catch((error: SynclineError) => {
        if (error.code !== SynclineErrorCode.UpdateRequired) this.fallBack('the SharedWorker did not answer');
      });
    }
    this.listen();

    this.pendingCount$ = this.coldStartCount(this.count$({}));
    this.conflicts$ = conflictList(this.connection);
    this.dirtyEntities$ = dirtyEntityList(this.connection);
    this.operations$ = this.watchOperations({});
    const engineStatus$ = this.connection.watch({ topic: 'status' }).pipe(
      map((e) => (e as Extract<TopicEvent, { type: 'status' }>).status),
      startWith(null),
    );
    // The queue size read in the page, for a status shown before (or without) any engine's: not to a subscriber
    // that comes once an engine has answered (between two engines, it would be an old number).
    const early$ = defer(() =>
      this.connection.welcomedOnce ? of(null) : from(this.early.catch(() => null)).pipe(startWith(null)),
    );
    this.status$ = combineLatest([engineStatus$, this.connection.state$, early$]).pipe(
      // The last status the engine sent is kept while it cannot be reached, beside the reason why.
      scan(
        (
          last: { status: EngineStatus | null; state: ConnectionState; early: number | null },
          [status, state, early],
        ) => ({
          status: status ?? last.status,
          state,
          early,
        }),
        { status: null, state: { connected: false, updateRequired: null, unavailable: null }, early: null },
      ),
      filter(({ status, state }) => status !== null || state.updateRequired !== null || state.unavailable !== null),
      // The early read matters only while no engine status has come: once one has, its arrival is no news.
      distinctUntilChanged(
        (a, b) => a.status === b.status && a.state === b.state && (a.status !== null || a.early === b.early),
      ),
      map(({ status, state, early }) => this.describe(status ?? statusBeforeEngine(early), state)),
      shareReplay({ bufferSize: 1, refCount: true }),
    );
  }

  // ---- commands ----

  async enqueue(input: OperationInput): Promise<Operation> {
    const [op] = await this.enqueueMany([input]);
    return op!;
  }

  enqueueMany(inputs: OperationInput[]): Promise<Operation[]> {
    if (!Array.isArray(inputs))
      return Promise.reject(new SynclineError(SynclineErrorCode.InvalidOperation, 'enqueueMany takes an array.'));
    const prepared: unknown[] = [];
    const generated: boolean[] = [];
    try {
      // By index: a hole in a sparse array is an input that is not an operation, not one to skip.
      for (let i = 0; i < inputs.length; i++) {
        const input = this.prepare(inputs[i]!);
        prepared.push(input);
        generated.push(input.id !== inputs[i]!.id);
      }
    } catch (error) {
      return Promise.reject(unreadableInput(error, 'The operation'));
    }
    return this.connection.call('enqueue', prepared, { generated });
  }

  settled(id: string): Promise<OperationResult> {
    if (typeof id !== 'string' || !id)
      return Promise.reject(
        new SynclineError(SynclineErrorCode.InvalidOperation, 'An operation id must be a non-empty string.'),
      );
    return new Promise((resolve, reject) => {
      const sub = this.connection.watch({ topic: 'result', id }).subscribe({
        next: (event) => {
          queueMicrotask(() => sub.unsubscribe());
          if (event.type === 'result') resolve(event.result);
          else if (event.type === 'discarded')
            reject(
              event.requestOut
                ? // The truth is not known yet: the request left before the discard, and may still be applied.
                  new SynclineError(
                    SynclineErrorCode.Discarded,
                    `Operation ${id} was discarded while its request was out: the server may still apply it (settled() asked again then answers with its result).`,
                    { requestOut: true },
                  )
                : new SynclineError(
                    SynclineErrorCode.Discarded,
                    `Operation ${id} was discarded before it reached the server.`,
                  ),
            );
          else reject(new SynclineError(SynclineErrorCode.NotFound, `No operation ${id}, and no result kept for it.`));
        },
        // The engine could not read the operation's fate (a storage failure): the typed error says so.
        error: reject,
        // Ended with no answer (`closed`, `update-required`): no engine will tell this client the operation's fate.
        complete: () =>
          reject(
            this.connection.endReason() ??
              new SynclineError(SynclineErrorCode.Closed, `Operation ${id}: the live query ended with no answer.`),
          ),
      });
    });
  }

  lanes() {
    return this.connection.call('lanes');
  }
  retry(id: string) {
    return this.connection.call('retry', id);
  }
  retryAll(filter: OperationFilter = {}) {
    return this.connection.call('retryAll', filter);
  }
  discard(id: string) {
    return this.connection.call('discard', id);
  }
  syncNow() {
    return this.connection.call('syncNow');
  }
  resume() {
    return this.connection.call('resume');
  }
  // `before` bounds a call re-sent after its engine was replaced: operations queued since are kept.
  clear(options: { discardUnsent?: boolean } = {}) {
    return this.connection.call('clear', { ...options, before: Date.now() });
  }
  ready(timeoutMs = 10_000) {
    return this.connection.ready(timeoutMs);
  }

  collection<T extends object = Record<string, unknown>>(
    name: string,
    options: CollectionOptions<T> = {},
  ): Collection<T> {
    const existing = this.collections.get(name);
    if (existing) return existing as unknown as Collection<T>;
    // Checked here, at once: a handle for a collection the engine will refuse would show an empty list for good.
    const bad = (message: string) => new SynclineError(SynclineErrorCode.InvalidConfig, message);
    if (typeof name !== 'string' || !COLLECTION_NAME_PATTERN.test(name))
      throw bad('A collection name is 1-64 letters, digits, _ . or -, starting with a letter or digit.');
    const { conflict, pullIntervalMs } = options;
    if (conflict !== undefined && typeof conflict !== 'function' && !CONFLICT_STRATEGIES.includes(conflict))
      throw bad(`Unknown conflict strategy "${String(conflict)}" for collection ${name}.`);
    if (
      pullIntervalMs !== undefined &&
      (typeof pullIntervalMs !== 'number' || !(pullIntervalMs >= 0) || pullIntervalMs > MAX_TIMER_MS)
    )
      throw bad(`pullIntervalMs of collection ${name} must be a number of milliseconds up to ${MAX_TIMER_MS}.`);
    let url: string;
    try {
      url = new URL(options.url ?? name, this.config.endpoint + '/').href;
    } catch {
      throw bad(`The url of collection ${name} is not a URL: ${options.url}`);
    }
    const { origin, username, password } = new URL(url);
    if (!allowedOriginsOf(this.config).includes(origin))
      throw bad(`Collection ${name} may not live on ${origin}: not the endpoint's origin, nor in allowedOrigins.`);
    if (username || password || /[?#]/.test(url))
      throw bad(`The url of collection ${name} may not carry a user name, a password, a query or a fragment.`);
    const handle = new CollectionHandle<T>(name, this.connection, url, options, this.conflicts$, (id, resolution) =>
      this.resolve(id, resolution),
    );
    this.collections.set(name, handle as unknown as CollectionHandle<object>);
    this.cleanup.push(() => handle.close());
    return handle;
  }

  resolve<T extends object = Record<string, unknown>>(
    conflictId: string,
    resolution: Resolution<T>,
  ): Promise<EntityRecord<T> | null> {
    return this.connection.call('resolve', conflictId, resolution as Resolution) as Promise<EntityRecord<T> | null>;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.cleanup) fn();
    // The tab lock (and with it this tab's place with the engine) is released once calls already posted are answered.
    void this.connection.close().finally(() => {
      void this.localHost?.then((host) => host.close());
      this.releaseLife();
    });
  }

  // ---- streams ----

  watchOperations(filter: OperationFilter = {}): Observable<Operation[]> {
    return this.connection.watch({ topic: 'ops', filter }).pipe(
      scan((ops, event) => {
        if (event.type === 'ops-reset') return new Map(event.ops.map((op) => [op.id, op]));
        if (event.type !== 'ops-changes') return ops;
        const next = new Map(ops);
        for (const id of event.removes) next.delete(id);
        for (const op of event.upserts) next.set(op.id, op);
        return next;
      }, new Map<string, Operation>()),
      map((ops) => [...ops.values()].sort((a, b) => a.seq - b.seq)),
      shareReplay({ bufferSize: 1, refCount: true }),
    );
  }

  count$(filter: OperationFilter = {}): Observable<number> {
    return this.connection.watch({ topic: 'count', filter }).pipe(
      map((e) => (e as Extract<TopicEvent, { type: 'count' }>).value),
      shareReplay({ bufferSize: 1, refCount: true }),
    );
  }

  window$(filter: OperationFilter, offset: number, limit: number): Observable<OperationWindow> {
    return this.connection
      .watch({
        topic: 'window',
        filter,
        offset: Math.max(0, Math.floor(offset)),
        limit: Math.max(0, Math.floor(limit)),
      })
      .pipe(map((e) => (e as Extract<TopicEvent, { type: 'window' }>).window));
  }

  /**
   * The live count, preceded on a fresh page by the read of the database made in the page itself at construction:
   * a number on screen while the worker starts. Once the live count has spoken, the early read is never shown (no
   * flicker back).
   */
  private coldStartCount(live$: Observable<number>): Observable<number> {
    let first = true;
    return new Observable<number>((subscriber) => {
      // Only the very first subscriber, and only while no engine has ever answered this tab: a later one (or one
      // between two engines) would be shown an old number before the live one.
      const early = first && !this.connection.welcomedOnce ? this.early : null;
      first = false;
      let heard = false;
      const sub = live$.subscribe({
        next: (n) => {
          heard = true;
          subscriber.next(n);
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
      void early?.then((n) => {
        if (!heard && n !== null && !subscriber.closed) subscriber.next(n);
      });
      return () => sub.unsubscribe();
    }).pipe(shareReplay({ bufferSize: 1, refCount: true }));
  }

  // ---- runtime ----

  private pickRuntime(mode: SyncMode): Runtime {
    const hasSharedWorker = typeof SharedWorker !== 'undefined';
    const hasLocks = !!globalThis.navigator?.locks && typeof BroadcastChannel !== 'undefined';
    if (mode === Runtime.SharedWorker) {
      if (!hasSharedWorker)
        throw new SynclineError(
          SynclineErrorCode.InvalidConfig,
          'mode "shared-worker": this browser has no SharedWorker.',
        );
      return Runtime.SharedWorker;
    }
    if (mode === Runtime.LeaderTab) {
      if (!hasLocks)
        throw new SynclineError(
          SynclineErrorCode.InvalidConfig,
          'mode "leader-tab" needs Web Locks and BroadcastChannel.',
        );
      return Runtime.LeaderTab;
    }
    if (mode === Runtime.InPage) return Runtime.InPage;
    if (mode !== 'auto')
      throw new SynclineError(
        SynclineErrorCode.InvalidConfig,
        `\`mode\` is ${JSON.stringify(mode) ?? String(mode)}: 'auto', 'shared-worker', 'leader-tab' or 'in-page'.`,
      );
    if (hasSharedWorker) return Runtime.SharedWorker;
    return hasLocks ? Runtime.LeaderTab : Runtime.InPage;
  }

  /**
   * Says once per set of options that the engine runs with other values than this client's: it started with the
   * first tab's config (another deploy, another micro-frontend) and keeps it until it restarts.
   */
  private warnConfigDiffers(names: string[]): void {
    const key = names.join(',');
    if (this.configWarned === key) return;
    this.configWarned = key;
    console.warn(
      `syncline: the engine of namespace "${this.namespace}" runs with other values of ${names.join(', ')} ` +
        'than this client was created with (another tab or app started it): it keeps its own until every tab of it ' +
        'has closed. Give clients that need other options a namespace of their own.',
    );
  }

  private fallBack(reason: string): void {
    if (this.closed || this.strategy !== Runtime.SharedWorker) return;
    const hasLocks = !!globalThis.navigator?.locks && typeof BroadcastChannel !== 'undefined';
    console.warn(`syncline: ${reason}; falling back to ${hasLocks ? 'a leader tab' : 'an in-page engine'}.`);
    this.strategy = hasLocks ? Runtime.LeaderTab : Runtime.InPage;
    // Reconnecting re-sends this tab's hello, live queries and unanswered calls over the new runtime. If the worker
    // was only slow and runs the engine after all, this tab's own host waits for the engine lock and sends the tab there.
    // Not before the tab holds its liveness lock: a host that asked for it first would take the tab for gone.
    void this.lockHeld.then(() => this.connection.reconnect());
  }

  /** Opens a link to this tab's runtime; called again on every reconnect. */
  private connect(): Link {
    switch (this.strategy) {
      case Runtime.SharedWorker: {
        const name = workerName(this.namespace);
        // extendedLifetime (Chromium) keeps the worker alive after the last tab closes, so a send under way can finish.
        const options = { name, extendedLifetime: this.options.extendedLifetime ?? true } as WorkerOptions;
        let worker: SharedWorker;
        try {
          // Written out literally (spread first, `type` last) so bundlers see and emit the worker file. Under
          // Trusted Types a configured URL goes through the `syncline` policy (same origin only).
          worker = this.options.workerUrl
            ? new SharedWorker(trustedScriptUrl(this.options.workerUrl), { ...options, type: 'module' })
            : new SharedWorker(new URL('./worker.ts', import.meta.url), { ...options, type: 'module' });
        } catch (error) {
          // A cross-origin worker URL (SecurityError), or a second worker with other options: run here instead.
          queueMicrotask(() => this.fallBack(`the SharedWorker could not be created (${(error as Error).message})`));
          return { send() {}, onMessage() {}, close() {} };
        }
        worker.addEventListener('error', () => this.fallBack('the SharedWorker failed to start'));
        return portLink(worker.port);
      }
      case Runtime.LeaderTab:
      case Runtime.InPage:
        return this.localLink(this.strategy);
    }
  }

  /**
   * A link to an engine host in this page. It runs the engine if it gets the namespace's engine lock (it is the
   * leader); otherwise it sends this tab to the engine that has it. Host and engine load only when first needed.
   */
  private localLink(runtime: Runtime): Link {
    const channel = new MessageChannel();
    if (!this.localHost) {
      this.localHost = Promise.all([import('./rpc/host.ts'), import('./runtime/start-engine.ts')]).then(
        ([{ EngineHost }, { startEngine }]) =>
          new EngineHost({
            runtime,
            startEngine,
            page: PAGE_ID,
            onMalformed: (data) => console.warn('syncline: dropped a malformed message', data),
          }),
      );
    }
    void this.localHost.then((host) => {
      host.accept(portLink(channel.port1));
      channel.port1.start();
    });
    return portLink(channel.port2);
  }

  private describe(status: EngineStatus, state: ConnectionState): SyncStatus {
    const runtime = this.connection.runtime ?? this.strategy;
    return {
      ...status,
      runtime,
      hostedHere: this.connection.hostedHere,
      continuesAfterClose: runtime !== Runtime.InPage && status.clients > 1,
      connected: state.connected,
      updateRequired: state.updateRequired !== null,
      unavailable: state.unavailable,
    };
  }

  private listen(): void {
    const onEnvironment = () => this.connection.sendEnvironment();
    const onPageHide = (event: PageTransitionEvent) => {
      if (!event.persisted) this.close();
    };
    globalThis.addEventListener?.('online', onEnvironment);
    globalThis.addEventListener?.('offline', onEnvironment);
    globalThis.document?.addEventListener('visibilitychange', onEnvironment);
    globalThis.addEventListener?.('pagehide', onPageHide);
    this.cleanup.push(() => {
      globalThis.removeEventListener?.('online', onEnvironment);
      globalThis.removeEventListener?.('offline', onEnvironment);
      globalThis.document?.removeEventListener('visibilitychange', onEnvironment);
      globalThis.removeEventListener?.('pagehide', onPageHide);
    });
  }

  /**
   * Gives the operation an id (so a re-sent call is idempotent) and an absolute URL, and turns a body that cannot
   * cross to the worker (FormData, URLSearchParams) into the form it is stored in.
   */
  private prepare(input: OperationInput): OperationInput {
    if (typeof input !== 'object' || input === null)
      throw new SynclineError(SynclineErrorCode.InvalidOperation, 'An operation must be an object.');
    const request = input.request;
    if (typeof request !== 'object' || request === null)
      throw new SynclineError(SynclineErrorCode.InvalidOperation, '`request` is required.');
    let url = request.url;
    if (typeof url === 'string' && url.length > 0) {
      try {
        url = new URL(url, (this.requestBase ??= new URL(this.config.endpoint + '/'))).href;
      } catch {
        throw new SynclineError(SynclineErrorCode.InvalidOperation, `\`request.url\` is not a valid URL: ${url}`);
      }
    }
    const body =
      (typeof FormData !== 'undefined' && request.body instanceof FormData) ||
      (typeof URLSearchParams !== 'undefined' && request.body instanceof URLSearchParams)
        ? normalizeBody(request.body)
        : undefined;
    // A JSON body as JSON.stringify sees it: its toJSONs would not survive the copy to the engine. One that becomes
    // a string (a Date) is still JSON (a quoted string), not text.
    const json = body ? request.body : asJsonValue(request.body);
    if (json === undefined && request.body !== undefined)
      throw new SynclineError(SynclineErrorCode.InvalidOperation, '`request.body` is not JSON-serialisable.');
    const jsonType = json !== request.body && typeof json !== 'object' ? { bodyType: 'json' as const } : {};
    const headers =
      body?.contentType && !Object.keys(request.headers ?? {}).some((h) => h.toLowerCase() === 'content-type')
        ? { ...request.headers, 'Content-Type': body.contentType }
        : request.headers;
    return {
      ...input,
      id: input.id ?? operationId(),
      request: {
        ...request,
        url,
        ...(headers ? { headers } : {}),
        ...(body
          ? { body: body.body, bodyType: body.bodyType }
          : json !== request.body
            ? { body: json, ...jsonType }
            : {}),
      },
    };
  }
}
