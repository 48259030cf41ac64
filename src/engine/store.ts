// The queue store: every read and write of the operations in IndexedDB, one write helper, counts and the change stream.
import { Subject, type Observable } from 'rxjs';
import type { IDBPTransaction, StoreNames } from 'idb';
import { SynclineError, SynclineErrorCode, isQuotaError } from '../errors.ts';
import { OperationStatus, type Operation, type OperationFilter } from '../types.ts';
import type { SynclineDB, SynclineSchema } from './db.ts';
import { chooseIndex, indexIsExact, laneRange, matchesFilter, type IndexChoice } from './filter.ts';
import { commitNow, holdsBlob } from './commit.ts';

/** One committed change to the queue as tabs see it: `prev` null for an insert, `next` null for a removal. */
export interface OperationChange {
  prev: Operation | null;
  next: Operation | null;
}

/**
 * Changes of one write transaction, or of one change that lives only in memory (a request going out).
 * `seq` numbers them in creation order: a read transaction created when `store.writeSeq` was N sees exactly
 * the batches with `seq <= N`.
 */
export interface ChangeBatch {
  seq: number;
  changes: OperationChange[];
}

export type Counts = Record<OperationStatus, number>;
export type StorageHealth = 'ok' | 'quota-exceeded' | 'error';

type StoreName = StoreNames<SynclineSchema>;
export type WriteTx = IDBPTransaction<SynclineSchema, StoreName[], 'readwrite'>;
/**
 * Records one change of a write. `prev` and `next` are stored rows, shown to tabs through the engine's overlay
 * as it stands at commit; `shownPrev` replaces the prev view when the caller knows better (a request that has
 * just come back was shown as sending, and its overlay is gone by the time the views are taken).
 */
export type Record_ = (prev: Operation | null, next: Operation | null, shownPrev?: Operation) => void;

export interface QueueStoreOptions {
  db: SynclineDB;
  /** How tabs see a stored row: the engine overlays what lives only in memory (a request in flight). */
  view(row: Operation): Operation;
  onStorageHealth(health: StorageHealth): void;
}

/**
 * A write whose transaction exists: the rows it has recorded so far, how many rows it adds (less those it
 * removes), whether it has committed, and whether its changes are in the counts.
 */
interface OpenWrite {
  ids: Set<string>;
  added: number;
  committed: boolean;
  emitted: boolean;
  /** Resolves once the write has committed and emitted, or failed. */
  over: Promise<void>;
}

export class QueueStore {
  readonly db: SynclineDB;
  /** Write transactions and in-memory changes created so far (see ChangeBatch). */
  writeSeq = 0;
  counts: Counts = { pending: 0, sending: 0, failed: 0, conflict: 0 };
  private readonly subject = new Subject<ChangeBatch>();
  /** Every change, in the order it took effect. */
  readonly changes$: Observable<ChangeBatch> = this.subject.asObservable();
  private closed = false;
  private health: StorageHealth = 'ok';
  /** Writes whose transaction exists and has not finished. */
  private readonly open = new Set<OpenWrite>();

  constructor(private readonly options: QueueStoreOptions) {
    this.db = options.db;
  }

  /** Reads the counts by status from the `status` index (pending as the total less the small rest). */
  async loadCounts(): Promise<void> {
    const tx = this.db.transaction('operations');
    const index = tx.store.index('status');
    const [total, failed, conflict] = await Promise.all([
      tx.store.count(),
      index.count(OperationStatus.Failed),
      index.count(OperationStatus.Conflict),
    ]);
    this.counts = { pending: total - failed - conflict, sending: 0, failed, conflict };
  }

  /**
   * Runs `body` in one write transaction and, once it has committed, emits its changes as one batch. The
   * transaction is created inside the guard, so a closing database or a full disk is a typed error, never a raw
   * DOMException; the body must await only IndexedDB.
   */
  async write<T>(
    stores: StoreName[],
    durability: IDBTransactionDurability,
    body: (tx: WriteTx, record: Record_) => Promise<T> | T,
    /** Runs after the commit, before the views are taken (the engine drops an overlay there). */
    committed?: () => void,
  ): Promise<T> {
    this.assertOpen();
    const changes: { prev: Operation | null; next: Operation | null; shownPrev?: Operation | undefined }[] = [];
    let tx: WriteTx | undefined;
    let seq: number;
    let over!: () => void;
    const open: OpenWrite = {
      ids: new Set(),
      added: 0,
      committed: false,
      emitted: false,
      over: new Promise((r) => (over = r)),
    };
    try {
      tx = this.db.transaction(stores, 'readwrite', { durability });
      seq = ++this.writeSeq;
      this.open.add(open);
      const result = await body(tx, (prev, next, shownPrev) => {
        changes.push({ prev, next, shownPrev });
        open.ids.add((next ?? prev)!.id);
        open.added += (next ? 1 : 0) - (prev ? 1 : 0);
      });
      // Every request is placed: commit now rather than when the last one's answer has come back to this thread
      // (one round trip to the database process less per write, on every enqueue's critical path). Not when a
      // row holds a Blob: WebKit then stores the Blob without its type.
      if (!changes.some(({ next }) => next && holdsBlob(next))) commitNow(tx);
      await tx.done;
      open.committed = true;
      committed?.();
      this.setHealth('ok');
      // Views are taken at commit: what tabs see now, with what is only in memory laid over the stored rows.
      open.emitted = true;
      this.emit(
        seq,
        changes.map(({ prev, next, shownPrev }) => ({
          prev: shownPrev ?? (prev && this.options.view(prev)),
          next: next && this.options.view(next),
        })),
      );
      return result;
    } catch (error) {
      if (tx) {
        try {
          tx.abort();
        } catch {
          /* already finished */
        }
        // Let the abort settle, so no request of this transaction rejects unobserved.
        await tx.done.catch(() => {});
      }
      throw this.failure(error, tx);
    } finally {
      this.open.delete(open);
      over();
    }
  }

  /**
   * For a read about to be created: whether a row was written by a write already open now that then committed.
   * Such a read holds that write's rows (it is created after it), so an in-memory view from before the commit no
   * longer applies to them. Ask only once the read is over: by then each of those writes has committed or failed.
   */
  openWrites(): (id: string) => boolean {
    if (this.open.size === 0) return () => false;
    const writes = [...this.open];
    return (id) => writes.some((w) => w.committed && w.ids.has(id));
  }

  /**
   * For a read about to be created: how many rows it will find in the store, known without counting them (a count
   * walks every row). The counts cover every write emitted so far; the read also sees the writes not emitted yet
   * that then commit, which are added. Ask once the read is over: those writes have then finished in the database,
   * though WebKit may not have told this thread yet, so their outcome is awaited.
   */
  rowsSeenByRead(): () => Promise<number> {
    const c = this.counts;
    const base = c.pending + c.sending + c.failed + c.conflict;
    const writes = [...this.open].filter((w) => !w.emitted);
    return async () => {
      await Promise.all(writes.map((w) => w.over));
      return writes.reduce((sum, w) => (w.committed ? sum + w.added : sum), base);
    };
  }

  /** A change that is not stored (a request going out or coming back): numbered and emitted like a write. */
  emitVirtual(changes: OperationChange[]): void {
    if (changes.length === 0 || this.closed) return;
    this.emit(++this.writeSeq, changes);
  }

  /** Turns a failed transaction into a typed error, and tells the engine whether storage is full. */
  failure(error: unknown, tx?: Pick<WriteTx, 'error'>): Error {
    if (error instanceof SynclineError) return error;
    let cause: unknown = error;
    try {
      cause = tx?.error ?? error;
    } catch {
      /* a transaction that never started has no error to read */
    }
    // Firefox, once a write has exceeded the quota, throws InvalidStateError from the next put() itself ("a mutation
    // operation was attempted on a database that did not allow mutations"): the disk is still full.
    const firefoxFull =
      !this.closed &&
      (error as Error)?.name === 'InvalidStateError' &&
      (this.health === 'quota-exceeded' || /mutation/i.test((error as Error).message ?? ''));
    if (isQuotaError(cause) || isQuotaError(error) || firefoxFull) {
      this.setHealth('quota-exceeded');
      return new SynclineError(
        SynclineErrorCode.QuotaExceeded,
        'The device is out of storage for this site; nothing was written.',
        { cause: String(cause) },
      );
    }
    if ((error as Error)?.name === 'InvalidStateError' && this.closed) {
      return new SynclineError(SynclineErrorCode.Closed, 'The sync engine is closed.');
    }
    this.setHealth('error');
    return new SynclineError(
      SynclineErrorCode.Storage,
      `Storage failed: ${(cause as Error)?.message ?? String(cause)}`,
      { name: (cause as Error)?.name },
    );
  }

  // ---- reads ------------------------------------------------------------------------------

  /** Stored rows with these ids (undefined where none), in one read transaction. */
  async getMany(ids: string[]): Promise<(Operation | undefined)[]> {
    this.assertOpen();
    const byId = this.readTx().store.index('id');
    return Promise.all(ids.map((id) => byId.get(id)));
  }

  /** The first `limit` stored operations of a lane in `seq` order, after `afterSeq` when given. */
  async laneHead(lane: string, limit: number, afterSeq?: number): Promise<Operation[]> {
    this.assertOpen();
    const range =
      afterSeq === undefined ? laneRange(lane) : IDBKeyRange.bound([lane, afterSeq], [lane, Infinity], true, false);
    return this.readTx().store.getAll(range, limit);
  }

  /** Stored rows matching a filter; statuses are compared on the stored row (the caller overlays). */
  async scan(filter: OperationFilter): Promise<Operation[]> {
    this.assertOpen();
    const choice = chooseIndex(filter);
    const rows = await this.source(choice).getAll(choice?.key as never);
    return rows.filter((op) => matchesFilter(op, filter));
  }

  /** Exact stored count for filters an index answers alone; null when a scan is needed. */
  async indexCount(filter: OperationFilter): Promise<number | null> {
    this.assertOpen();
    const choice = chooseIndex(filter);
    if (!indexIsExact(filter, choice)) return null;
    return this.source(choice).count(choice?.key as never);
  }

  /** Where a chosen index's rows are read: a lane is a range of the store's own keys, the rest are indexes. */
  private source(choice: IndexChoice) {
    const store = this.readTx().store;
    return !choice || choice.index === 'lane' ? store : store.index(choice.index);
  }

  /** Every stored operation in `seq` order. */
  async all(): Promise<Operation[]> {
    this.assertOpen();
    return this.readTx().store.index('seq').getAll();
  }

  /** The lanes that hold operations, in name order: one cursor step per lane, skipping over its operations. */
  async lanes(): Promise<string[]> {
    this.assertOpen();
    const lanes: string[] = [];
    let cursor = await this.readTx().store.openKeyCursor();
    while (cursor) {
      const lane = cursor.key[0];
      lanes.push(lane);
      cursor = await cursor.continue([lane, Infinity]);
    }
    return lanes;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.subject.complete();
    this.db.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** A read transaction over the queue, for reads kept apart from this class (windows.ts). */
  read() {
    this.assertOpen();
    return this.readTx();
  }

  private readTx() {
    try {
      return this.db.transaction('operations');
    } catch (error) {
      throw this.failure(error);
    }
  }

  /**
   * A write outside this store (the replica's) committed: storage is taking writes. Told even when the health was
   * already ok: the engine's status also waits for what Background Sync keeps in memory, which that write may have
   * stored.
   */
  written(): void {
    this.setHealth('ok');
  }

  private setHealth(health: StorageHealth): void {
    this.health = health;
    this.options.onStorageHealth(health);
  }

  private emit(seq: number, changes: OperationChange[]): void {
    if (changes.length === 0 || this.closed) return;
    const counts = { ...this.counts };
    for (const { prev, next } of changes) {
      if (prev) counts[prev.status]--;
      if (next) counts[next.status]++;
    }
    this.counts = counts;
    this.subject.next({ seq, changes });
  }

  private assertOpen(): void {
    if (this.closed) throw new SynclineError(SynclineErrorCode.Closed, 'The sync engine is closed.');
  }
}
