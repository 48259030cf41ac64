// The sync engine: owns a namespace's queue in IndexedDB and drains it to the server, FIFO per lane, one drainer per namespace.
import { BehaviorSubject, Subject, type Observable } from 'rxjs';
import { SynclineError, SynclineErrorCode, isQuotaError } from '../errors.ts';
import {
  Connectivity,
  OperationStatus,
  type EngineConfig,
  type EngineStatus,
  type Operation,
  type OperationFilter,
  type OperationInput,
  type OperationWindow,
} from '../types.ts';
import { realClock, type Clock } from './clock.ts';
import type { SynclineDB, SynclineSchema } from './db.ts';
import { chooseIndex, entityKeyOf, indexIsExact, isEmptyFilter, laneRange, matchesFilter } from './filter.ts';
import { operationId } from './ids.ts';
import { backoffDelay, classifyResponse, type Outcome } from './outcome.ts';
import { validateOperationInput } from './validate.ts';
import type { IDBPTransaction, StoreNames } from 'idb';

/** One committed change to the queue: `prev` null for an insert, `next` null for a removal. */
export interface OperationChange {
  prev: Operation | null;
  next: Operation | null;
}

/**
 * Changes of one write transaction. `seq` numbers write transactions in creation order: a read
 * transaction created when `engine.writeSeq` was N sees exactly the batches with `seq <= N`.
 */
export interface ChangeBatch {
  seq: number;
  changes: OperationChange[];
}

/** Asks a tab for fresh credentials just before a request; null means "no extra headers". */
export type AuthorizeHook = (request: { method: string; url: string }) => Promise<Record<string, string> | null>;

export interface EngineDeps {
  config: EngineConfig;
  db: SynclineDB;
  clock?: Clock;
  fetch?: typeof fetch;
  /** Web Locks; null runs without cross-context exclusion (a single-tab in-page engine). */
  locks?: LockManager | null;
  random?: () => number;
}

const MAX_BODY_KEPT = 4096;

type Tx = IDBPTransaction<SynclineSchema, StoreNames<SynclineSchema>[], 'readwrite'>;

/** An insert without reads met an id or seq already taken: read and try again. */
class SeqConflict extends Error {}

/** What a lane gets back from a settle step: the op it may send now, the one marked after it, or when to look again. */
interface Claim {
  op: Operation | null;
  /** Marked `sending` already, to go the moment `op` succeeds. */
  ahead: Operation | null;
  wakeAt: number;
}

interface SettleStep {
  lane: string;
  sent?: Operation;
  outcome?: Outcome;
  /** Already on its way (it was marked ahead): mark the op after it. */
  keep?: Operation;
  /** Marked ahead but not to be sent now: return it to pending. */
  release?: Operation;
  resolve(claim: Claim): void;
  reject(error: unknown): void;
}

export class SyncEngine {
  readonly config: EngineConfig;
  private readonly db: SynclineDB;
  private readonly clock: Clock;
  private readonly fetchFn: typeof fetch;
  private readonly locks: LockManager | null;
  private readonly random: () => number;

  private readonly changesSubject = new Subject<ChangeBatch>();
  private readonly statusSubject: BehaviorSubject<EngineStatus>;
  /** Every committed change, in commit order. */
  readonly changes$: Observable<ChangeBatch>;
  readonly status$: Observable<EngineStatus>;

  /** Set by the host: asks a connected tab for credentials. */
  authorize: AuthorizeHook | null = null;

  /** Write transactions created so far (see ChangeBatch). */
  writeSeq = 0;
  private closed = false;
  private draining = false;
  private drainRequested = false;
  private inFlight = 0;
  private wakeTimer: unknown = null;
  private readonly settleQueue: SettleStep[] = [];
  /** The last `seq` this engine handed out; null when it must be read again (see `insert`). */
  private lastSeq: number | null = null;
  private settling = false;
  private wakeAt = Infinity;
  private probeTimer: unknown = null;
  /** Operations that failed for want of a network are due again once this moves past their `updatedAt`. */
  private lastOnlineAt = 0;
  private readonly origins: string[];

  private constructor(deps: EngineDeps, counts: EngineStatus['counts'], lastSyncAt: number | null) {
    this.config = deps.config;
    this.db = deps.db;
    this.clock = deps.clock ?? realClock;
    this.fetchFn = deps.fetch ?? ((input, init) => fetch(input, init));
    this.locks = deps.locks === undefined ? (globalThis.navigator?.locks ?? null) : deps.locks;
    this.random = deps.random ?? Math.random;
    this.origins = [new URL(this.config.endpoint).origin, ...this.config.allowedOrigins.map((o) => new URL(o).origin)];
    this.statusSubject = new BehaviorSubject<EngineStatus>({
      connectivity: Connectivity.Online,
      syncing: false,
      paused: null,
      counts,
      lastSyncAt,
      storage: 'ok',
      clients: 0,
    });
    this.changes$ = this.changesSubject.asObservable();
    this.status$ = this.statusSubject.asObservable();
  }

  /** Opens the engine on a database; counts come from the status index, not from loading rows. */
  static async open(deps: EngineDeps): Promise<SyncEngine> {
    const tx = deps.db.transaction(['operations', 'meta'], 'readonly');
    const index = tx.objectStore('operations').index('status');
    // Pending is nearly everything in a big queue: take it as the total less the (small) other statuses.
    const [total, sending, failed, conflict, lastSyncAt, lastSeq] = await Promise.all([
      tx.objectStore('operations').count(),
      index.count(OperationStatus.Sending),
      index.count(OperationStatus.Failed),
      index.count(OperationStatus.Conflict),
      tx.objectStore('meta').get('lastSyncAt') as Promise<number | undefined>,
      tx.objectStore('meta').get('seq') as Promise<number | undefined>,
    ]);
    const pending = total - sending - failed - conflict;
    const engine = new SyncEngine(deps, { pending, sending, failed, conflict }, lastSyncAt ?? null);
    engine.lastSeq = lastSeq ?? 0;
    engine.requestDrain();
    return engine;
  }

  get status(): EngineStatus {
    return this.statusSubject.value;
  }

  // ---- commands -------------------------------------------------------------------------

  /** Validates every input, then stores them all in one transaction, or none. URLs must be absolute. */
  async enqueue(inputs: unknown[]): Promise<Operation[]> {
    this.assertOpen();
    if (!Array.isArray(inputs) || inputs.length === 0) throw new SynclineError(SynclineErrorCode.InvalidOperation, 'Nothing to enqueue.');
    const limits = { origins: this.origins, maxPayloadBytes: this.config.maxPayloadBytes };
    const valid = inputs.map((input) => validateOperationInput(input, limits));
    const now = this.clock.now();
    const ids = valid.map((input) => input.id ?? operationId(now));
    if (this.lastSeq !== null) {
      // Reserved before any await, so concurrent enqueues (several tabs) never pick the same numbers.
      const start = this.lastSeq;
      this.lastSeq += valid.length;
      try {
        return await this.insert(valid, ids, now, start);
      } catch (error) {
        if (!(error instanceof SeqConflict)) throw error;
        // An id already queued (a re-sent call) or a seq taken by another engine on this database.
        this.lastSeq = null;
      }
    }
    return this.insert(valid, ids, now, null);
  }

  /**
   * Writes new operations in one transaction. With `knownSeq` (the usual case) nothing is read first: `add`
   * and the unique `seq` index refuse a duplicate id or seq, and the caller retries reading both.
   */
  private async insert(valid: OperationInput[], ids: string[], now: number, knownSeq: number | null): Promise<Operation[]> {
    const tx = this.db.transaction(['operations', 'meta'], 'readwrite', { durability: this.config.durability });
    const seq = ++this.writeSeq;
    const store = tx.objectStore('operations');
    const result: Operation[] = [];
    const changes: OperationChange[] = [];
    let next = knownSeq ?? 0;
    // Chromium aborts the transaction with no error of its own: the failed request says why.
    let constraintFailed = false;
    try {
      let existing: (Operation | undefined)[] = [];
      if (knownSeq === null) {
        // Requests are pipelined, not awaited one by one: 10,000 inserts stay one short transaction.
        const [seq0, ...rows] = await Promise.all([
          tx.objectStore('meta').get('seq') as Promise<number | undefined>,
          ...ids.map((id) => store.get(id)),
        ]);
        next = seq0 ?? 0;
        existing = rows;
      }
      const seen = new Map<string, Operation>();
      valid.forEach((input, i) => {
        const id = ids[i]!;
        const found = existing[i] ?? seen.get(id);
        if (found) {
          // A repeated enqueue (a retried RPC call, a caller-chosen id): idempotent.
          result.push(found);
          return;
        }
        const op: Operation = {
          id,
          seq: ++next,
          lane: input.lane ?? 'default',
          kind: input.kind,
          label: input.label,
          request: input.request,
          ...(input.entity ? { entity: input.entity, entityKey: entityKeyOf(input.entity)! } : {}),
          status: OperationStatus.Pending,
          attempts: 0,
          strikes: 0,
          nextAttemptAt: 0,
          createdAt: now,
          updatedAt: now,
        };
        seen.set(id, op);
        (knownSeq === null ? store.put(op) : store.add(op)).catch((e: unknown) => {
          if ((e as Error)?.name === 'ConstraintError') constraintFailed = true;
        });
        result.push(op);
        changes.push({ prev: null, next: op });
      });
      tx.objectStore('meta').put(next, 'seq').catch(() => {});
      await tx.done;
    } catch (error) {
      if (knownSeq !== null && constraintFailed) throw new SeqConflict();
      throw this.storageFailure(error, tx);
    }
    if (knownSeq === null) this.lastSeq = Math.max(this.lastSeq ?? 0, next);
    if (this.status.storage !== 'ok') this.patchStatus({ storage: 'ok' });
    this.emit(seq, changes);
    this.requestDrain();
    return result;
  }

  /** Makes a failed, conflicting or waiting operation due now. */
  async retry(id: string): Promise<Operation> {
    const [op] = await this.update([id], (op) => (op.status === OperationStatus.Sending ? null : this.resetForRetry(op)));
    if (!op) throw new SynclineError(SynclineErrorCode.NotFound, `No operation ${id}.`);
    this.requestDrain();
    return op;
  }

  /** Retries every failed and conflicting operation (optionally filtered). Returns how many. */
  async retryAll(filter: OperationFilter = {}): Promise<number> {
    this.assertOpen();
    const tx = this.db.transaction(['operations'], 'readwrite', { durability: this.config.durability });
    const seq = ++this.writeSeq;
    const index = tx.objectStore('operations').index('status');
    const changes: OperationChange[] = [];
    for (const status of [OperationStatus.Failed, OperationStatus.Conflict]) {
      for (let cursor = await index.openCursor(status); cursor; cursor = await cursor.continue()) {
        if (!matchesFilter(cursor.value, filter)) continue;
        const next = this.resetForRetry(cursor.value);
        cursor.update(next).catch(() => {});
        changes.push({ prev: cursor.value, next });
      }
    }
    await this.commit(tx);
    this.emit(seq, changes);
    this.requestDrain();
    return changes.length;
  }

  /** Removes an operation without sending it (again). A request already in flight may still land. */
  async discard(id: string): Promise<boolean> {
    this.assertOpen();
    const tx = this.db.transaction(['operations'], 'readwrite', { durability: this.config.durability });
    const seq = ++this.writeSeq;
    const store = tx.objectStore('operations');
    const prev = await store.get(id);
    if (prev) store.delete(id).catch(() => {});
    await this.commit(tx);
    if (!prev) return false;
    this.emit(seq, [{ prev, next: null }]);
    // The lane it blocked may move again.
    this.requestDrain();
    return true;
  }

  /** Drains now: wakes waiting lanes and, if offline, probes the server first. */
  async syncNow(): Promise<void> {
    this.assertOpen();
    this.lastOnlineAt = this.clock.now();
    if (this.status.paused) this.patchStatus({ paused: null });
    if (this.status.connectivity === Connectivity.Offline) {
      await this.probe();
      return;
    }
    // Ops waiting on backoff become due: the user asked for it.
    await this.update(await this.dueLater(), (op) => ({ ...op, nextAttemptAt: 0, updatedAt: this.clock.now() }));
    this.requestDrain();
  }

  /** Lifts an auth pause: the app has fresh credentials. */
  resume(): void {
    if (this.status.paused) this.patchStatus({ paused: null });
    this.requestDrain();
  }

  /** A tab says the browser went online or offline. */
  setNetwork(online: boolean): void {
    if (this.closed) return;
    if (!online) this.setConnectivity(Connectivity.Offline);
    else if (this.status.connectivity === Connectivity.Offline) void this.probe();
  }

  setClientCount(clients: number): void {
    if (clients !== this.status.clients) this.patchStatus({ clients });
  }

  /** Removes every operation; refuses while unsent work exists unless `discardUnsent`. */
  async clear(options: { discardUnsent?: boolean } = {}): Promise<number> {
    this.assertOpen();
    const unsent = await this.count({});
    if (unsent > 0 && !options.discardUnsent) {
      throw new SynclineError(SynclineErrorCode.UnsentOperations, `${unsent} operation(s) have not reached the server; pass { discardUnsent: true } to remove them.`, { unsent });
    }
    const tx = this.db.transaction(['operations', 'meta'], 'readwrite', { durability: this.config.durability });
    const seq = ++this.writeSeq;
    const all = await tx.objectStore('operations').getAll();
    tx.objectStore('operations').clear().catch(() => {});
    tx.objectStore('meta').delete('lastSyncAt').catch(() => {});
    await this.commit(tx);
    this.patchStatus({ lastSyncAt: null });
    this.emit(seq, all.map((prev) => ({ prev, next: null })));
    return all.length;
  }

  /** Stops timers and closes the database; in-flight requests finish but are not recorded. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clock.clearTimeout(this.wakeTimer);
    this.clock.clearTimeout(this.probeTimer);
    this.changesSubject.complete();
    this.statusSubject.complete();
    this.db.close();
  }

  // ---- queries --------------------------------------------------------------------------

  /** Counts matching operations, from an index where the filter allows. */
  async count(filter: OperationFilter = {}): Promise<number> {
    this.assertOpen();
    const choice = chooseIndex(filter);
    const store = this.db.transaction('operations').store;
    if (indexIsExact(filter, choice)) return choice ? store.index(choice.index).count(choice.key) : store.count();
    return (await this.scan(filter)).length;
  }

  /** Every matching operation in `seq` order. */
  async list(filter: OperationFilter = {}): Promise<Operation[]> {
    this.assertOpen();
    if (isEmptyFilter(filter)) return this.db.getAllFromIndex('operations', 'seq');
    return (await this.scan(filter)).sort((a, b) => a.seq - b.seq);
  }

  /** A window of matching operations in `seq` order, with the total: what a virtual list asks for. */
  async window(filter: OperationFilter = {}, offset = 0, limit = 50): Promise<OperationWindow> {
    this.assertOpen();
    offset = Math.max(0, Math.floor(offset));
    limit = Math.max(0, Math.min(1000, Math.floor(limit)));
    const onlyLane = filter.lane !== undefined && isEmptyFilter({ ...filter, lane: undefined });
    if (!isEmptyFilter(filter) && !onlyLane) {
      const all = (await this.scan(filter)).sort((a, b) => a.seq - b.seq);
      return { total: all.length, offset, items: all.slice(offset, offset + limit) };
    }
    // The whole queue or one lane: walk an index already in seq order, skipping to the window.
    const tx = this.db.transaction('operations');
    const total = onlyLane ? await tx.store.index('laneSeq').count(laneRange(filter.lane!)) : await tx.store.count();
    const items: Operation[] = [];
    let cursor = onlyLane ? await tx.store.index('laneSeq').openCursor(laneRange(filter.lane!)) : await tx.store.index('seq').openCursor();
    if (cursor && offset > 0) cursor = await cursor.advance(offset);
    for (; cursor && items.length < limit; cursor = await cursor.continue()) items.push(cursor.value);
    return { total, offset, items };
  }

  /** The lanes that hold operations, in name order: one cursor step per lane, skipping over its operations. */
  async lanes(): Promise<string[]> {
    this.assertOpen();
    const lanes: string[] = [];
    let cursor = await this.db.transaction('operations').store.index('laneSeq').openKeyCursor();
    while (cursor) {
      const lane = cursor.key[0];
      lanes.push(lane);
      cursor = await cursor.continue([lane, Infinity]);
    }
    return lanes;
  }

  private async scan(filter: OperationFilter): Promise<Operation[]> {
    const choice = chooseIndex(filter);
    const rows = choice
      ? await this.db.getAllFromIndex('operations', choice.index, choice.key as never)
      : await this.db.getAll('operations');
    return rows.filter((op) => matchesFilter(op, filter));
  }

  // ---- draining -------------------------------------------------------------------------

  /** Asks for a drain pass; passes never overlap, a request during one runs another after it. */
  requestDrain(): void {
    // Offline or waiting for sign-in: nothing to send, so no lock and no reads; coming back asks again.
    if (this.closed || !this.canSend()) return;
    if (this.draining) {
      this.drainRequested = true;
      return;
    }
    this.draining = true;
    this.refreshSyncing();
    void this.runDrain();
  }

  private async runDrain(): Promise<void> {
    try {
      await this.withDrainLock(async () => {
        // Holding the lock, nobody else can be mid-send: any `sending` row is an orphan of a dead drainer.
        await this.recoverSending();
        do {
          this.drainRequested = false;
          await this.drainPass();
        } while (this.drainRequested && !this.closed);
      });
    } catch (error) {
      if (!this.closed) console.error('syncline: drain failed', error);
    } finally {
      this.draining = false;
      if (!this.closed) {
        this.refreshSyncing();
        if (this.drainRequested) this.requestDrain();
      }
    }
  }

  private async withDrainLock(work: () => Promise<void>): Promise<void> {
    if (!this.locks) return work();
    await this.locks.request(`syncline:${this.config.namespace}:drain`, work);
  }

  private canSend(): boolean {
    return !this.closed && this.status.connectivity !== Connectivity.Offline && this.status.paused === null;
  }

  private async drainPass(): Promise<void> {
    if (!this.canSend()) return;
    const lanes = await this.lanes();
    let wakeAt = Infinity;
    const queue = [...lanes];
    const worker = async () => {
      for (let lane = queue.shift(); lane !== undefined; lane = queue.shift()) {
        wakeAt = Math.min(wakeAt, await this.drainLane(lane));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.config.laneConcurrency, lanes.length) }, worker));
    this.scheduleWake(wakeAt);
  }

  /**
   * Sends a lane's operations one at a time, in order. The settle step that records a response also marks
   * the op after next as `sending`, so when a request succeeds the next one leaves at once and its
   * bookkeeping overlaps the request instead of preceding it. Returns when the lane should be looked at again.
   */
  private async drainLane(lane: string): Promise<number> {
    let claim = await this.settleAndClaim({ lane });
    let inFlight = claim.op ? this.send(claim.op) : null;
    while (claim.op && inFlight) {
      const sent = claim.op;
      const outcome = await inFlight;
      const ahead = claim.ahead;
      if (outcome.type === 'done' && ahead && this.canSend()) {
        // `ahead` was marked sending in an earlier, committed transaction: it may go now.
        inFlight = this.send(ahead);
        const next = await this.settleAndClaim({ lane, sent, outcome, keep: ahead });
        claim = { op: ahead, ahead: next.ahead, wakeAt: next.wakeAt };
      } else {
        // A failure, a pause or nothing marked ahead: record it, hand back the op marked ahead, claim afresh.
        claim = await this.settleAndClaim({ lane, sent, outcome, ...(ahead ? { release: ahead } : {}) });
        inFlight = claim.op ? this.send(claim.op) : null;
      }
    }
    return claim.wakeAt;
  }

  /**
   * One settle step, in a short transaction that never awaits the network: records the outcome of the op
   * a lane just sent, and marks what the lane sends next as `sending` before any request leaves. Lanes that
   * finish while a transaction runs are settled together in the next one: write transactions on one store
   * run one at a time, so eight lanes would otherwise queue behind each other.
   */
  private settleAndClaim(step: Omit<SettleStep, 'resolve' | 'reject'>): Promise<Claim> {
    if (this.closed) return Promise.resolve({ op: null, ahead: null, wakeAt: Infinity });
    return new Promise((resolve, reject) => {
      this.settleQueue.push({ ...step, resolve, reject });
      if (!this.settling) void this.flushSettles();
    });
  }

  private async flushSettles(): Promise<void> {
    this.settling = true;
    try {
      while (this.settleQueue.length > 0) {
        const batch = this.settleQueue.splice(0);
        try {
          const claims = await this.settleBatch(batch);
          batch.forEach((step, i) => step.resolve(claims[i]!));
        } catch (error) {
          for (const step of batch) step.reject(error);
        }
      }
    } finally {
      this.settling = false;
    }
  }

  private async settleBatch(batch: SettleStep[]): Promise<Claim[]> {
    if (this.closed) return batch.map(() => ({ op: null, ahead: null, wakeAt: Infinity }));
    const now = this.clock.now();
    const tx = this.db.transaction(['operations', 'meta'], 'readwrite', { durability: 'relaxed' });
    const seq = ++this.writeSeq;
    const store = tx.objectStore('operations');
    const changes: OperationChange[] = [];
    const write = (prev: Operation, next: Operation | null) => {
      if (next) store.put(next).catch(() => {});
      else store.delete(prev.id).catch(() => {});
      changes.push({ prev, next });
    };
    // One round trip for the whole batch: each sent op as it is now, and each lane's first three
    // (the op just sent, the one marked ahead, the one after that).
    const reads = await Promise.all(batch.map((step) => Promise.all([
      step.sent ? store.get(step.sent.id) : undefined,
      store.index('laneSeq').getAll(laneRange(step.lane), 3),
    ])));
    let synced = false;
    // The lane as it stands once this step's outcome and release are written.
    const views = batch.map((step, i) => {
      const [current, firstThree] = reads[i]!;
      let view: Operation[] = firstThree;
      const replace = (prev: Operation, next: Operation | null) => {
        view = next ? view.map((op) => (op.id === prev.id ? next : op)) : view.filter((op) => op.id !== prev.id);
      };
      if (step.sent && step.outcome && current && current.status === OperationStatus.Sending) {
        // (Discarded by the user while in flight, or changed by another engine: their choice stands.)
        const next = this.applyOutcome(current, step.outcome, now);
        write(current, next);
        replace(current, next);
        synced ||= step.outcome.type === 'done';
      }
      const held = step.release && view.find((op) => op.id === step.release!.id);
      if (held && held.status === OperationStatus.Sending) {
        // Marked ahead but never sent: back in line, the attempt not counted.
        const back = { ...held, status: OperationStatus.Pending, attempts: Math.max(0, held.attempts - 1) };
        write(held, back);
        replace(held, back);
      }
      return view;
    });
    if (synced) tx.objectStore('meta').put(now, 'lastSyncAt').catch(() => {});
    // Claims come after every outcome of the batch is applied: one of them may have paused or cut the queue.
    const mark = (op: Operation | undefined): Operation | null => {
      if (!op || op.status !== OperationStatus.Pending || !this.canSend() || !this.isDue(op, now)) return null;
      const claimed = { ...op, status: OperationStatus.Sending, attempts: op.attempts + 1, updatedAt: now };
      write(op, claimed);
      return claimed;
    };
    const wakeOf = (op: Operation | undefined) =>
      op && op.status === OperationStatus.Pending && this.canSend() && !this.isDue(op, now) ? op.nextAttemptAt : Infinity;
    const claims = batch.map((step, i): Claim => {
      const view = views[i]!;
      if (step.keep) {
        // The kept op is on its way; mark the one after it.
        const after = view[view.findIndex((op) => op.id === step.keep!.id) + 1];
        return { op: null, ahead: mark(after), wakeAt: wakeOf(after) };
      }
      const op = mark(view[0]);
      if (!op) return { op: null, ahead: null, wakeAt: wakeOf(view[0]) };
      return { op, ahead: mark(view[1]), wakeAt: Infinity };
    });
    await this.commit(tx);
    if (synced) this.patchStatus({ lastSyncAt: now });
    this.emit(seq, changes);
    return claims;
  }

  private isDue(op: Operation, now: number): boolean {
    if (op.nextAttemptAt <= now) return true;
    // Waiting only because the network was gone, and it is back: go now.
    return op.lastError?.kind === 'network' && op.updatedAt < this.lastOnlineAt;
  }

  private applyOutcome(op: Operation, outcome: Outcome, now: number): Operation | null {
    this.noteConnectivity(outcome);
    switch (outcome.type) {
      case 'done':
        return null;
      case 'retry': {
        const strikes = op.strikes + (outcome.strike ? 1 : 0);
        if (strikes >= this.config.maxAttempts) {
          return { ...op, status: OperationStatus.Failed, strikes, lastError: outcome.error, nextAttemptAt: 0, updatedAt: now };
        }
        const delay = outcome.retryAfterMs !== undefined
          ? Math.min(outcome.retryAfterMs, this.config.maxRetryAfterMs)
          : backoffDelay(Math.max(1, strikes), this.config.backoffBaseMs, this.config.backoffCapMs, this.random);
        return { ...op, status: OperationStatus.Pending, strikes, lastError: outcome.error, nextAttemptAt: now + delay, updatedAt: now };
      }
      case 'auth':
        // Not the operation's fault: it waits, unchanged in standing, for sign-in.
        this.patchStatus({ paused: 'auth' });
        return { ...op, status: OperationStatus.Pending, lastError: outcome.error, nextAttemptAt: 0, updatedAt: now };
      case 'conflict':
        return { ...op, status: OperationStatus.Conflict, lastError: outcome.error, nextAttemptAt: 0, updatedAt: now };
      case 'failed':
        return { ...op, status: OperationStatus.Failed, lastError: outcome.error, nextAttemptAt: 0, updatedAt: now };
    }
  }

  /** Sends one operation with its Idempotency-Key, fresh credentials and a timeout. Never throws. */
  private async send(op: Operation): Promise<Outcome> {
    this.inFlight++;
    this.refreshSyncing();
    try {
      const headers: Record<string, string> = { ...(op.request.headers ?? {}) };
      if (this.authorize) {
        try {
          Object.assign(headers, (await this.authorize({ method: op.request.method, url: op.request.url })) ?? {});
        } catch (error) {
          return { type: 'auth', error: { kind: 'auth', message: `authorize() failed: ${(error as Error).message}` } };
        }
      }
      headers['Idempotency-Key'] = `"${op.id}"`;
      let body: string | undefined;
      if (op.request.body !== undefined) {
        body = typeof op.request.body === 'string' ? op.request.body : JSON.stringify(op.request.body);
        if (typeof op.request.body !== 'string' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
          headers['Content-Type'] = 'application/json';
        }
      }
      return await this.request(op.request.url, { method: op.request.method, headers, body: body ?? null, credentials: this.config.credentials });
    } finally {
      this.inFlight--;
      this.refreshSyncing();
    }
  }

  private async request(url: string, init: RequestInit): Promise<Outcome> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = this.clock.setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.config.requestTimeoutMs);
    try {
      const response = await this.fetchFn(url, { ...init, signal: controller.signal });
      const body = await readBody(response);
      return classifyResponse(response.status, response.headers.get('Retry-After'), body, this.clock.now());
    } catch (error) {
      if (timedOut) return { type: 'retry', strike: true, error: { kind: 'timeout', message: `No answer within ${this.config.requestTimeoutMs} ms.` } };
      return { type: 'retry', strike: false, error: { kind: 'network', message: (error as Error).message || 'Network error' } };
    } finally {
      this.clock.clearTimeout(timer);
    }
  }

  // ---- connectivity ---------------------------------------------------------------------

  private noteConnectivity(outcome: Outcome): void {
    if (outcome.type === 'retry') {
      const kind = outcome.error.kind;
      this.setConnectivity(kind === 'network' ? Connectivity.Offline : Connectivity.Degraded);
    } else {
      this.setConnectivity(Connectivity.Online);
    }
  }

  private setConnectivity(next: Connectivity): void {
    const prev = this.status.connectivity;
    if (prev === next || this.closed) return;
    this.patchStatus({ connectivity: next });
    if (next === Connectivity.Offline) this.scheduleProbe();
    else this.clock.clearTimeout(this.probeTimer);
    if (prev === Connectivity.Offline) {
      this.lastOnlineAt = this.clock.now();
      this.requestDrain();
    }
  }

  private scheduleProbe(): void {
    this.clock.clearTimeout(this.probeTimer);
    this.probeTimer = this.clock.setTimeout(() => void this.probe(), this.config.probeIntervalMs);
  }

  /** Asks the health endpoint whether the server (not just "a network") is reachable. */
  private async probe(): Promise<void> {
    if (this.closed) return;
    this.clock.clearTimeout(this.probeTimer);
    const outcome = await this.request(this.config.healthUrl, { method: 'GET', credentials: this.config.credentials, cache: 'no-store' });
    if (this.closed) return;
    if (outcome.type === 'done') this.setConnectivity(Connectivity.Online);
    else if (this.status.connectivity === Connectivity.Offline) this.scheduleProbe();
  }

  // ---- helpers --------------------------------------------------------------------------

  private scheduleWake(at: number): void {
    if (at === Infinity || this.closed) return;
    if (this.wakeTimer !== null && at >= this.wakeAt) return;
    this.clock.clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = this.clock.setTimeout(() => {
      this.wakeTimer = null;
      this.wakeAt = Infinity;
      this.requestDrain();
    }, Math.max(0, at - this.clock.now()));
  }

  private async recoverSending(): Promise<void> {
    // Almost always none: a count is one cheap request, the key list is read only when there is work.
    if ((await this.db.countFromIndex('operations', 'status', OperationStatus.Sending)) === 0) return;
    const orphans = await this.db.getAllKeysFromIndex('operations', 'status', OperationStatus.Sending);
    // Same id, same Idempotency-Key: the server turns the repeat into a replay (at-least-once made exactly-once).
    await this.update(orphans, (op) => (op.status === OperationStatus.Sending ? { ...op, status: OperationStatus.Pending, nextAttemptAt: 0 } : null));
  }

  private async dueLater(): Promise<string[]> {
    const now = this.clock.now();
    const pending = await this.db.getAllFromIndex('operations', 'status', OperationStatus.Pending);
    return pending.filter((op) => op.nextAttemptAt > now).map((op) => op.id);
  }

  private resetForRetry(op: Operation): Operation {
    return { ...op, status: OperationStatus.Pending, strikes: 0, nextAttemptAt: 0, updatedAt: this.clock.now() };
  }

  /** Rewrites the given operations in one transaction; `change` returning null leaves one as it is. */
  private async update(ids: string[], change: (op: Operation) => Operation | null): Promise<Operation[]> {
    this.assertOpen();
    if (ids.length === 0) return [];
    const tx = this.db.transaction(['operations'], 'readwrite', { durability: this.config.durability });
    const seq = ++this.writeSeq;
    const store = tx.objectStore('operations');
    const rows = await Promise.all(ids.map((id) => store.get(id)));
    const changes: OperationChange[] = [];
    const result: Operation[] = [];
    for (const prev of rows) {
      if (!prev) continue;
      const next = change(prev);
      if (!next) { result.push(prev); continue; }
      store.put(next).catch(() => {});
      changes.push({ prev, next });
      result.push(next);
    }
    await this.commit(tx);
    this.emit(seq, changes);
    return result;
  }

  private async commit(tx: { done: Promise<void> } & Pick<Tx, 'error'>): Promise<void> {
    try {
      await tx.done;
    } catch (error) {
      throw this.storageFailure(error, tx);
    }
  }

  /** Turns a failed transaction into a typed error and a storage status, so a full disk is never silent. */
  private storageFailure(error: unknown, tx: Pick<Tx, 'error'>): Error {
    if (error instanceof SynclineError) return error;
    const cause = tx.error ?? error;
    if (isQuotaError(cause) || isQuotaError(error)) {
      this.patchStatus({ storage: 'quota-exceeded' });
      return new SynclineError(SynclineErrorCode.QuotaExceeded, 'The device is out of storage for this site; nothing was queued.', { cause: String(cause) });
    }
    this.patchStatus({ storage: 'error' });
    return new SynclineError(SynclineErrorCode.Storage, `Storage failed: ${(cause as Error)?.message ?? String(cause)}`);
  }

  private emit(seq: number, changes: OperationChange[]): void {
    if (changes.length === 0 || this.closed) return;
    const counts = { ...this.status.counts };
    for (const { prev, next } of changes) {
      if (prev) counts[prev.status]--;
      if (next) counts[next.status]++;
    }
    this.patchStatus({ counts });
    this.changesSubject.next({ seq, changes });
  }

  private refreshSyncing(): void {
    const syncing = this.draining && (this.inFlight > 0 || this.canSend());
    if (syncing !== this.status.syncing) this.patchStatus({ syncing });
  }

  private patchStatus(patch: Partial<EngineStatus>): void {
    if (this.closed) return;
    this.statusSubject.next({ ...this.statusSubject.value, ...patch });
  }

  private assertOpen(): void {
    if (this.closed) throw new SynclineError(SynclineErrorCode.Closed, 'The sync engine is closed.');
  }
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  if ((response.headers.get('Content-Type') ?? '').includes('json')) {
    try {
      return JSON.parse(text.length > MAX_BODY_KEPT * 16 ? '' : text);
    } catch {
      /* fall through to text */
    }
  }
  return text.slice(0, MAX_BODY_KEPT);
}

