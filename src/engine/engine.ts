// The sync engine: owns a namespace's queue and drains it to the server (the queue's calls and drain: queue.ts, loaded as it opens).
import { BehaviorSubject, Subject, type Observable } from 'rxjs';
import { SynclineError, SynclineErrorCode } from '../errors.ts';
import {
  allowedOriginsOf,
  Connectivity,
  type CollectionConfig,
  type CollectionStatus,
  type Conflict,
  type DirtyEntity,
  type EntityRecord,
  type EngineConfig,
  type EngineStatus,
  type Operation,
  type OperationFilter,
  type OperationInput,
  type OperationResult,
  type OperationWindow,
  type Rollback,
} from '../types.ts';
import { doubledWait, realClock, type Clock } from './clock.ts';
import type { BackgroundSync, EntityBatch, TabCall } from './background.ts';
import { ConnectivityManager } from './connectivity.ts';
import type { SynclineDB } from './db.ts';
import type { QueueEngine } from './queue.ts';
import { RecentSet } from './recent.ts';
import { LaneScheduler } from './scheduler.ts';
import { QueueStore, type ChangeBatch, type StorageHealth } from './store.ts';
import type { Attempt } from './transport.ts';
import { RequestWatch } from './watch.ts';

export type { ChangeBatch, OperationChange } from './store.ts';

/**
 * Asks a tab for fresh credentials just before a request. Headers to add, null for none, or false when the
 * user is signed out (the queue pauses until `resume()`). A rejection (no tab answered in time, the tab
 * closed) is not a verdict: the operation waits a little and asks again, with no strike.
 */
export type AuthorizeHook = (request: {
  method: string;
  url: string;
}) => Promise<Record<string, string> | null | false>;

export interface EngineDeps {
  config: EngineConfig;
  db: SynclineDB;
  clock?: Clock;
  fetch?: typeof fetch;
  random?: () => number;
  /** How long successes wait to be recorded together (default `DONE_FLUSH_DELAY_MS`); tests stretch it. */
  recordWindowMs?: number;
  /** How many successes may wait unrecorded before the lanes stop sending (default `MAX_UNRECORDED`); tests shrink it. */
  maxUnrecorded?: number;
}

/** What the server says about itself at `<endpoint>/_syncline` (see docs/server-contract.md). */
export interface ServerCapabilities {
  /** How long the server remembers an Idempotency-Key; default 24 h when it does not say. */
  idempotencyTtlMs: number;
  batch: { url: string; maxOps: number; maxBytes: number } | null;
}

/** How an enqueue reached the engine. */
export interface EnqueueOptions {
  /** The call is sent again (to this engine or the next): its operations may be queued or done already. */
  resent?: boolean;
  /** The inputs are the engine's own (they came through postMessage): not copied. */
  owned?: boolean;
  /** Per input, whether its id was made up by the tab rather than chosen by the app (see EngineCalls.enqueue). */
  generated?: boolean[];
}

/**
 * A done operation's answer, or word that it was discarded, for `settled()`. `requestOut`: its request had already
 * left, so the server may apply it all the same (its answer, if it lands, is kept: `settled()` asked later gives it).
 */
export type Completion = { id: string; result: OperationResult } | { id: string; discarded: true; requestOut?: true };

const DEFAULT_KEY_TTL_MS = 24 * 60 * 60 * 1000;
/**
 * Successes are recorded this long after the first of a group (real time, not the engine's clock: only
 * throughput depends on it), at once once `DONE_FLUSH_MAX` (queue.ts) are waiting, or as soon as no lane is
 * sending. One transaction per success was the drain's main cost beside the network, and at 25 ms a 1-lane drain
 * still ran at 0.81x its raw fetch loop against 0.93x at 100 ms (`npm run bench`, d1): the worker's thread and the
 * database share the cores with the requests. During a drain, counts go down in steps this far apart.
 */
const DONE_FLUSH_DELAY_MS = 100;
/**
 * Successes whose record keeps failing (not for want of space: that one records deletes only) wait in memory, and
 * lanes read past them by `gone`, which remembers 20,000 seqs. Past this many the lanes wait for a record to go
 * through rather than send on: memory stays bounded, and no done row falls out of `gone` to be sent again.
 */
const MAX_UNRECORDED = 10_000;
/** Scheduler lanes that push a Background Sync collection (operation lanes cannot start with it). */
const PUSH_LANE = '\u0000';

/**
 * The queue's commands, queries and drain (queue.ts), loading or loaded: one load per realm, started as the first
 * engine opens, so a worker starts on less code. Null again after a failed load, so the next call tries again.
 */
let queueCode: Promise<QueueEngine> | null = null;

function loadQueueCode(): Promise<QueueEngine> {
  queueCode ??= import('./queue.ts').then(
    ({ installQueue }) => installQueue(),
    (error: unknown) => {
      queueCode = null;
      throw new SynclineError(
        SynclineErrorCode.Unavailable,
        `The queue's code could not be loaded beside the worker (${(error as Error)?.message ?? error}): ` +
          'serve the worker-*.js files next to worker.js.',
      );
    },
  );
  return queueCode;
}

/** A success waiting to be recorded: the operation as tabs saw it sent, and the server's answer. */
export interface DoneRecord {
  shown: Operation;
  result: OperationResult;
  /** Discards and clears started before its request left (see writeDone). */
  removals: number;
}

export class SyncEngine {
  readonly config: EngineConfig;
  protected readonly clock: Clock;
  protected readonly fetchFn: typeof fetch;
  protected readonly random: () => number;
  protected readonly recordWindowMs: number;
  protected readonly maxUnrecorded: number;
  protected readonly store: QueueStore;
  private readonly statusSubject: BehaviorSubject<EngineStatus>;
  protected readonly completionSubject = new Subject<Completion>();
  protected readonly scheduler: LaneScheduler;
  protected readonly connectivity: ConnectivityManager;
  protected readonly origins: string[];
  /**
   * Background Sync (collections, their replica, push and pull), once a collection exists: its code is loaded
   * then, so an app that only queues operations never loads it.
   */
  background: BackgroundSync | null = null;
  private backgroundLoad: Promise<BackgroundSync> | null = null;
  private readonly entitySubject = new Subject<EntityBatch>();
  private readonly rollbackSubject = new Subject<Rollback>();
  /** Every change to the replica, in commit order. */
  readonly entityChanges$: Observable<EntityBatch> = this.entitySubject.asObservable();
  /** Local edits a conflict strategy replaced with the server's copy. */
  readonly rollbacks$: Observable<Rollback> = this.rollbackSubject.asObservable();
  /** Whether any tab is visible (collections pull on their interval only then). */
  private visible = true;

  /** Every change the tabs see, in the order it took effect. */
  readonly changes$: Observable<ChangeBatch>;
  readonly status$: Observable<EngineStatus>;
  /** Operations as they leave the queue: done (with the server's answer) or discarded. */
  readonly completions$: Observable<Completion>;

  /** Set by the host: asks a connected tab for credentials. */
  authorize: AuthorizeHook | null = null;
  capabilities: ServerCapabilities = { idempotencyTtlMs: DEFAULT_KEY_TTL_MS, batch: null };
  /** Settles when the first read of the server's capability document is over (whatever it found). */
  capabilitiesLoaded: Promise<void> = Promise.resolve();

  /** Requests out now, as tabs see them (status `sending`). Never stored: a crash leaves them `pending`. */
  protected readonly inFlight = new Map<string, Operation>();
  /** Newer state of operations whose write failed (a full disk): the queue goes on from memory. */
  protected readonly unsaved = new Map<string, Operation>();
  /** Aborted by close(): requests not yet out never leave. */
  protected readonly stopping = new AbortController();
  /** The requests out now (their timeouts, and their stop on close). */
  protected readonly requests: RequestWatch;
  /**
   * Seqs of operations that left the queue (done, discarded, cleared): a read that started before they left cannot
   * resurrect them. By seq, not id: an id may be queued again as a new operation while the old one's answer is due.
   */
  protected readonly gone = new RecentSet<number>(20_000);
  /** Ids that left the queue in this engine's life: queued again, each is looked up first (it may be done). */
  protected readonly left = new RecentSet<string>(20_000);
  /** Each lane's next operations, read ahead; dropped whenever something other than a send changes the lane. */
  protected readonly laneBuffers = new Map<string, Operation[]>();
  /** Lanes whose next rows are being read ahead now. */
  protected readonly laneRefills = new Set<string>();
  /** Read-ahead buffers whose last read reached the end of their lane: nothing to read ahead until they run out. */
  protected readonly laneEnds = new WeakSet<Operation[]>();
  protected readonly doneQueue: DoneRecord[] = [];
  /** The seqs of operations delivered whose record is not written yet: done, though their rows are still stored. */
  protected readonly unrecorded = new Set<number>();
  /** The seqs of operations a clear removed while their request was out or their record unwritten. */
  protected readonly cleared = new Set<number>();
  /**
   * Discards and clears started so far (the only writes besides a success's record that remove operations): a
   * success whose request left after the last one started still holds its row.
   */
  protected removalsStarted = 0;
  protected readonly insertQueue: {
    valid: OperationInput[];
    ids: string[];
    now: number;
    resolve(ops: Operation[]): void;
    reject(error: unknown): void;
  }[] = [];
  protected inserting = false;
  /** An enqueue with a Blob body being stored (a second try included): group inserts wait for it, to keep call order. */
  protected blobInsert: Promise<unknown> | null = null;
  protected recording: Promise<void> | null = null;
  protected doneWindowEnd: (() => void) | null = null;
  /** The last `seq` this engine handed out; null when it must be read again (see `insert`). */
  protected lastSeq: number;
  /**
   * `clear({ discardUnsent })` calls under way: operations each one covers are held (not sent, not skipped) until
   * the clear ends. Skipping them would send later ones first should the clear fail.
   */
  protected readonly clearing: ClearBound[] = [];
  /**
   * Enqueues under way, grouped or not: a clear waits for those called before it and covers them. An enqueue waiting
   * behind a running group insert has no seq yet, nor has one choosing its seqs in its own transaction (a Blob, a
   * re-sent call), so the clear's seq bound alone would miss them.
   */
  protected readonly pendingInserts = new Set<Promise<Operation[]>>();
  /** Discards being written: their operations are held the same way, until the write ends either way. */
  protected readonly discarding = new Set<string>();
  /** Operations of a batch the server refused as a whole: each goes alone once, so the one at fault gets its answer. */
  protected readonly solo = new Set<string>();
  protected lastPruneAt = 0;
  protected closed = false;
  /** The next look at every lane after a failed one (see pokeAllLanes), and the wait before it. */
  private lanesRetry: unknown = null;
  private lanesRetryMs: number | undefined;

  protected constructor(
    deps: EngineDeps,
    store: QueueStore,
    lastSyncAt: number | null,
    lastSeq: number,
    readonly deviceId: string,
  ) {
    this.config = deps.config;
    this.clock = deps.clock ?? realClock;
    this.requests = new RequestWatch(this.clock);
    this.fetchFn = deps.fetch ?? ((input, init) => fetch(input, init));
    this.random = deps.random ?? Math.random;
    this.recordWindowMs = deps.recordWindowMs ?? DONE_FLUSH_DELAY_MS;
    this.maxUnrecorded = deps.maxUnrecorded ?? MAX_UNRECORDED;
    this.store = store;
    this.lastSeq = lastSeq;
    this.origins = allowedOriginsOf(this.config);
    this.statusSubject = new BehaviorSubject<EngineStatus>({
      connectivity: Connectivity.Online,
      syncing: false,
      paused: null,
      counts: store.counts,
      lastSyncAt,
      storage: 'ok',
      clients: 0,
      engineError: null,
      entities: { dirty: 0, conflicts: 0, failed: 0 },
    });
    this.changes$ = store.changes$;
    this.status$ = this.statusSubject.asObservable();
    this.completions$ = this.completionSubject.asObservable();
    this.connectivity = new ConnectivityManager({
      clock: this.clock,
      probeIntervalMs: this.config.probeIntervalMs,
      probe: () => this.probe(),
      onChange: (next, previous) => {
        this.patchStatus({ connectivity: next });
        if (previous === Connectivity.Offline) {
          void this.loadCapabilities();
          void this.pokeAllLanes();
          void this.background?.pullAll();
        }
      },
    });
    this.scheduler = new LaneScheduler({
      clock: this.clock,
      concurrency: () => this.config.laneConcurrency,
      canRun: () => this.canSend(),
      run: (lane) =>
        lane.startsWith(PUSH_LANE)
          ? this.loadBackground().then((background) => background.pushCollection(lane.slice(1)))
          : this.drainLane(lane),
      onError: (lane, error) =>
        this.reportError(
          `Lane "${lane}" stopped on an error and is tried again: ${(error as Error)?.message ?? error}`,
        ),
      onBusyChange: (busy) => {
        this.refreshSyncing();
        // No lane is sending: nothing will join the successes waiting to be recorded, so record them now.
        if (busy === 0) this.doneWindowEnd?.();
      },
    });
    store.changes$.subscribe(() => {
      if (!this.closed) this.patchStatus({ counts: this.store.counts });
    });
  }

  /** Opens the engine on a database the caller owns exclusively (the runtime holds the engine lock). */
  static async open(deps: EngineDeps): Promise<SyncEngine> {
    // The queue's code loads while the database is read: a queue with work drains as soon as it is in place. A
    // failed load is tried again by the first call (or lane) that needs it.
    loadQueueCode().catch(() => {});
    let engine: SyncEngine | null = null;
    const store = new QueueStore({
      db: deps.db,
      view: (row) => engine?.view(row) ?? row,
      onStorageHealth: (health) => engine?.setStorageHealth(health),
    });
    await store.loadCounts();
    const read = deps.db.transaction(['meta', 'operations', 'collections']);
    const meta = read.objectStore('meta');
    const [lastSyncAt, storedSeq, highestSeq, capabilities, device, collections] = await Promise.all([
      meta.get('lastSyncAt') as Promise<number | undefined>,
      meta.get('seq') as Promise<number | undefined>,
      // Inserts do not write the counter: the largest seq still queued is part of it.
      read
        .objectStore('operations')
        .index('seq')
        .openKeyCursor(null, 'prev')
        .then((c) => c?.key as number | undefined),
      meta.get('capabilities') as Promise<(ServerCapabilities & { endpoint?: string }) | undefined>,
      meta.get('device') as Promise<string | undefined>,
      read.objectStore('collections').count(),
    ]);
    const lastSeq = Math.max(storedSeq ?? 0, highestSeq ?? 0);
    engine = new SyncEngine(deps, store, lastSyncAt ?? null, lastSeq, device ?? (await newDeviceId(deps.db)));
    // What the same endpoint said last time, until it is asked again: another endpoint's batch route is not ours.
    if (capabilities?.endpoint === deps.config.endpoint) {
      const batch = capabilities.batch;
      engine.capabilities = {
        idempotencyTtlMs: capabilities.idempotencyTtlMs,
        batch: batch && engine.origins.includes(new URL(batch.url).origin) ? batch : null,
      };
    }
    // Collections stored by an earlier session are pushed and pulled from the start, as before any tab asks.
    // A failed load leaves the queue working: it is reported, and the next collection call tries again.
    if (collections > 0) await engine.loadBackground().catch((error: Error) => engine.reportError(error.message));
    engine.capabilitiesLoaded = engine.loadCapabilities();
    void engine.pokeAllLanes();
    void engine.background?.pullAll();
    return engine;
  }

  /** Loads Background Sync's code and what it stored, once; a failed load (say, its file missing) may be retried. */
  private loadBackground(): Promise<BackgroundSync> {
    this.backgroundLoad ??= (async () => {
      let BackgroundSync: typeof import('./background.ts').BackgroundSync;
      try {
        ({ BackgroundSync } = await import('./background.ts'));
      } catch (error) {
        throw new SynclineError(
          SynclineErrorCode.Unavailable,
          `Background Sync's code could not be loaded beside the worker (${(error as Error)?.message ?? error}): ` +
            'serve the worker-*.js files next to worker.js.',
        );
      }
      const background = new BackgroundSync({
        db: this.store.db,
        clock: this.clock,
        fetch: this.fetchFn,
        requests: this.requests,
        random: this.random,
        config: this.config,
        origins: this.origins,
        deviceId: this.deviceId,
        nextSeq: () => ++this.store.writeSeq,
        queueSeq: () => this.lastSeq,
        canSend: () => this.canSend(),
        authorize: (request) => (this.authorize ? this.authorize(request) : Promise.resolve(null)),
        judge: (result) => this.judge(result),
        pauseForAuth: () => this.patchStatus({ paused: 'auth' }),
        pokePush: (collection) => this.scheduler.poke(PUSH_LANE + collection),
        storageFailure: (error) => this.store.failure(error),
        storageWritten: () => this.store.written(),
        reportError: (message) => this.reportError(message),
        countsChanged: () => {
          const { dirty, conflicts, failed } = background.totals;
          const now = this.status.entities;
          if (now.dirty !== dirty || now.conflicts !== conflicts || now.failed !== failed)
            this.patchStatus({ entities: { dirty, conflicts, failed } });
        },
        changed: (batch) => this.entitySubject.next(batch),
        rolledBack: (rollback) => this.rollbackSubject.next(rollback),
        synced: (at) => {
          const last = this.status.lastSyncAt;
          if (last === null || at > last) this.patchStatus({ lastSyncAt: at });
        },
      });
      await background.load();
      if (this.closed) {
        background.close();
        throw new SynclineError(SynclineErrorCode.Closed, 'The sync engine is closed.');
      }
      background.setVisible(this.visible);
      this.background = background;
      // Always a new status: a collection's live status (lastPullAt included) is read again on it.
      this.patchStatus({ entities: background.totals });
      return background;
    })();
    this.backgroundLoad.catch(() => (this.backgroundLoad = null));
    return this.backgroundLoad;
  }

  /** What a collection's live status shows: zeros until Background Sync has loaded. */
  collectionStatus(collection: string): CollectionStatus {
    return this.background?.status(collection) ?? { dirty: 0, conflicts: 0, lastPullAt: null };
  }

  get status(): EngineStatus {
    return this.statusSubject.value;
  }

  /** Operations by status as tabs see them, current after every change. */
  get counts(): EngineStatus['counts'] {
    return this.store.counts;
  }

  /** Write transactions and in-memory changes so far: a snapshot read now lines up with `changes$` after it. */
  get writeSeq(): number {
    return this.store.writeSeq;
  }

  // ---- the queue (queue.ts) --------------------------------------------------------------
  // Each method below stands in for the queue's own until its code has loaded, then is replaced by it on the
  // prototype. A call made before then waits for the one load and runs in the order it was made (a tab's enqueue,
  // then its clear); if the engine closes first, it fails with `closed`, which a tab sends again to the next engine.

  /**
   * This engine's wait for the queue's code: it rejects with `closed` when the engine closes first, so no call
   * waits on a load that outlives the engine.
   */
  private queueLoad: Promise<QueueEngine> | null = null;

  /**
   * Runs `call` once the queue's code is in place, after every call that began waiting for it before this one (a
   * tick later once it has loaded). A reader that notes `writeSeq` and then starts its read (a live query's snapshot)
   * does both in `call`: the writes of the calls that waited before it are then in both, or in neither.
   */
  withQueue<T>(call: (queue: QueueEngine) => T | Promise<T>): Promise<T> {
    if (!this.queueLoad) {
      const load = new Promise<QueueEngine>((resolve, reject) => {
        const closed = () => reject(new SynclineError(SynclineErrorCode.Closed, 'The sync engine is closed.'));
        if (this.closed) return closed();
        this.stopping.signal.addEventListener('abort', closed);
        loadQueueCode().then(resolve, reject);
      });
      this.queueLoad = load;
      // A failed (or closed) wait is not kept: the next call starts another.
      load.catch(() => {
        if (this.queueLoad === load) this.queueLoad = null;
      });
    }
    return this.queueLoad.then(call);
  }

  /**
   * Validates every input, then stores them all in one transaction, or none. URLs must be absolute. `resent`
   * marks a call a tab sends again after losing its engine: an operation it names that is already queued or
   * already done is returned as it is, never queued a second time.
   */
  enqueue(inputs: unknown[], options?: EnqueueOptions): Promise<Operation[]> {
    return this.withQueue((queue) => queue.enqueue.call(this, inputs, options));
  }

  /** Makes a failed, conflicting or waiting operation due now. One whose request is out is left alone. */
  retry(id: string): Promise<Operation> {
    return this.withQueue((queue) => queue.retry.call(this, id));
  }

  /** Retries every failed and conflicting operation (optionally filtered). Returns how many. */
  retryAll(filter?: OperationFilter): Promise<number> {
    return this.withQueue((queue) => queue.retryAll.call(this, filter));
  }

  /**
   * Removes an operation without sending it (again). Honoured up to the moment its request leaves; a request
   * already out may still land (its result is then kept for `settled()`).
   */
  discard(id: string, options?: { resent?: boolean } | null): Promise<boolean> {
    return this.withQueue((queue) => queue.discard.call(this, id, options));
  }

  /** Sends what is waiting now: probes first when offline, and makes operations waiting on backoff due. */
  syncNow(): Promise<void> {
    return this.withQueue((queue) => queue.syncNow.call(this));
  }

  /**
   * Removes every operation queued before the call, and the results kept for `settled()`; refuses while any of
   * them is unsent unless `discardUnsent`. By queue position, not time: a clock set back must not leave the last
   * user's operations to be sent with the next one's credentials. A tab's call re-sent after its engine was replaced
   * (`call.resent`) removes those created up to its `before`, the time it was first sent: operations queued since
   * (the next user's) are kept, and only their time tells them apart in another engine.
   */
  clear(input?: { discardUnsent?: boolean; before?: number }, call?: TabCall | null): Promise<number> {
    return this.withQueue((queue) => queue.clear.call(this, input, call));
  }

  /** Counts matching operations, from an index or the engine's own counts where the filter allows. */
  count(filter?: OperationFilter): Promise<number> {
    return this.withQueue((queue) => queue.count.call(this, filter));
  }

  /** Every matching operation in `seq` order, as tabs see them. */
  list(filter?: OperationFilter): Promise<Operation[]> {
    return this.withQueue((queue) => queue.list.call(this, filter));
  }

  /** A window of matching operations in `seq` order, with the total: what a virtual list asks for. */
  window(filter?: OperationFilter, offset?: number, limit?: number): Promise<OperationWindow> {
    return this.withQueue((queue) => queue.window.call(this, filter, offset, limit));
  }

  /** The lanes that hold operations, in name order. */
  lanes(): Promise<string[]> {
    return this.withQueue((queue) => queue.lanes.call(this));
  }

  /** The server's answer to a done operation, if it is still kept. */
  result(id: string): Promise<OperationResult | undefined> {
    return this.withQueue((queue) => queue.result.call(this, id));
  }

  /** Whether an operation is in the queue now. */
  has(id: string): Promise<boolean> {
    return this.withQueue((queue) => queue.has.call(this, id));
  }

  /** A lane worker: sends the lane's operations in order while it may; returns when to look again. */
  protected drainLane(lane: string): Promise<number> {
    return this.withQueue((queue: SyncEngine) => queue.drainLane.call(this, lane));
  }

  /** The queue's part of `close()`: nothing before its code has loaded (no success can wait for its record then). */
  protected closeQueue(): void {}

  /** Lifts an auth pause: the app has fresh credentials. */
  resume(): void {
    if (this.status.paused) this.patchStatus({ paused: null });
    void this.pokeAllLanes();
  }

  /** A tab says the browser went online or offline. */
  setNetwork(online: boolean): void {
    if (!this.closed) this.connectivity.setNetwork(online);
  }

  setClientCount(clients: number): void {
    if (clients !== this.status.clients) this.patchStatus({ clients });
  }

  /** Stops timers and closes the database; in-flight requests finish but are not recorded (they are sent again). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Requests still waiting in the browser never leave (a deleted database, a logout, must not be followed by its
    // operations); one already out may land, unrecorded, and is sent again under its key by the next engine.
    this.stopping.abort();
    this.requests.stop();
    this.closeQueue();
    this.doneWindowEnd?.();
    if (this.lanesRetry !== null) this.clock.clearTimeout(this.lanesRetry);
    this.scheduler.stop();
    this.connectivity.close();
    this.background?.close();
    this.entitySubject.complete();
    this.rollbackSubject.complete();
    this.completionSubject.complete();
    this.store.close();
    this.statusSubject.complete();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- Background Sync ------------------------------------------------------------------

  /** Registers a collection (idempotent): the engine keeps its replica, pushes its edits and pulls its changes. */
  async registerCollection(config: unknown): Promise<CollectionConfig> {
    this.assertOpen();
    return this.loadBackground().then((b) => b.register(config));
  }

  /** Replaces (or makes) an entity. `call`: a tab's call, applied once (see `TabCall`). */
  async entityPut(collection: string, id: string, data: unknown, call?: TabCall | null): Promise<EntityRecord> {
    this.assertOpen();
    checkCollectionName(collection);
    return this.loadBackground().then((b) => b.put(collection, id, data, call));
  }

  /** Changes some fields of an entity. `call`: a tab's call, applied once (see `TabCall`). */
  async entityPatch(collection: string, id: string, fields: unknown, call?: TabCall | null): Promise<EntityRecord> {
    this.assertOpen();
    checkCollectionName(collection);
    return this.loadBackground().then((b) => b.patch(collection, id, fields, call));
  }

  /** Deletes an entity. `call`: a tab's call, answered once (see `TabCall`). */
  async entityDelete(collection: string, id: string, call?: TabCall | null): Promise<boolean> {
    this.assertOpen();
    checkCollectionName(collection);
    return this.loadBackground().then((b) => b.delete(collection, id, call));
  }

  /** Drops this device's unpushed edits of an entity. `call`: a tab's call, answered once (see `TabCall`). */
  async entityRevert(collection: string, id: string, call?: TabCall | null): Promise<boolean> {
    this.assertOpen();
    checkCollectionName(collection);
    return this.loadBackground().then((b) => b.revert(collection, id, call));
  }

  /**
   * Settles a conflict; the result is pushed against the server's current version. `call`: a tab's call, answered
   * once (see `TabCall`).
   */
  async resolve(conflictId: string, resolution: unknown, call?: TabCall | null): Promise<EntityRecord | null> {
    this.assertOpen();
    return this.loadBackground().then((b) => b.resolve(conflictId, resolution, call));
  }

  async entities(collection: string): Promise<EntityRecord[]> {
    this.assertOpen();
    checkCollectionName(collection);
    return this.loadBackground().then((b) => b.list(collection));
  }

  async conflicts(collection?: string): Promise<Conflict[]> {
    this.assertOpen();
    if (collection !== undefined) checkCollectionName(collection);
    // With no collection (none stored, none registering) there is nothing to load the code for.
    if (!this.backgroundLoad) return [];
    return this.backgroundLoad.then((b) => b.conflicts(collection));
  }

  /** Every entity with an unpushed edit, over all collections, oldest edit first. */
  async dirtyEntities(): Promise<DirtyEntity[]> {
    this.assertOpen();
    if (!this.backgroundLoad) return [];
    return this.backgroundLoad.then((b) => b.dirty());
  }

  /** Whether any tab is visible: collections pull on their interval only then. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    if (!this.closed) this.background?.setVisible(visible);
  }

  // ---- draining -------------------------------------------------------------------------

  protected canSend(): boolean {
    return !this.closed && this.connectivity.state !== Connectivity.Offline && this.status.paused === null;
  }

  /**
   * Looks at every lane that holds operations (at start, back online, after a pause). A lane stopped while offline
   * or paused has no timer of its own, so a failed read is tried again (1 s, doubling to 30 s) until one succeeds.
   */
  protected async pokeAllLanes(): Promise<void> {
    if (this.closed) return;
    try {
      const lanes = await this.store.lanes();
      this.lanesRetryMs = undefined;
      this.scheduler.poke(...lanes, ...(this.background?.names ?? []).map((name) => PUSH_LANE + name));
    } catch (error) {
      if (this.closed) return;
      this.reportError(`Could not list lanes: ${(error as Error).message}`);
      if (this.lanesRetry !== null) return;
      this.lanesRetryMs = doubledWait(this.lanesRetryMs);
      this.lanesRetry = this.clock.setTimeout(() => {
        this.lanesRetry = null;
        void this.pokeAllLanes();
      }, this.lanesRetryMs);
    }
  }

  /**
   * Feeds an attempt to connectivity. No answer at all means offline or a request the browser would not send:
   * the probe tells which, and in the second case the failure is the operation's own (a strike).
   */
  protected async judge(result: Attempt): Promise<Attempt> {
    const outcome = result.outcome;
    if (outcome.type === 'retry' && outcome.error.kind === 'network') {
      if (await this.connectivity.reachableAfterFailure()) {
        return {
          outcome: {
            ...outcome,
            strike: true,
            error: {
              ...outcome.error,
              message: `${outcome.error.message} (the server is reachable: this request failed on its own)`,
            },
          },
        };
      }
      return result;
    }
    this.connectivity.answered(outcome.type !== 'retry' || outcome.error.kind === 'auth');
    return result;
  }

  // ---- connectivity and capabilities ----------------------------------------------------

  /** Asks the health endpoint whether the server (not just "a network") is reachable. */
  private async probe(): Promise<boolean> {
    const controller = new AbortController();
    const timer = this.clock.setTimeout(() => controller.abort(), Math.min(this.config.requestTimeoutMs, 10_000));
    try {
      const response = await this.fetchFn(this.config.healthUrl, {
        method: 'GET',
        credentials: this.config.credentials,
        cache: 'no-store',
        redirect: 'manual',
        signal: controller.signal,
      });
      await response.body?.cancel().catch(() => {});
      return response.ok;
    } catch {
      return false;
    } finally {
      this.clock.clearTimeout(timer);
    }
  }

  /** Reads `<endpoint>/_syncline`; a server without one gets the defaults (single requests, a 24 h key TTL). */
  protected async loadCapabilities(): Promise<void> {
    try {
      const response = await this.fetchFn(`${this.config.endpoint}/_syncline`, {
        method: 'GET',
        credentials: this.config.credentials,
        cache: 'no-store',
        redirect: 'manual',
        headers: { Accept: 'application/json' },
      });
      if (!response.ok || !/json/i.test(response.headers.get('Content-Type') ?? '')) return;
      const doc = (await response.json()) as {
        idempotency?: { ttlMs?: unknown };
        batch?: { path?: unknown; maxOps?: unknown; maxBytes?: unknown } | null;
      };
      const ttl = doc.idempotency?.ttlMs;
      const batch = doc.batch;
      const next: ServerCapabilities = {
        idempotencyTtlMs: typeof ttl === 'number' && ttl > 0 ? ttl : DEFAULT_KEY_TTL_MS,
        batch:
          batch &&
          typeof batch.path === 'string' &&
          typeof batch.maxOps === 'number' &&
          typeof batch.maxBytes === 'number'
            ? { url: new URL(batch.path, this.config.endpoint).href, maxOps: batch.maxOps, maxBytes: batch.maxBytes }
            : null,
      };
      // Only a batch route on an allowed origin is ever used.
      if (next.batch && !this.origins.includes(new URL(next.batch.url).origin)) next.batch = null;
      if (this.closed) return;
      this.capabilities = next;
      await this.store.db.put('meta', { ...next, endpoint: this.config.endpoint }, 'capabilities').catch(() => {});
    } catch {
      /* unreachable or not a syncline server: keep what we know */
    }
  }

  // ---- views and status -----------------------------------------------------------------

  /** How tabs see an operation: a request out shows `sending`; a state not yet written shows as in memory. */
  protected view(row: Operation): Operation {
    return shownAs(row, this.inFlight, this.unsaved);
  }

  private setStorageHealth(health: StorageHealth): void {
    // Answers Background Sync keeps in memory wait for space: a write that fits meanwhile (a queued operation's
    // record, which frees space) does not make the disk take them.
    const storage = health === 'ok' && this.background?.waitingForSpace ? 'quota-exceeded' : health;
    if (storage !== this.status.storage) this.patchStatus({ storage });
  }

  protected reportError(message: string): void {
    if (this.closed) return;
    console.error(`syncline: ${message}`);
    this.patchStatus({ engineError: { message, at: this.clock.now() } });
  }

  private refreshSyncing(): void {
    const syncing = this.scheduler.busy > 0 && this.canSend();
    if (syncing !== this.status.syncing) this.patchStatus({ syncing });
  }

  protected patchStatus(patch: Partial<EngineStatus>): void {
    if (this.closed) return;
    const next = { ...this.statusSubject.value, ...patch };
    this.statusSubject.next(next);
    if ('paused' in patch || 'connectivity' in patch) {
      this.refreshSyncing();
      // Unpaused or back online: runnable lanes go now.
      if (this.canSend()) this.scheduler.pump();
    }
  }

  protected assertOpen(): void {
    if (this.closed) throw new SynclineError(SynclineErrorCode.Closed, 'The sync engine is closed.');
  }
}

/**
 * A stored row as tabs see it: its request out (`inFlight`), or a state not written (`unsaved`). Only the row's own
 * state: an id queued again after a clear is a new operation (another seq) while the old one's record waits. A row
 * that already counts the attempt out is that attempt's outcome, read before its write's completion reached this
 * thread (WebKit answers such reads first): the overlay is stale for it.
 */
export function shownAs(row: Operation, inFlight: Map<string, Operation>, unsaved: Map<string, Operation>): Operation {
  const flying = inFlight.get(row.id);
  if (flying?.seq === row.seq && row.attempts < flying.attempts) return flying;
  const kept = unsaved.get(row.id);
  return kept?.seq === row.seq ? kept : row;
}

function checkCollectionName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0)
    throw new SynclineError(SynclineErrorCode.InvalidOperation, 'A collection name must be a non-empty string.');
}

/** What a clear removes: operations queued up to a seq, or (a re-sent call) created up to a time. */
export type ClearBound = { seq: number } | { before: number };

/**
 * This database's own id, stored once: it sets apart the keys of Background Sync pushes, whose revision numbers
 * count per device, so two devices of one user never send one key for different edits.
 */
async function newDeviceId(db: SynclineDB): Promise<string> {
  const fresh = Array.from(crypto.getRandomValues(new Uint8Array(10)), (b) => (b & 31).toString(32)).join('');
  const tx = db.transaction('meta', 'readwrite');
  // Another engine may have stored one first (a hand-over): the stored one wins.
  const stored = (await tx.store.get('device')) as string | undefined;
  if (stored === undefined) await tx.store.put(fresh as never, 'device');
  await tx.done;
  return stored ?? fresh;
}
