// The queue's commands, queries and drain: loaded after the engine opens (a chunk of its own), so a worker starts on less code.
import { unwrap } from 'idb';
import { SynclineError, SynclineErrorCode, isQuotaError } from '../errors.ts';
import {
  Connectivity,
  OperationStatus,
  type Operation,
  type OperationFilter,
  type OperationInput,
  type OperationResult,
  type OperationWindow,
} from '../types.ts';
import type { BackgroundSync, TabCall } from './background.ts';
import { latestResult, operationKey, resultGroups, type CompletedRow, type ResultGroup } from './db.ts';
import { SyncEngine, shownAs, type ClearBound, type DoneRecord, type EnqueueOptions } from './engine.ts';
import { holdsBlob } from './commit.ts';
import { entityKeyOf, isEmptyFilter, matchesFilter } from './filter.ts';
import { validateFilter, validateRange } from './filter-check.ts';
import { operationId } from './ids.ts';
import { classifyResponse, type Outcome } from './outcome.ts';
import { isDue, reduceOutcome, resetForRetry, type RetryPolicy } from './reducer.ts';
import {
  attempt,
  batchable,
  batchEntry,
  buildRequest,
  neverSent,
  onAllowedOrigin,
  readBatchAnswer,
  type Attempt,
} from './transport.ts';
import { validateOperationInput, withoutBlobs } from './validate.ts';
import { filteredWindow, indexWindow } from './windows.ts';

/** Results are kept this long after an operation is done. */
const COMPLETED_RETENTION_MS = 24 * 60 * 60 * 1000;
/** The most groups of results (see `results` in db.ts) one prune step deletes. */
const COMPLETED_PRUNE_BATCH = 500;
/**
 * Operations read ahead per lane, so the next request of a lane needs no read first; the next rows (as many
 * again, or a batch's worth) are read while requests go on, once no more than that many are left (a read
 * waiting behind the recording of successes held the lane for 4 ms every dozen requests, and for a whole
 * read before every batch).
 */
const LANE_READ_AHEAD = 32;
/** Successes waiting past this many are recorded at once, without waiting for the window (see DONE_FLUSH_DELAY_MS). */
const DONE_FLUSH_MAX = 256;

/** An insert without reads met an id or seq already taken: read and try again. */
class SeqConflict extends Error {}

/**
 * The engine's queue: enqueue, retry, discard, clear and the other commands and queries on operations, and the drain
 * that sends them. Never constructed: `installQueue()` puts its methods on `SyncEngine.prototype` in place of the
 * stubs there, so every engine of the realm runs them on its own state.
 */
export class QueueEngine extends SyncEngine {
  /** Background Sync, when `type` names one of its collections; null otherwise. */
  private collectionOwner(type: string): BackgroundSync | null {
    return this.background?.names.includes(type) ? this.background : null;
  }

  // ---- commands (each documented on its stub in engine.ts) ------------------------------

  override async enqueue(inputs: unknown[], options: EnqueueOptions = {}): Promise<Operation[]> {
    this.assertOpen();
    if (!Array.isArray(inputs) || inputs.length === 0)
      throw new SynclineError(SynclineErrorCode.InvalidOperation, 'Nothing to enqueue.');
    const limits = { origins: this.origins, maxPayloadBytes: this.config.maxPayloadBytes, owned: options.owned };
    const valid = inputs.map((input) => validateOperationInput(input, limits));
    const now = this.clock.now();
    const ids = valid.map((input) => input.id ?? operationId(now));
    // An id the tab made up is new, like one the engine makes up: it is not looked up in the recent results (a read
    // on the critical path of every enqueue). A re-send, which could find it done, looks up every id below.
    options.generated?.forEach((made, i) => {
      if (made && valid[i]) delete valid[i].id;
    });
    if (valid.some(holdsBlob)) {
      const before = this.blobInsert;
      const run = (async () => {
        await before?.catch(() => {});
        try {
          return await this.insert(valid, ids, now, null);
        } catch (error) {
          // Some browsers cannot store a Blob at all (WebKit in an ephemeral session): keep its bytes instead.
          if ((error as SynclineError)?.code !== SynclineErrorCode.Storage) throw error;
          return this.insert(await Promise.all(valid.map(withoutBlobs)), ids, now, null);
        }
      })();
      // Enqueues called after this one wait for it, second try included, or they would take the seqs before it.
      this.blobInsert = run;
      this.trackInsert(run);
      try {
        return await run;
      } finally {
        if (this.blobInsert === run) this.blobInsert = null;
      }
    }
    // An id that left the queue in this engine's life (done, discarded) is looked up first: it may be done already.
    if (options.resent || ids.some((id) => this.left.has(id)))
      return this.trackInsert(this.insert(valid, ids, now, null));
    return this.trackInsert(
      new Promise((resolve, reject) => {
        this.insertQueue.push({ valid, ids, now, resolve, reject });
        if (!this.inserting) void this.flushInserts();
      }),
    );
  }

  /** Keeps `insert` among the pending inserts until it settles (a clear called meanwhile waits for it). */
  private trackInsert(insert: Promise<Operation[]>): Promise<Operation[]> {
    this.pendingInserts.add(insert);
    insert.then(
      () => this.pendingInserts.delete(insert),
      () => this.pendingInserts.delete(insert),
    );
    return insert;
  }

  /**
   * Group commit: enqueues that arrive while an insert transaction runs (from several tabs) are written together in
   * the next one. Each call resolves only once the transaction holding its operations has committed, so the
   * acknowledgement is as durable as before; a lone caller gets a transaction of its own, at once.
   */
  private async flushInserts(): Promise<void> {
    this.inserting = true;
    try {
      while (this.insertQueue.length > 0 && !this.closed) {
        if (this.blobInsert) {
          await this.blobInsert.catch(() => {});
          continue;
        }
        const group = this.insertQueue.splice(0);
        const valid = group.flatMap((g) => g.valid);
        // Reserved before any await, so nothing else picks the same numbers.
        const start = this.lastSeq;
        this.lastSeq += valid.length;
        try {
          const ops = await this.insert(
            valid,
            group.flatMap((g) => g.ids),
            group[0]!.now,
            start,
          );
          let i = 0;
          for (const g of group) {
            g.resolve(ops.slice(i, i + g.valid.length));
            i += g.valid.length;
          }
          continue;
        } catch (error) {
          // Alone, a call may succeed where the group did not (a full disk for all of it, an id already queued by
          // one caller): each is tried on its own, and gets its own answer.
          if (group.length === 1 && !(error instanceof SeqConflict)) {
            group[0]!.reject(error);
            continue;
          }
        }
        for (const g of group) {
          await this.insert(g.valid, g.ids, g.now, null).then(g.resolve, g.reject);
        }
      }
    } finally {
      this.inserting = false;
      for (const g of this.insertQueue.splice(0))
        g.reject(new SynclineError(SynclineErrorCode.Closed, 'The sync engine is closed.'));
    }
  }

  /**
   * Writes new operations in one transaction. With `knownSeq` (the usual case) nothing is read first but the recent
   * results of ids the caller chose: `add` and the unique `seq` index refuse a duplicate id or seq, and the caller
   * retries reading the counter, the ids and the recent results.
   */
  private async insert(
    valid: OperationInput[],
    ids: string[],
    now: number,
    knownSeq: number | null,
  ): Promise<Operation[]> {
    let constraintFailed = false;
    let next = knownSeq ?? 0;
    // The counter as this insert starts: seqs reserved later by others are theirs (taking them too would put this
    // insert's operations after ones queued after it, yet stored first; the unique seq index settles it instead).
    const floor = this.lastSeq;
    const inserted: Operation[] = [];
    let result: Operation[];
    try {
      // The usual insert touches only the queue: the seq counter's high-water mark is the largest seq stored, read
      // at open, and kept in meta whenever operations leave (a second store in every enqueue cost a sixth of its
      // rate). The slow path also reads the counter and the recent results.
      // An id the caller chose may be done already, answered by an engine before this one (whose memory of what
      // left went with it): the usual insert looks those ids up in the recent results, in its own transaction.
      const chosen = valid.some((input) => input.id !== undefined);
      const stores: ('operations' | 'meta' | 'results')[] =
        knownSeq === null ? ['operations', 'meta', 'results'] : chosen ? ['operations', 'results'] : ['operations'];
      result = await this.store.write(stores, this.config.durability, async (tx, record) => {
        const store = tx.objectStore('operations');
        const rawStore = unwrap(store);
        let existing: (Operation | undefined)[] = [];
        let completed: (CompletedRow | undefined)[] = [];
        const byId = () =>
          tx.objectStore('results' as 'operations').index('ids' as never) as unknown as {
            getAll(id: string): Promise<ResultGroup[]>;
          };
        const resultOf = (id: string, groups: ResultGroup[]) => latestResult(groups, id);
        if (knownSeq !== null && chosen) {
          const done = byId();
          completed = await Promise.all(
            ids.map((id, i) => (valid[i]!.id === undefined ? undefined : done.getAll(id).then((g) => resultOf(id, g)))),
          );
        }
        if (knownSeq === null) {
          const byIdIndex = store.index('id');
          // Requests are pipelined, not awaited one by one: 10,000 inserts stay one short transaction.
          const [seq0, last, ...rows] = await Promise.all([
            tx.objectStore('meta').get('seq') as Promise<number | undefined>,
            store
              .index('seq')
              .openKeyCursor(null, 'prev')
              .then((c) => c?.key),
            ...ids.map((id) => byIdIndex.get(id)),
          ]);
          const done = byId();
          completed = await Promise.all(ids.map((id) => done.getAll(id).then((g) => resultOf(id, g))));
          // The counter never goes back, even if another engine last wrote a smaller one, nor below what this one
          // has handed out (a clear may have removed the rows that held the highest seqs).
          next = Math.max((seq0 as number | undefined) ?? 0, (last as number | undefined) ?? 0, floor);
          existing = rows as (Operation | undefined)[];
        }
        const out: Operation[] = [];
        const seen = new Map<string, Operation>();
        valid.forEach((input, i) => {
          const id = ids[i]!;
          const found = existing[i] ?? seen.get(id);
          if (found) {
            // A repeated enqueue (a re-sent call, a caller-chosen id): idempotent.
            out.push(this.view(found));
            return;
          }
          const done = completed[i];
          if (done) {
            // Sent and done already: the engine that took it was replaced before it could answer.
            out.push(this.operationFrom(input, id, done.seq ?? 0, now));
            return;
          }
          const op = this.operationFrom(input, id, ++next, now);
          seen.set(id, op);
          inserted.push(op);
          // A bare request, not the wrapper's promise and listeners: this is every enqueue's critical path.
          const placed = knownSeq === null ? rawStore.put(op) : rawStore.add(op);
          placed.onerror = () => {
            if (placed.error?.name === 'ConstraintError') constraintFailed = true;
          };
          out.push(op);
          record(null, op);
        });
        if (knownSeq === null)
          tx.objectStore('meta')
            .put(next, 'seq')
            .catch(() => {});
        return out;
      });
    } catch (error) {
      if (knownSeq !== null && constraintFailed) throw new SeqConflict();
      throw error;
    }
    if (knownSeq === null) this.lastSeq = Math.max(this.lastSeq, next);
    for (const op of inserted) {
      // Queued again under an id that had left the queue: the new operation is not the one that left.
      if (this.left.delete(op.id)) this.laneBuffers.delete(op.lane);
    }
    this.scheduler.poke(...new Set(result.map((op) => op.lane)));
    return result;
  }

  private operationFrom(input: OperationInput, id: string, seq: number, now: number): Operation {
    return {
      id,
      seq,
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
  }

  override async retry(id: string): Promise<Operation> {
    this.assertOpen();
    checkId(id);
    const sending = this.inFlight.get(id);
    // Not a flight of an operation that left: the id may since have been queued again.
    if (sending && !this.isGone(sending)) return sending;
    const op = await this.store.write(
      ['operations'],
      this.config.durability,
      async (tx, record) => {
        const prev = this.unsaved.get(id) ?? (await tx.objectStore('operations').index('id').get(id));
        if (!prev) return undefined;
        const next = resetForRetry(prev, this.clock.now());
        tx.objectStore('operations')
          .put(next)
          .catch(() => {});
        record(prev, next);
        return next;
      },
      () => this.unsaved.delete(id),
    );
    if (!op) throw new SynclineError(SynclineErrorCode.NotFound, `No operation ${id}.`);
    this.laneBuffers.delete(op.lane);
    this.scheduler.poke(op.lane);
    return this.view(op);
  }

  override async retryAll(filter?: OperationFilter): Promise<number> {
    this.assertOpen();
    filter = validateFilter(filter);
    const { lanes, count } = await this.rewriteShown(
      [OperationStatus.Failed, OperationStatus.Conflict],
      (op) => op.status === OperationStatus.Failed || op.status === OperationStatus.Conflict,
      (shown) => (matchesFilter(shown, filter!) ? resetForRetry(shown, this.clock.now()) : null),
    );
    this.scheduler.poke(...lanes);
    return count;
  }

  override async discard(id: string, options?: { resent?: boolean } | null): Promise<boolean> {
    this.assertOpen();
    checkId(id);
    // Held before the write, so a lane about to send it stops at its last check.
    this.discarding.add(id);
    this.removalsStarted++;
    let removed: Operation | undefined;
    let absent = false;
    try {
      removed = await this.store.write(
        ['operations', 'meta'],
        this.config.durability,
        async (tx, record) => {
          const row = await tx.objectStore('operations').index('id').get(id);
          absent = !row;
          // Delivered, its record still being written: it is done, not discarded (its row goes with that record).
          if (!row || this.unrecorded.has(row.seq)) return undefined;
          // A state that could not be written (a full disk) is what tabs were shown and counted: it is what leaves.
          // The committed callback drops it before the views are taken, so the stored row would be counted instead.
          const prev = this.unsaved.get(id) ?? row;
          tx.objectStore('operations')
            .delete(operationKey(row))
            .catch(() => {});
          // The counter's high-water mark outlives the operation that held it (see insert).
          tx.objectStore('meta')
            .put(this.lastSeq, 'seq')
            .catch(() => {});
          record(prev, null);
          return prev;
        },
        () => this.unsaved.delete(id),
      );
    } catch (error) {
      // The operation stays queued: the lane held at it goes on.
      this.discarding.delete(id);
      void this.pokeAllLanes();
      throw error;
    }
    this.discarding.delete(id);
    // Re-sent by a tab whose engine went before answering: that engine may have done it. Gone without an answer
    // from the server, it was discarded (what the tab asked for); with one, it was sent, not discarded.
    if (!removed) return absent && options?.resent === true && (await this.result(id)) === undefined;
    this.leave(removed);
    // Waiting to go alone after a refused batch: it never will.
    this.solo.delete(id);
    // Its request already out, the server may apply it all the same.
    const requestOut = this.isOut(removed);
    this.completionSubject.next({ id, discarded: true, ...(requestOut ? { requestOut: true as const } : {}) });
    // The lane it blocked may move again.
    this.laneBuffers.delete(removed.lane);
    this.scheduler.poke(removed.lane);
    return true;
  }

  override async syncNow(): Promise<void> {
    this.assertOpen();
    if (this.status.paused) this.patchStatus({ paused: null });
    if (this.connectivity.state === Connectivity.Offline) {
      await this.connectivity.probeNow();
      return;
    }
    const now = this.clock.now();
    await this.rewriteShown(
      [OperationStatus.Pending],
      (op) => op.status === OperationStatus.Pending && op.nextAttemptAt > now,
      (shown) => (this.isOut(shown) ? null : { ...shown, nextAttemptAt: 0, updatedAt: now }),
    );
    await this.pokeAllLanes();
    void this.background?.pullAll();
  }

  /**
   * Rewrites, in one transaction, each operation of `statuses` as tabs see it that `wanted` picks: `change` gives
   * its next state, or null to leave it. A state kept only in memory (a write a full disk refused) is what tabs were
   * shown, so it is what is read, and its row is met even when its stored status is not among `statuses`. Returns
   * the lanes changed (their read-ahead dropped) and how many operations.
   */
  private async rewriteShown(
    statuses: OperationStatus[],
    wanted: (op: Operation) => boolean,
    change: (shown: Operation) => Operation | null,
  ): Promise<{ lanes: Set<string>; count: number }> {
    const lanes = new Set<string>();
    const changed: string[] = [];
    await this.store.write(
      ['operations'],
      this.config.durability,
      async (tx, record) => {
        const store = tx.objectStore('operations');
        const visit = (row: Operation) => {
          const shown = shownAs(row, NOTHING_OUT, this.unsaved);
          const next = wanted(shown) ? change(shown) : null;
          if (!next) return;
          store.put(next).catch(() => {});
          record(shown, next);
          lanes.add(next.lane);
          changed.push(next.id);
        };
        const seen = new Set<string>();
        for (const status of statuses)
          for (let cursor = await store.index('status').openCursor(status); cursor; cursor = await cursor.continue()) {
            if (this.unsaved.has(cursor.value.id)) seen.add(cursor.value.id);
            visit(cursor.value);
          }
        for (const op of this.unsaved.values())
          if (wanted(op) && !seen.has(op.id)) {
            const row = await store.get(operationKey(op));
            if (row) visit(row);
          }
      },
      () => changed.forEach((id) => this.unsaved.delete(id)),
    );
    for (const lane of lanes) this.laneBuffers.delete(lane);
    return { lanes, count: changed.length };
  }

  override async clear(input?: { discardUnsent?: boolean; before?: number }, call?: TabCall | null): Promise<number> {
    this.assertOpen();
    const options = checkClearOptions(input);
    const bound: ClearBound = call?.resent ? { before: options.before ?? this.clock.now() } : { seq: this.lastSeq };
    const before = 'before' in bound ? bound.before : null;
    // Also without discardUnsent: delivered operations whose record is unwritten go with it.
    this.removalsStarted++;
    // Unpushed Background Sync edits refuse the clear before any operation is removed (the replica's part checks
    // again in its own transaction, for an edit made meanwhile).
    if (!options.discardUnsent) this.background?.refuseClearWhileUnpushed();
    // Without discardUnsent a clear removes no queued operation (it refuses if there is one): nothing to hold.
    if (options.discardUnsent) this.clearing.push(bound);
    // Enqueues made before this call are waited for, and covered: read now, before the first await.
    const pending = [...this.pendingInserts];
    try {
      if ('seq' in bound && pending.length > 0) {
        // Until they are stored, their seqs are unknown: every operation is held meanwhile, so none of them can
        // leave between its insert and the bound's widening.
        const covered = bound.seq;
        bound.seq = Infinity;
        const settled = await Promise.allSettled(pending);
        bound.seq = covered;
        for (const r of settled)
          if (r.status === 'fulfilled') for (const op of r.value) bound.seq = Math.max(bound.seq, op.seq);
      }
      const removed = await this.store.write(
        ['operations', 'meta', 'results'],
        this.config.durability,
        async (tx, record) => {
          const rows = (await tx.objectStore('operations').getAll()).filter((op) => clears(bound, op));
          // Delivered, their records still being written: they have reached the server.
          const unsent = rows.filter((op) => !this.unrecorded.has(op.seq)).length;
          if (unsent > 0 && !options.discardUnsent) {
            throw new SynclineError(
              SynclineErrorCode.UnsentOperations,
              `${unsent} operation(s) have not reached the server; pass { discardUnsent: true } to remove them.`,
              { unsent },
            );
          }
          for (const op of rows) {
            tx.objectStore('operations')
              .delete(operationKey(op))
              .catch(() => {});
            record(op, null);
          }
          tx.objectStore('results')
            .clear()
            .catch(() => {});
          tx.objectStore('meta')
            .delete('lastSyncAt')
            .catch(() => {});
          // The counter's high-water mark outlives the operations that held it (see insert).
          tx.objectStore('meta')
            .put(this.lastSeq, 'seq')
            .catch(() => {});
          return rows;
        },
      );
      // Gone only once the removal committed (until then the clear holds them).
      for (const op of removed) {
        this.leave(op);
        this.unsaved.delete(op.id);
        // An answer still to come (or to be recorded) is not kept: the clear removed the results too.
        const requestOut = this.unrecorded.has(op.seq) || this.isOut(op);
        if (requestOut) this.cleared.add(op.seq);
        // A settled() already waiting ends as for a discard; its request may have been applied (or was, unrecorded).
        this.completionSubject.next({
          id: op.id,
          discarded: true,
          ...(requestOut ? { requestOut: true as const } : {}),
        });
      }
      this.patchStatus({ lastSyncAt: null });
      // The replica goes too (a logout): its entities, edits and conflicts, and where each collection's pulls stood.
      await this.background?.clear(before, options.discardUnsent === true);
      return removed.length;
    } finally {
      if (options.discardUnsent) this.clearing.splice(this.clearing.indexOf(bound), 1);
      // Lanes held by the clear look again, whether it removed their operations or failed.
      this.laneBuffers.clear();
      void this.pokeAllLanes();
    }
  }

  // ---- queries (each documented on its stub in engine.ts) -------------------------------

  override async count(filter?: OperationFilter): Promise<number> {
    this.assertOpen();
    filter = validateFilter(filter);
    if (filter.status === undefined) {
      const exact = await this.store.indexCount(filter);
      if (exact !== null) return exact;
      return (await this.store.scan(filter)).length;
    }
    const overlay = this.overlay();
    if (isEmptyFilter({ ...filter, status: undefined })) {
      // Validated: known statuses, each once.
      const statuses = ([] as OperationStatus[]).concat(filter.status);
      const counts = this.store.counts;
      return statuses.reduce((sum, s) => sum + counts[s], 0);
    }
    // Stored statuses are not what tabs see while a request is out: select without them, then overlay.
    const rows = await this.store.scan({ ...filter, status: undefined });
    return rows.map(overlay).filter((op) => matchesFilter(op, filter!)).length;
  }

  override async list(filter?: OperationFilter): Promise<Operation[]> {
    this.assertOpen();
    filter = validateFilter(filter);
    const rows = isEmptyFilter(filter) ? this.store.all() : this.store.scan({ ...filter, status: undefined });
    const overlay = this.overlay();
    return (await rows)
      .map(overlay)
      .filter((op) => matchesFilter(op, filter!))
      .sort((a, b) => a.seq - b.seq);
  }

  override async window(filter?: OperationFilter, offset: number = 0, limit: number = 50): Promise<OperationWindow> {
    this.assertOpen();
    filter = validateFilter(filter);
    ({ offset, limit } = validateRange(offset, limit));
    const onlyLane = filter.lane !== undefined && isEmptyFilter({ ...filter, lane: undefined });
    if (isEmptyFilter(filter) || onlyLane) {
      const read = indexWindow(this.store, filter.lane, offset, limit);
      const overlay = this.overlay();
      const window = await read;
      return { ...window, items: window.items.map(overlay) };
    }
    // The overlay and its ids at this moment, as the read starts: a live window is read again on every relevant
    // change during a drain, so it reads as few rows as the filter allows (see filteredWindow).
    const overlay = this.overlay();
    const counts = this.store.counts;
    return filteredWindow(
      this.store,
      filter,
      offset,
      limit,
      overlay,
      [...this.inFlight.keys(), ...this.unsaved.keys()],
      counts.pending + counts.sending + counts.failed + counts.conflict,
    );
  }

  override lanes(): Promise<string[]> {
    this.assertOpen();
    return this.store.lanes();
  }

  override async result(id: string): Promise<OperationResult | undefined> {
    this.assertOpen();
    const row = latestResult(await this.store.db.getAllFromIndex('results', 'ids', id), id);
    if (!row) return undefined;
    const { seq: _seq, ...result } = row;
    return result;
  }

  override async has(id: string): Promise<boolean> {
    this.assertOpen();
    return this.inFlight.has(id) || (await this.store.getMany([id]))[0] !== undefined;
  }

  /**
   * A lane worker: sends the lane's operations one at a time, in order, until it meets one it may not send now.
   * Nothing is written before a request leaves: the next one goes the moment the previous one succeeds, and
   * successes are recorded behind the requests in coalesced transactions. Returns when to look again.
   */
  protected override async drainLane(lane: string): Promise<number> {
    for (;;) {
      if (!this.canSend()) return Infinity;
      // Records keep failing: wait for one to go through (it looks at every lane again).
      if (this.unrecorded.size >= this.maxUnrecorded) return Infinity;
      const head = await this.laneHead(lane);
      if (!head || head.status !== OperationStatus.Pending) return Infinity;
      // A discard or clear of it is being written: it ends by poking the lane.
      if (this.isHeld(head)) return Infinity;
      const now = this.clock.now();
      if (head.uncertainSince !== undefined && now - head.uncertainSince > this.capabilities.idempotencyTtlMs) {
        await this.settleFailure(head, {
          type: 'failed',
          error: {
            kind: 'uncertain',
            message:
              'The server may or may not have applied this change, and it no longer remembers its key: check, then retry or discard.',
          },
        });
        continue;
      }
      if (!isDue(head, now, this.connectivity.lastOnlineAt)) return head.nextAttemptAt;
      if (!onAllowedOrigin(head.request.url, this.origins)) {
        // Queued under an earlier configuration: the origin was allowed then, and is not now. Never sent.
        const origin = new URL(head.request.url).origin;
        await this.settleFailure(head, {
          type: 'failed',
          error: {
            kind: 'blocked',
            message: `Not sent: ${origin} is not an allowed origin (endpoint, allowedOrigins).`,
          },
        });
        continue;
      }
      const background = head.entity && this.collectionOwner(head.entity.type);
      if (head.entity && background) {
        // An edit of the same entity made before this operation was queued goes first (Background Sync, same entity).
        if (await background.editedBefore(head.entity.type, head.entity.id, head)) {
          // Not before that entity's push is due: its backoff and Retry-After hold this operation too.
          const dueAt = await background.pushEntityNow(head.entity.type, head.entity.id);
          if (await background.editedBefore(head.entity.type, head.entity.id, head))
            return Math.max(dueAt, this.clock.now() + 1000);
          continue;
        }
      }
      const batch = this.batchFrom(lane, now);
      const sent = batch ? await this.sendBatch(batch) : await this.send(head);
      if (sent === 'skipped') continue;
      if (sent === 'stopped') return Infinity;
    }
  }

  /**
   * The lane's first operation as tabs see it, from the read-ahead buffer when it has one. Rows that already left
   * the queue in memory (done but not yet recorded) are skipped, reading on past them: a lane whose first rows
   * are all done-but-unrecorded is not empty.
   */
  private async laneHead(lane: string): Promise<Operation | null> {
    let buffer = this.laneBuffers.get(lane);
    for (let fresh = false; ; fresh = true) {
      if (!buffer || buffer.length === 0 || fresh) {
        const limit = this.readAhead(lane);
        let after: number | undefined;
        for (;;) {
          const rows = await this.store.laneHead(lane, limit, after);
          buffer = rows.filter((row) => !this.isGone(row));
          if (rows.length < limit) this.laneEnds.add(buffer);
          if (buffer.length > 0 || rows.length < limit) break;
          after = rows[rows.length - 1]!.seq;
        }
        this.laneBuffers.set(lane, buffer);
      }
      while (buffer.length > 0 && this.isGone(buffer[0]!)) buffer.shift();
      if (buffer.length > 0) {
        if (!this.laneEnds.has(buffer) && buffer.length <= this.readAhead(lane)) this.refillLane(lane, buffer);
        return this.view(buffer[0]!);
      }
      if (fresh) return null;
    }
  }

  /**
   * Reads the rows after the last one in `buffer` and appends them, unless the buffer was dropped or replaced
   * meanwhile. Seqs only grow, so the rows after the last buffered one are exactly what comes next in the lane.
   */
  private refillLane(lane: string, buffer: Operation[]): void {
    if (this.laneRefills.has(lane) || this.closed) return;
    this.laneRefills.add(lane);
    const last = buffer[buffer.length - 1]!.seq;
    const limit = this.readAhead(lane);
    this.store
      .laneHead(lane, limit, last)
      .then(
        (rows) => {
          if (this.laneBuffers.get(lane) !== buffer || buffer[buffer.length - 1]?.seq !== last) return;
          for (const row of rows) if (!this.isGone(row)) buffer.push(row);
          if (rows.length < limit) this.laneEnds.add(buffer);
        },
        () => {},
      )
      .finally(() => this.laneRefills.delete(lane));
  }

  /** How many rows of this lane one read takes ahead: the read-ahead, or a whole batch's worth. */
  private readAhead(lane: string): number {
    return Math.max(LANE_READ_AHEAD, this.batchLimit(lane));
  }

  /** How many operations of this lane one batch may carry (0: none, send one by one). */
  private batchLimit(lane: string): number {
    const caps = this.capabilities.batch;
    const allowed =
      this.config.batch === true || (Array.isArray(this.config.batch) && this.config.batch.includes(lane));
    return caps && allowed ? Math.max(0, Math.min(caps.maxOps, this.config.batchMaxOps)) : 0;
  }

  /**
   * The lane's next operations that may go together in one batch: consecutive from the head, each pending, due
   * and batchable, within the server's limits. Null when fewer than two qualify (a single request is simpler).
   */
  private batchFrom(lane: string, now: number): Operation[] | null {
    const limit = this.batchLimit(lane);
    const caps = this.capabilities.batch;
    if (limit < 2 || !caps) return null;
    const ops: Operation[] = [];
    // The JSON around the entries, and a margin per entry for its framing.
    let bytes = 16;
    for (const row of this.laneBuffers.get(lane) ?? []) {
      if (this.isGone(row)) continue;
      if (this.isHeld(row) || this.solo.has(row.id)) break;
      const op = this.view(row);
      if (
        op.status !== OperationStatus.Pending ||
        !isDue(op, now, this.connectivity.lastOnlineAt) ||
        !batchable(op, caps.url, this.config.endpoint)
      )
        break;
      // An operation on a Background Sync entity is checked against that entity's unpushed edits on its own.
      if (ops.length > 0 && op.entity && this.collectionOwner(op.entity.type)) break;
      if (op.uncertainSince !== undefined && now - op.uncertainSince > this.capabilities.idempotencyTtlMs) break;
      const size = JSON.stringify(batchEntry(op)).length * 3 + 8;
      if (ops.length > 0 && bytes + size > caps.maxBytes) break;
      ops.push(op);
      bytes += size;
      if (ops.length >= limit) break;
    }
    return ops.length >= 2 ? ops : null;
  }

  /** The operation left the queue (done, discarded, cleared): lanes read past it. */
  private isGone(op: Operation): boolean {
    return this.gone.has(op.seq);
  }

  /** Whether the operation's own request is out now (not that of another operation once under its id). */
  private isOut(op: Operation): boolean {
    return this.inFlight.get(op.id)?.seq === op.seq;
  }

  /** The operation left the queue: lanes read past its seq, and its id, queued again, is looked up first. */
  private leave(op: Operation): void {
    this.gone.add(op.seq);
    this.left.add(op.id);
  }

  /** A discard or clear of the operation is being written: its lane waits for the outcome, sending nothing. */
  private isHeld(op: Operation): boolean {
    return this.discarding.has(op.id) || this.clearing.some((bound) => clears(bound, op));
  }

  /** One attempt at `op`. 'skipped': it left the queue before its request could leave; 'stopped': the queue may not send. */
  private async send(op: Operation): Promise<'sent' | 'skipped' | 'stopped'> {
    const auth = await this.credentials(op, { method: op.request.method, url: op.request.url });
    if (auth === 'stopped' || auth === 'waiting') return auth === 'stopped' ? 'stopped' : 'sent';
    // The last check before the request leaves: a discard or clear up to here is honoured.
    if (this.isGone(op)) return 'skipped';
    if (this.isHeld(op)) return 'stopped';
    if (!this.canSend()) return 'stopped';
    this.solo.delete(op.id);
    const sending: Operation = {
      ...op,
      status: OperationStatus.Sending,
      attempts: op.attempts + 1,
      updatedAt: this.clock.now(),
    };
    this.inFlight.set(op.id, sending);
    const removals = this.removalsStarted;
    this.store.emitVirtual([{ prev: op, next: sending }]);
    const { url, init } = buildRequest(op, auth);
    let result: Attempt = await attempt(url, init, {
      fetch: this.fetchFn,
      clock: this.clock,
      credentials: this.config.credentials,
      requestTimeoutMs: this.config.requestTimeoutMs,
      watch: this.requests,
      headersChecked: auth === null,
    });
    if (this.closed) return 'stopped';
    result = await this.judge(result);
    if (result.outcome.type === 'done') {
      this.recordDone(sending, { id: op.id, completedAt: this.clock.now(), ...result.result! }, removals);
    } else {
      await this.settleFailure(sending, result.outcome);
    }
    return 'sent';
  }

  /**
   * Fresh headers from a tab for the request `op` is about to be sent in. 'stopped': the user is signed out (the
   * queue pauses); 'waiting': no tab could answer in time, which is not the operation's fault and sent nothing, so
   * it is asked again soon with no strike.
   */
  private async credentials(
    op: Operation,
    request: { method: string; url: string },
  ): Promise<Record<string, string> | null | 'stopped' | 'waiting'> {
    if (!this.authorize) return null;
    try {
      const answer = await this.authorize(request);
      if (answer !== false) return answer;
      this.patchStatus({ paused: 'auth' });
      return 'stopped';
    } catch (error) {
      await this.settleFailure(
        op,
        {
          type: 'retry',
          strike: false,
          retryAfterMs: Math.min(this.config.backoffBaseMs, 5_000),
          error: { kind: 'auth', message: `No credentials yet: ${(error as Error)?.message ?? error}` },
        },
        false,
      );
      return 'waiting';
    }
  }

  /**
   * One batch: up to K operations of a lane in one request, credentials asked once. Each result is its
   * operation's answer: the successes are recorded together, the first failure gets its outcome, and the
   * operations after it go back in line with no attempt counted. Re-sending any of them is safe: each has its key.
   */
  private async sendBatch(candidates: Operation[]): Promise<'sent' | 'skipped' | 'stopped'> {
    const caps = this.capabilities.batch!;
    const head = candidates[0]!;
    const auth = await this.credentials(head, { method: 'POST', url: caps.url });
    if (auth === 'stopped' || auth === 'waiting') return auth === 'stopped' ? 'stopped' : 'sent';
    // The last check before the request leaves, as for a single one; the batch ends before a held operation.
    let ops = candidates.filter((op) => !this.isGone(op));
    const held = ops.findIndex((op) => this.isHeld(op));
    if (held >= 0) ops = ops.slice(0, held);
    if (ops.length === 0) return held >= 0 ? 'stopped' : 'skipped';
    if (!this.canSend()) return 'stopped';
    const now = this.clock.now();
    const sending = ops.map((op) => ({
      ...op,
      status: OperationStatus.Sending,
      attempts: op.attempts + 1,
      updatedAt: now,
    }));
    sending.forEach((op) => this.inFlight.set(op.id, op));
    const removals = this.removalsStarted;
    this.store.emitVirtual(ops.map((op, i) => ({ prev: op, next: sending[i]! })));
    const headers: Record<string, string> = {
      ...(auth ?? {}),
      'Content-Type': 'application/json',
      Accept: 'application/json',
    };
    let result = await attempt(
      caps.url,
      { method: 'POST', headers, body: JSON.stringify({ ops: ops.map(batchEntry) }) },
      {
        fetch: this.fetchFn,
        clock: this.clock,
        credentials: this.config.credentials,
        requestTimeoutMs: this.config.requestTimeoutMs,
        watch: this.requests,
        maxBodyBytes: 64 * 1024 * 1024,
      },
    );
    if (this.closed) return 'stopped';
    // Back in line, this attempt not counted: the server never looked at these.
    const release = (from: number) => {
      const back: { prev: Operation; next: Operation }[] = [];
      for (let i = from; i < ops.length; i++) {
        if (this.inFlight.get(ops[i]!.id) !== sending[i]) continue;
        this.inFlight.delete(ops[i]!.id);
        // Discarded or cleared while the batch was out: its removal was already shown (and counted) from
        // sending, so there is nothing to put back.
        if (this.isGone(ops[i]!)) continue;
        back.push({ prev: sending[i]!, next: ops[i]! });
      }
      this.store.emitVirtual(back);
    };
    const outcome = result.outcome;
    if (outcome.type === 'failed' && [404, 405, 415, 501].includes(outcome.error.status ?? 0)) {
      // The server no longer batches (a deploy took the route away): one request per operation from here on.
      this.capabilities = { ...this.capabilities, batch: null };
      release(0);
      this.laneBuffers.delete(head.lane);
      return 'sent';
    }
    result = await this.judge(result);
    const results = (result.result?.body as { results?: unknown } | undefined)?.results;
    const answers = Array.isArray(results) ? results.slice(0, ops.length).map(readBatchAnswer) : [];
    if (result.outcome.type === 'failed' || result.outcome.type === 'conflict') {
      // Refused as a whole (an operation this server will not take in a batch, limits changed since they were
      // read): nothing was applied. Each goes alone once, so only the one at fault is judged by its own answer.
      for (const op of ops) this.solo.add(op.id);
      release(0);
      if (result.outcome.error.status === 413) void this.loadCapabilities();
      return 'sent';
    }
    if (result.outcome.type !== 'done' || !answers[0]) {
      // The batch as a whole was not delivered, or its answer has no first result: the head takes the blame
      // (with a backoff, so a server answering this way is not asked again at once). Any answer but
      // `200 { results }` leaves unknown how far the batch went (a gateway's 502 after some were applied): each
      // operation may have been applied, where one request's 5xx is the server's word that nothing was.
      // A request that never left (the browser refused its headers) is known not applied: no key kept for it.
      const whole =
        result.outcome.type === 'retry'
          ? neverSent(result.outcome)
            ? result.outcome
            : { ...result.outcome, uncertain: true }
          : result.outcome.type === 'done'
            ? {
                type: 'retry' as const,
                strike: true,
                uncertain: true,
                error: {
                  kind: 'http' as const,
                  status: result.outcome.status,
                  message: 'The batch answer has no usable results list.',
                },
              }
            : result.outcome;
      release(1);
      // With no answer the server may have applied any of them: each keeps its key past the head's retry too.
      if (whole.type === 'retry' && whole.uncertain) await this.markUncertain(ops.slice(1));
      await this.settleFailure(sending[0]!, whole);
      return 'sent';
    }
    for (let i = 0; i < ops.length; i++) {
      const answer = answers[i];
      if (!answer) {
        // The server stopped before this one (or its entry is not a result): not looked at, as far as we know.
        release(i);
        break;
      }
      const opOutcome = classifyResponse(
        { status: answer.status, retryAfter: answer.headers['retry-after'] ?? null, body: answer.body },
        this.clock.now(),
      );
      if (opOutcome.type === 'done') {
        this.recordDone(
          sending[i]!,
          {
            id: ops[i]!.id,
            completedAt: this.clock.now(),
            status: answer.status,
            ...(answer.headers.etag ? { etag: answer.headers.etag } : {}),
            ...(answer.headers.location ? { location: answer.headers.location } : {}),
            ...(answer.body !== undefined ? { body: answer.body } : {}),
          },
          removals,
        );
        continue;
      }
      release(i + 1);
      await this.settleFailure(sending[i]!, opOutcome);
      break;
    }
    return 'sent';
  }

  /** Marks operations the server may have applied without answering (`uncertainSince`), unless already marked. */
  private async markUncertain(ops: Operation[]): Promise<void> {
    if (ops.length === 0) return;
    const now = this.clock.now();
    await this.store
      .write(['operations'], 'relaxed', async (tx, record) => {
        const store = tx.objectStore('operations');
        const rows = await Promise.all(ops.map((op) => store.get(operationKey(op))));
        rows.forEach((row, i) => {
          // Not a row that is no longer this operation's (removed, its id queued again as a new operation).
          if (!row || row.seq !== ops[i]!.seq || row.uncertainSince !== undefined) return;
          const next = { ...row, uncertainSince: now };
          store.put(next).catch(() => {});
          record(row, next);
        });
      })
      // Only a guard for a lane held past the key's lifetime: a failed write leaves them as they were.
      .catch(() => {});
  }

  /** Records an outcome other than done, awaited (the lane waits now anyway), and drops the sending overlay. */
  private async settleFailure(shown: Operation, outcome: Outcome, counted = true): Promise<void> {
    const now = this.clock.now();
    const policy: RetryPolicy = { ...this.config, random: this.random };
    const base = counted ? shown : { ...shown, status: OperationStatus.Pending };
    const reduce = (strikes: number) => reduceOutcome({ ...base, strikes }, outcome, now, policy);
    const { next, pauseForAuth } = reduce(base.strikes);
    // Paused once the attempt is recorded, so whoever sees the pause sees the operation waiting, not sending.
    const pause = () => {
      if (pauseForAuth) this.patchStatus({ paused: 'auth' });
    };
    if (!next) return pause();
    const wasSending = shown.status === OperationStatus.Sending;
    const dropOverlay = () => {
      if (this.inFlight.get(shown.id) === shown) this.inFlight.delete(shown.id);
    };
    try {
      await this.store.write(
        ['operations'],
        'relaxed',
        async (tx, record) => {
          const row = await tx.objectStore('operations').get(operationKey(shown));
          // Discarded or cleared while its request was out: the user's choice stands.
          if (!row || row.seq !== shown.seq) {
            this.cleared.delete(shown.seq);
            return;
          }
          // A Retry made while the request waited for its credentials reset the strikes after `shown` was read:
          // this attempt counts from there, or the operation could fail the moment the user retried it.
          const written = row.strikes < base.strikes ? (reduce(row.strikes).next ?? next) : next;
          tx.objectStore('operations')
            .put(written)
            .catch(() => {});
          record(row, written, wasSending ? shown : undefined);
        },
        () => {
          dropOverlay();
          this.unsaved.delete(shown.id);
        },
      );
    } catch (error) {
      // A full disk must not stop the queue: the newer state lives in memory until a write succeeds.
      const removed = this.isGone(shown);
      dropOverlay();
      if (!removed) {
        this.unsaved.set(shown.id, next);
        this.store.emitVirtual([{ prev: shown, next }]);
      }
      if (!isQuotaError(error) && (error as SynclineError)?.code !== SynclineErrorCode.QuotaExceeded) {
        this.reportError(`Could not record an attempt: ${(error as Error).message}`);
      }
    }
    pause();
    this.laneBuffers.delete(shown.lane);
  }

  /** Queues a success to be recorded with others in one transaction; the lane goes on without waiting. */
  /** `removals`: the discards and clears started when its request left (see writeDone). */
  private recordDone(shown: Operation, result: OperationResult, removals: number): void {
    this.leave(shown);
    this.unrecorded.add(shown.seq);
    this.doneQueue.push({ shown, result, removals });
    if (this.doneQueue.length >= DONE_FLUSH_MAX) this.doneWindowEnd?.();
    this.patchStatus({ lastSyncAt: result.completedAt });
    if (!this.recording) this.recording = this.flushDone().finally(() => (this.recording = null));
  }

  private async flushDone(): Promise<void> {
    let lean = false;
    while (this.doneQueue.length > 0 && !this.closed) {
      if (this.doneQueue.length < DONE_FLUSH_MAX) await this.doneWindow();
      if (this.closed) return;
      const batch = this.doneQueue.splice(0);
      try {
        const recorded = await this.writeDone(batch, lean);
        // The lean record wrote no counter: with the rows that held the highest seqs gone, an engine opened after
        // this one would hand those seqs out again. Written on its own, once the deletes made room.
        if (lean) await this.saveSeq().catch(() => {});
        lean = false;
        for (const { result } of recorded) this.completionSubject.next({ id: result.id, result });
      } catch (error) {
        if (this.closed) return;
        // Put back in front; on a full disk, write only the deletes (they free space, results take some).
        this.doneQueue.unshift(...batch);
        const full = (error as SynclineError)?.code === SynclineErrorCode.QuotaExceeded;
        if (full && !lean) {
          lean = true;
          continue;
        }
        this.reportError(`Could not record finished operations: ${(error as Error).message}`);
        await new Promise<void>((resolve) => this.clock.setTimeout(() => resolve(), 1000));
      }
    }
  }

  /** Keeps the seq counter's high-water mark in meta (see `insert`), in a transaction of its own. */
  private saveSeq(): Promise<void> {
    return this.store.write(['meta'], 'relaxed', async (tx) => {
      tx.objectStore('meta')
        .put(this.lastSeq, 'seq')
        .catch(() => {});
    });
  }

  /** Waits the coalescing window, cut short once enough successes wait. */
  private doneWindow(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.doneWindowEnd = null;
        resolve();
      }, this.recordWindowMs);
      this.doneWindowEnd = () => {
        clearTimeout(timer);
        this.doneWindowEnd = null;
        resolve();
      };
    });
  }

  /** Records successes; returns those whose rows it removed (not those a clear removed first). */
  private writeDone(batch: DoneRecord[], lean: boolean): Promise<DoneRecord[]> {
    const now = this.clock.now();
    const stores = lean ? (['operations'] as const) : (['operations', 'results', 'meta'] as const);
    return this.store.write(
      [...stores],
      'relaxed',
      async (tx, record) => {
        // Raw requests: this runs for every success, and the idb wrapper costs a promise and two listeners per
        // request. A failed request aborts the transaction, and the write rejects.
        const raw = unwrap(tx);
        const ops = raw.objectStore('operations');
        const results = lean ? null : raw.objectStore('results');
        // Keys only, by [lane, seq]: the row under an operation's key is that operation's (seqs are never handed
        // out twice), while its id may since have been queued again as a new operation, after a clear removed it.
        // Not asked where no discard or clear has started since the request left: nothing else removes a row, and
        // an id is queued again only once its row is gone (a tenth of a millisecond of the database's time per op).
        const kept = batch.map((done) => done.removals === this.removalsStarted);
        const found = await resultsWhere(
          kept.map((k) => !k),
          (i) => ops.getKey(operationKey(batch[i]!.shown)),
        );
        const stored = batch.map((_, i) => kept[i] || found[i] !== undefined);
        // A row gone before its record: discarded while its request was out (its answer is kept for settled()),
        // unless a clear removed it (with the answers) or its id is queued again as a new operation.
        const discarded = batch.map(({ shown }, i) => !stored[i] && !this.cleared.has(shown.seq));
        const byId = ops.index('id');
        const requeued = await resultsWhere(discarded, (i) => byId.getKey(batch[i]!.shown.id));
        const recorded: DoneRecord[] = [];
        const answers: CompletedRow[] = [];
        const removed: Operation[] = [];
        batch.forEach((done, i) => {
          const { shown, result } = done;
          if (stored[i]) {
            removed.push(shown);
            const before = this.inFlight.get(shown.id) ?? shown;
            record(before, null, before);
          } else if (!discarded[i] || requeued[i] !== undefined) {
            return;
          }
          recorded.push(done);
          answers.push({ ...result, seq: shown.seq });
        });
        for (const range of laneSpans(removed)) ops.delete(range);
        // One request per group of answers: a request each cost the database as much as the deletes.
        if (results) for (const group of resultGroups(answers)) results.add(group);
        if (lean) return recorded;
        if (recorded.length > 0)
          tx.objectStore('meta')
            .put(now, 'lastSyncAt')
            .catch(() => {});
        tx.objectStore('meta')
          .put(this.lastSeq, 'seq')
          .catch(() => {});
        if (now - this.lastPruneAt > 60_000) {
          this.lastPruneAt = now;
          // A bounded step per flush: results older than the retention go, a few hundred at a time.
          const old = await tx
            .objectStore('results')
            .index('completedAt')
            .getAllKeys(IDBKeyRange.upperBound(now - COMPLETED_RETENTION_MS), COMPLETED_PRUNE_BATCH);
          for (const key of old)
            tx.objectStore('results')
              .delete(key)
              .catch(() => {});
        }
        return recorded;
      },
      () => {
        // Lanes stop while this many wait (see drainLane): once fewer do, all of them are looked at again.
        const held = this.unrecorded.size >= this.maxUnrecorded;
        for (const { shown } of batch) {
          // Only this operation's own state: its id may be out again as a new operation.
          if (this.inFlight.get(shown.id) === shown) this.inFlight.delete(shown.id);
          if (this.unsaved.get(shown.id)?.seq === shown.seq) this.unsaved.delete(shown.id);
          this.unrecorded.delete(shown.seq);
          this.cleared.delete(shown.seq);
        }
        // Their lanes may have taken a stale read for the end of the line: look again.
        this.scheduler.poke(...new Set(batch.map(({ shown }) => shown.lane)));
        if (held && this.unrecorded.size < this.maxUnrecorded) void this.pokeAllLanes();
      },
    );
  }

  /** The view as it stands now, for a read that has just started (its rows are from this moment too). */
  private overlay(): (row: Operation) => Operation {
    if (this.inFlight.size === 0 && this.unsaved.size === 0) return (row) => row;
    const inFlight = new Map(this.inFlight);
    const unsaved = new Map(this.unsaved);
    // A write created before this read but not yet committed: the read will hold its rows, while the overlay was
    // taken before that commit dropped it. Asked once the read is over, when each such write has committed or failed.
    const written = this.store.openWrites();
    return (row) => (written(row.id) ? row : shownAs(row, inFlight, unsaved));
  }

  protected override closeQueue(): void {
    // Successes still waiting for their record get it now: the connection closes only after this transaction.
    if (this.doneQueue.length > 0) void this.writeDone(this.doneQueue.splice(0), false).catch(() => {});
  }
}

/** Puts the queue's methods on every engine, in place of the stubs that waited for them; returns them. */
export function installQueue(): QueueEngine {
  const methods = QueueEngine.prototype;
  for (const name of Object.getOwnPropertyNames(methods))
    if (name !== 'constructor')
      Object.defineProperty(SyncEngine.prototype, name, Object.getOwnPropertyDescriptor(methods, name)!);
  return methods;
}

/** No request out: for `shownAs` where only what a full disk kept in memory counts. */
const NOTHING_OUT = new Map<string, Operation>();

function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0)
    throw new SynclineError(SynclineErrorCode.InvalidOperation, 'An operation id must be a non-empty string.');
}

const clears = (bound: ClearBound, op: Operation) =>
  'seq' in bound ? op.seq <= bound.seq : op.createdAt <= bound.before;

/**
 * clear()'s options, checked before anything is removed: it deletes, so a value that only looks like `true`
 * (`discardUnsent: 'false'`) must not count as one.
 */
function checkClearOptions(options: unknown): { discardUnsent?: boolean; before?: number } {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new SynclineError(SynclineErrorCode.InvalidOperation, 'clear() takes an options object.');
  const { discardUnsent, before } = options as { discardUnsent?: unknown; before?: unknown };
  if (discardUnsent !== undefined && typeof discardUnsent !== 'boolean')
    throw new SynclineError(SynclineErrorCode.InvalidOperation, '`discardUnsent` must be true or false.');
  if (before !== undefined && (typeof before !== 'number' || !Number.isFinite(before)))
    throw new SynclineError(SynclineErrorCode.InvalidOperation, '`before` must be a finite number (ms since epoch).');
  return { discardUnsent, before } as { discardUnsent?: boolean; before?: number };
}

/**
 * What removes `done` from the queue: per lane, the key range from its first to its last. A lane sends in order
 * and reads past only operations that left it (done, or their removal committed), so every row between two of its
 * done operations is one of them or already gone: the range removes exactly these, in one request (the database's
 * cost is per request, and a delete per operation was most of what a drain of 8 lanes cost it, `npm run bench` d8).
 */
function laneSpans(done: readonly Pick<Operation, 'lane' | 'seq'>[]): (IDBKeyRange | [string, number])[] {
  const spans = new Map<string, [number, number]>();
  for (const { lane, seq } of done) {
    const span = spans.get(lane);
    if (!span) spans.set(lane, [seq, seq]);
    else {
      span[0] = Math.min(span[0], seq);
      span[1] = Math.max(span[1], seq);
    }
  }
  return [...spans].map(([lane, [first, last]]) =>
    first === last ? [lane, first] : IDBKeyRange.bound([lane, first], [lane, last]),
  );
}

/**
 * Places `request(i)` for each index where `asked` is true, in one transaction, and resolves with their results by
 * index (undefined where not asked): one promise for all of them, where the idb wrapper would make a promise and two
 * listeners per request (on the drain's path, a few per operation).
 */
function resultsWhere<T>(asked: boolean[], request: (i: number) => IDBRequest<T>): Promise<(T | undefined)[]> {
  return new Promise((resolve, reject) => {
    const results = new Array<T | undefined>(asked.length);
    let left = 1;
    const settled = () => --left === 0 && resolve(results);
    asked.forEach((ask, i) => {
      if (!ask) return;
      left++;
      const placed = request(i);
      placed.onsuccess = () => {
        results[i] = placed.result;
        settled();
      };
      placed.onerror = () => reject(placed.error);
    });
    settled();
  });
}
