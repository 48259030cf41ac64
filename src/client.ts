// The main-thread API: createSyncClient picks a runtime (SharedWorker, leader tab or in-page) and exposes one queue as streams.
import { combineLatest, map, scan, shareReplay, type Observable } from 'rxjs';
import { SynclineError, SynclineErrorCode } from './errors.ts';
import type { AuthorizeHook } from './engine/engine.ts';
import { operationId } from './engine/ids.ts';
import { EngineHost } from './rpc/host.ts';
import { EngineConnection } from './rpc/connection.ts';
import { portLink, type Link, type TopicEvent } from './rpc/protocol.ts';
import { broadcastLink, serveOverBroadcast } from './runtime/broadcast.ts';
import { channelName, leaderLockName, tabLockName, workerName } from './runtime/names.ts';
import { startEngine } from './runtime/start-engine.ts';
import { trustedScriptUrl } from './trusted-script-url.ts';
import {
  Runtime,
  type EngineConfig,
  type EngineStatus,
  type Operation,
  type OperationFilter,
  type OperationInput,
  type OperationWindow,
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
  /** Fresh credentials for each request, asked just before it is sent. */
  authorize?: AuthorizeHook;
  /** How often a tab checks that its engine is alive. */
  heartbeatMs?: number;
  /** Ask the browser to keep the SharedWorker alive briefly after the last tab closes (default true). */
  extendedLifetime?: boolean;
  /** How long `auto` waits for a SharedWorker before falling back. */
  startTimeoutMs?: number;
}

/** One namespace's queue as seen from a tab. Every stream is cold and releases its engine-side query on unsubscribe. */
export interface SyncClient {
  readonly namespace: string;
  readonly config: Readonly<EngineConfig>;
  /** Queues one operation; resolves once it is durably stored. */
  enqueue(input: OperationInput): Promise<Operation>;
  /** Queues several operations in one transaction: all or none. */
  enqueueMany(inputs: OperationInput[]): Promise<Operation[]>;
  /** Every unsent operation, in queue order. */
  readonly operations$: Observable<Operation[]>;
  /** How many operations have not reached the server yet. */
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
  /** Removes this namespace's queue (logout); refuses while unsent work exists unless `discardUnsent`. */
  clear(options?: { discardUnsent?: boolean }): Promise<number>;
  /** Resolves once the engine has answered this tab. */
  ready(timeoutMs?: number): Promise<void>;
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
};

const NAMESPACE_PATTERN = /^[\w.-]{1,100}$/;

function pageBase(): string {
  return globalThis.document?.baseURI ?? globalThis.location?.href ?? 'http://localhost/';
}

/** Fills defaults and makes URLs absolute (the worker has another base URL than the page). */
export function resolveConfig(options: SyncClientOptions): EngineConfig {
  if (typeof options.namespace !== 'string' || !NAMESPACE_PATTERN.test(options.namespace)) {
    throw new SynclineError(SynclineErrorCode.InvalidConfig, '`namespace` must be 1-100 letters, digits, _ . or -.');
  }
  let endpoint: string;
  try {
    endpoint = new URL(options.endpoint, pageBase()).href.replace(/\/+$/, '');
  } catch {
    throw new SynclineError(SynclineErrorCode.InvalidConfig, `\`endpoint\` is not a URL: ${options.endpoint}`);
  }
  const config: EngineConfig = { ...DEFAULTS, healthUrl: `${endpoint}/health`, endpoint, namespace: options.namespace };
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    if (options[key] !== undefined) (config as unknown as Record<string, unknown>)[key] = options[key];
  }
  if (options.healthUrl) config.healthUrl = new URL(options.healthUrl, pageBase()).href;
  config.allowedOrigins = config.allowedOrigins.map((o) => new URL(o, pageBase()).origin);
  return config;
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

  private readonly clientId = operationId();
  private readonly connection: EngineConnection;
  private strategy: Runtime;
  private isLeader = false;
  private releaseLife!: () => void;
  private readonly life = new Promise<void>((resolve) => (this.releaseLife = resolve));
  private readonly cleanup: (() => void)[] = [];
  private closed = false;

  constructor(private readonly options: SyncClientOptions) {
    this.config = resolveConfig(options);
    this.namespace = this.config.namespace;
    const mode = options.mode ?? 'auto';
    this.strategy = this.pickRuntime(mode);
    const heartbeatMs = options.heartbeatMs ?? 1_500;
    const locks = globalThis.navigator?.locks;
    // Held for this tab's life, so the engine learns the moment the tab is gone (crash included). The tab
    // says hello only once it holds the lock: an engine that asked first would take the tab for gone.
    const lockHeld = locks
      ? new Promise<void>((resolve) => {
          locks.request(tabLockName(this.namespace, this.clientId), () => {
            resolve();
            return this.life;
          }).catch(() => resolve());
        })
      : Promise.resolve();
    this.connection = new EngineConnection({
      client: this.clientId,
      config: this.config,
      connect: () => this.connect(),
      ...(options.authorize ? { authorize: options.authorize } : {}),
      heartbeatMs,
      deadAfterMs: Math.max(heartbeatMs * 3, 1_000),
      environment: () => ({
        online: globalThis.navigator?.onLine ?? true,
        visible: globalThis.document?.visibilityState !== 'hidden',
      }),
      onMalformed: (data) => console.warn('syncline: dropped a malformed message from the engine', data),
    });
    if (this.strategy === Runtime.LeaderTab) this.campaign();
    void lockHeld.then(() => this.connection.start());
    if (mode === 'auto' && this.strategy === Runtime.SharedWorker) {
      this.connection.ready(options.startTimeoutMs ?? 5_000).catch(() => this.fallBack('the SharedWorker did not answer'));
    }
    this.listen();

    this.pendingCount$ = this.count$({});
    this.operations$ = this.watchOperations({});
    this.status$ = combineLatest([
      this.connection.watch({ topic: 'status' }).pipe(map((e) => (e as Extract<TopicEvent, { type: 'status' }>).status)),
      this.connection.connected$,
    ]).pipe(
      map(([status, connected]) => this.describe(status, connected)),
      shareReplay({ bufferSize: 1, refCount: true }),
    );
  }

  // ---- commands ----

  async enqueue(input: OperationInput): Promise<Operation> {
    const [op] = await this.enqueueMany([input]);
    return op!;
  }

  enqueueMany(inputs: OperationInput[]): Promise<Operation[]> {
    if (!Array.isArray(inputs)) return Promise.reject(new SynclineError(SynclineErrorCode.InvalidOperation, 'enqueueMany takes an array.'));
    let prepared: unknown[];
    try {
      prepared = inputs.map((input) => this.prepare(input));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.connection.call('enqueue', prepared);
  }

  lanes() { return this.connection.call('lanes'); }
  retry(id: string) { return this.connection.call('retry', id); }
  retryAll(filter: OperationFilter = {}) { return this.connection.call('retryAll', filter); }
  discard(id: string) { return this.connection.call('discard', id); }
  syncNow() { return this.connection.call('syncNow'); }
  resume() { return this.connection.call('resume'); }
  clear(options: { discardUnsent?: boolean } = {}) { return this.connection.call('clear', options); }
  ready(timeoutMs = 10_000) { return this.connection.ready(timeoutMs); }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.cleanup) fn();
    this.connection.close();
    this.releaseLife();
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
    return this.connection.watch({ topic: 'window', filter, offset: Math.max(0, Math.floor(offset)), limit: Math.max(0, Math.floor(limit)) }).pipe(
      map((e) => (e as Extract<TopicEvent, { type: 'window' }>).window),
    );
  }

  // ---- runtime ----

  private pickRuntime(mode: SyncMode): Runtime {
    const hasSharedWorker = typeof SharedWorker !== 'undefined';
    const hasLocks = !!globalThis.navigator?.locks && typeof BroadcastChannel !== 'undefined';
    if (mode === Runtime.SharedWorker) {
      if (!hasSharedWorker) throw new SynclineError(SynclineErrorCode.InvalidConfig, 'mode "shared-worker": this browser has no SharedWorker.');
      return Runtime.SharedWorker;
    }
    if (mode === Runtime.LeaderTab) {
      if (!hasLocks) throw new SynclineError(SynclineErrorCode.InvalidConfig, 'mode "leader-tab" needs Web Locks and BroadcastChannel.');
      return Runtime.LeaderTab;
    }
    if (mode === Runtime.InPage) return Runtime.InPage;
    if (hasSharedWorker) return Runtime.SharedWorker;
    return hasLocks ? Runtime.LeaderTab : Runtime.InPage;
  }

  private fallBack(reason: string): void {
    if (this.closed || this.strategy !== Runtime.SharedWorker) return;
    const hasLocks = !!globalThis.navigator?.locks && typeof BroadcastChannel !== 'undefined';
    console.warn(`syncline: ${reason}; falling back to ${hasLocks ? 'a leader tab' : 'an in-page engine'}.`);
    this.strategy = hasLocks ? Runtime.LeaderTab : Runtime.InPage;
    if (this.strategy === Runtime.LeaderTab) this.campaign();
    // Reconnecting re-sends this tab's hello, live queries and unanswered calls over the new runtime.
    this.connection.reconnect();
  }

  /** Opens a link to the engine of the current runtime; called again on every reconnect. */
  private connect(): Link {
    switch (this.strategy) {
      case Runtime.SharedWorker: {
        const name = workerName(this.namespace);
        // extendedLifetime (Chromium) keeps the worker alive after the last tab closes, so a send under way can finish.
        const options = { name, extendedLifetime: this.options.extendedLifetime ?? true } as WorkerOptions;
        // Written out literally (spread first, `type` last) so bundlers see and emit the worker file.
        const worker = this.options.workerUrl
          ? new SharedWorker(trustedScriptUrl(this.options.workerUrl), { ...options, type: 'module' })
          : new SharedWorker(new URL('./worker.ts', import.meta.url), { ...options, type: 'module' });
        worker.addEventListener('error', () => this.fallBack('the SharedWorker failed to start'));
        return portLink(worker.port);
      }
      case Runtime.LeaderTab:
        return broadcastLink(channelName(this.namespace), this.clientId);
      case Runtime.InPage: {
        const host = new EngineHost({ runtime: Runtime.InPage, createEngine: startEngine });
        const channel = new MessageChannel();
        host.accept(portLink(channel.port1));
        this.cleanup.push(() => void host.close());
        return portLink(channel.port2);
      }
    }
  }

  /** Leader election: whoever holds the leader lock runs the engine for every tab until it closes. */
  private campaign(): void {
    navigator.locks
      .request(leaderLockName(this.namespace), async () => {
        if (this.closed) return;
        this.isLeader = true;
        const host = new EngineHost({ runtime: Runtime.LeaderTab, createEngine: startEngine });
        const stop = serveOverBroadcast(channelName(this.namespace), host, (data) => console.warn('syncline: dropped a malformed message', data));
        await this.life;
        stop();
        await host.close();
      })
      .catch((error) => console.error('syncline: leader election failed', error));
  }

  private describe(status: EngineStatus, connected: boolean): SyncStatus {
    const runtime = this.connection.runtime ?? this.strategy;
    const hostedHere = runtime === Runtime.InPage || (runtime === Runtime.LeaderTab && this.isLeader);
    return {
      ...status,
      runtime,
      hostedHere,
      continuesAfterClose: runtime !== Runtime.InPage && status.clients > 1,
      connected,
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

  /** Gives the operation an id (so a retried call is idempotent) and an absolute URL. */
  private prepare(input: OperationInput): OperationInput {
    if (typeof input !== 'object' || input === null) throw new SynclineError(SynclineErrorCode.InvalidOperation, 'An operation must be an object.');
    const request = input.request;
    let url = request?.url;
    if (typeof url === 'string' && url.length > 0) {
      try {
        url = new URL(url, this.config.endpoint + '/').href;
      } catch {
        throw new SynclineError(SynclineErrorCode.InvalidOperation, `\`request.url\` is not a valid URL: ${url}`);
      }
    }
    return { ...input, id: input.id ?? operationId(), request: request && { ...request, url } };
  }
}
