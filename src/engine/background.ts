// Background Sync: a local replica of server collections, edited optimistically, pushed and pulled, conflicts kept.
import { SynclineError, SynclineErrorCode } from '../errors.ts';
import {
  COLLECTION_NAME_PATTERN,
  CONFLICT_STRATEGIES,
  MAX_TIMER_MS,
  type CollectionConfig,
  type CollectionStatus,
  type Conflict,
  type DirtyEntity,
  type EntityRecord,
  type OperationError,
  type Resolution,
  type Rollback,
} from '../types.ts';
import { doubledWait, type Clock } from './clock.ts';
import type { CollectionRow, EntityRow, SynclineDB } from './db.ts';
import { operationId } from './ids.ts';
import { changedFields, sameValue, threeWayMerge, type Data, type MergeResult } from './merge.ts';
import { isRecord, type Outcome } from './outcome.ts';
import { retryDelay } from './reducer.ts';
import { attempt, onAllowedOrigin, type Attempt } from './transport.ts';
import type { RequestWatch } from './watch.ts';
import { commitNow } from './commit.ts';
import type { IDBPTransaction, StoreNames } from 'idb';
import type { SynclineSchema } from './db.ts';

/** One change to the replica as tabs see it. */
export interface EntityChange {
  collection: string;
  id: string;
  next: EntityRecord | null;
  /** The entity as `dirtyEntities$` lists it after the change (null: clean, or gone). */
  dirty: DirtyEntity | null;
}

export interface EntityBatch {
  seq: number;
  changes: EntityChange[];
  /** Conflicts added (by id) or removed (null). */
  conflicts: { id: string; next: Conflict | null }[];
}

type Counted = 'dirty' | 'conflicts' | 'failed';

/**
 * A write under way: its changes, and what it has added to the counts so far. The counts move as the write goes
 * (they are the engine's, shared by every write); should it fail, only its own additions are taken back.
 */
interface Write extends EntityBatch {
  counted: { collection: string; field: Counted; by: number }[];
}

/** What the Background Sync part needs from the engine around it. */
export interface BackgroundHost {
  db: SynclineDB;
  clock: Clock;
  fetch: typeof fetch;
  /** The engine's requests out now: stopped when it closes, so requests not yet out never leave. */
  requests: RequestWatch;
  random(): number;
  config: {
    credentials: RequestCredentials;
    requestTimeoutMs: number;
    maxAttempts: number;
    backoffBaseMs: number;
    backoffCapMs: number;
    maxRetryAfterMs: number;
    /** The largest entity data an edit may store (its JSON, in bytes), as for a queued operation's body. */
    maxPayloadBytes: number;
    durability: IDBTransactionDurability;
  };
  origins: string[];
  /** This database's id, part of every push key (revisions count per device). */
  deviceId: string;
  /** The next change number (shared with the queue, so both streams line up with one snapshot rule). */
  nextSeq(): number;
  /** The highest `seq` the queue has given an operation so far. */
  queueSeq(): number;
  canSend(): boolean;
  authorize(request: { method: string; url: string }): Promise<Record<string, string> | null | false>;
  /** Connectivity and the reachability probe, as for queued operations. */
  judge(result: Attempt): Promise<Attempt>;
  pauseForAuth(): void;
  /** Asks the scheduler to push a collection now (or at `at`). */
  pokePush(collection: string): void;
  storageFailure(error: unknown): Error;
  reportError(message: string): void;
  countsChanged(): void;
  /** Every replica change, in commit order (the engine's `entityChanges$`). */
  changed(batch: EntityBatch): void;
  /** A local edit a strategy replaced with the server's copy (the engine's `rollbacks$`). */
  rolledBack(rollback: Rollback): void;
  /** The server accepted a push or answered a whole pull at `at`: the engine's `lastSyncAt` moves on to it. */
  synced(at: number): void;
  /** A write committed: storage is taking writes (again, after a full disk). */
  storageWritten(): void;
}

const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
/** Push answers are parsed up to this size: a 412's `current` is a whole entity, and must not be cut to text. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
/** The meta key of the highest revision of any row removed so far (new rows count on from it). */
const REV_FLOOR_KEY = 'entityRev';
/**
 * Kept answers of recent tab calls (see `TabCall`) are meta rows keyed with this prefix and the call's key, each
 * kept until its tab stops waiting for it (`until`), and at least a minute. Those past it go at most once a minute.
 */
const CALL_ANSWER_PREFIX = 'call:';
const CALL_ANSWERS_MS = 60_000;
const callAnswers = () => IDBKeyRange.bound(CALL_ANSWER_PREFIX, `${CALL_ANSWER_PREFIX}\uffff`);
/**
 * The most `put`/`patch` keys a row keeps (see `EntityRow.calls`). An entity edited more often than this while a
 * tab may still re-send the oldest call loses that call's key: re-sent, it applies again.
 */
const ROW_CALLS_MAX = 32;
/** Rows of the push index read at a time. */
const PUSH_PAGE = 64;
/** An entity tag no server hands out: a well-formed If-Match that matches nothing (see `settleCreate`). */
const FENCE_TAG = '"syncline-fence"';

type Tx = IDBPTransaction<SynclineSchema, StoreNames<SynclineSchema>[], 'readwrite'>;
type WriteBody = (tx: Tx, batch: Write) => Promise<void>;

/** Push outcomes of one entity a full disk kept from being stored (see `BackgroundSync.unrecorded`). */
interface Unrecorded {
  /**
   * The writes, in the order the answers came; `after` runs once its write has committed (a rollback to report).
   * `repeat` names an answer that may come again unchanged (a retry of one revision): kept once.
   */
  writes: { body: WriteBody; after?: () => void; repeat?: string }[];
  /** Until when the entity's push waits (ms since the epoch): Infinity until the writes are stored. */
  until: number;
  /** When a finite wait began: a clock set back before it ends the wait, as for a stored backoff (`waits`). */
  since: number;
  /** Strikes of retries answered while unrecorded (not stored yet): the backoff grows with them. */
  strikes: number;
  /** Create marks refused in a row: the wait before the next try grows with them. */
  marks: number;
  /**
   * The revision the server took (`taken`) or refused for good: while the row still holds it, nothing of the entity
   * is left to push before a queued operation behind it (which need not wait for the record), and a taken edit has
   * reached the server (a logout need not refuse it).
   */
  settled?: { rev: number; taken: boolean };
}
/** The first wait before a write a full disk refused is tried again on its own; doubled up to the cap. */
const RECORD_RETRY_MS = 1_000;
const RECORD_RETRY_CAP_MS = 30_000;

/**
 * A tab's call that changes the replica, named by the tab and its call id. Re-sent to the next engine (the first
 * went before answering), it must not act again on what other calls did meanwhile. A delete, revert or resolve
 * keeps its answer in the transaction that does it, and a re-send gets that answer rather than one about what is
 * left ("no such conflict", "nothing to revert"); kept small: the entity's key for a resolve, whose answer is read
 * again. A put or patch keeps its key in the row it writes (`EntityRow.calls`, no write of its own) and a re-send
 * is answered with the row as it is.
 */
export interface TabCall {
  key: string;
  resent: boolean;
  /** When the tab stops waiting for the answer (ms since the epoch): it may be re-sent until then. */
  until?: number;
}
type KeptAnswer = { until: number; value: boolean | [collection: string, id: string] };

/** The tab call, if a tab named it (the engine's own API passes none, or an older caller's bare `{ resent }`). */
const namedCall = (call: TabCall | null | undefined): TabCall | null => (typeof call?.key === 'string' ? call : null);

/** The answer kept for the tab call `key`, if any. */
function keptAnswer(tx: Tx, key: string): Promise<KeptAnswer | undefined> {
  return tx.objectStore('meta').get(CALL_ANSWER_PREFIX + key) as Promise<KeptAnswer | undefined>;
}

/** Keeps `value` as the answer of the tab call `key` until `until`, in `tx` (see `TabCall`). */
function keepAnswer(tx: Tx, key: string, until: number, value: KeptAnswer['value']): void {
  tx.objectStore('meta')
    .put({ until, value } satisfies KeptAnswer, CALL_ANSWER_PREFIX + key)
    .catch(() => {});
}

function invalid(message: string): never {
  throw new SynclineError(SynclineErrorCode.InvalidOperation, message);
}

/** The record tabs see for a stored row (null for a local delete: it is hidden). */
export function recordOf(row: EntityRow): EntityRecord | null {
  if (row.deleted || row.data === null) return null;
  return {
    id: row.id,
    data: row.data,
    version: row.baseVersion,
    dirty: row.dirty,
    deleted: false,
    conflictId: row.conflictId ?? null,
    ...(row.lastError ? { lastError: row.lastError } : {}),
  };
}

/** The unpushed edit a stored row holds, if any (a local delete included). */
export function dirtyOf(row: EntityRow | null): DirtyEntity | null {
  if (!row?.dirty) return null;
  return {
    collection: row.collection,
    id: row.id,
    deleted: row.deleted,
    conflictId: row.conflictId ?? null,
    failed: !!row.failed,
    ...(row.lastError ? { lastError: row.lastError } : {}),
    since: row.dirtySince ?? row.updatedAt,
  };
}

export class BackgroundSync {
  private readonly collections = new Map<string, CollectionRow>();
  private pullTimers = new Map<string, unknown>();
  /** The last wait before pulling again a collection whose pushes wait for a full pull (see `retryUnpulled`). */
  private readonly unpulledWaits = new Map<string, number>();
  private pulling = new Map<string, Promise<void>>();
  /** Clears under way: pushes and pulls wait (an answer landing after a clear would bring its data back). */
  private clearing = 0;
  /** Pulls asked for while a clear ran: run once it is over (a collection without an interval has no next one). */
  private readonly pullsAfterClear = new Set<string>();
  private pullAgain = new Map<string, Promise<void>>();
  /** The push out for each entity (`<collection>\0<id>`), if any. */
  private readonly pushing = new Map<string, Promise<'pushed' | 'stopped'>>();
  /** What the push out for each entity carries: a pull that meets it is this device's own edit, not a conflict. */
  private readonly outgoing = new Map<string, { rev: number; data: Data | null }>();
  /**
   * The revision of each entity with an unpushed edit when this engine began: the engine before may have had its push
   * out when it stopped (a worker killed after the server's answer, before its record), so it is taken for one still
   * out when a newer edit is made (see `edited`).
   */
  private readonly outBefore = new Map<string, number>();
  /**
   * Each collection's full pull under way: the ids its pages listed and those of rows written meanwhile (what the
   * pull drops at its end is every other clean row). Not by time: a clock set back during the pull would take a row
   * pushed meanwhile for one the server no longer has.
   */
  private readonly fullPulls = new Map<string, Set<string>>();
  private pushOrder = 0;
  /**
   * Push outcomes a full disk kept from being stored, by entity (`<collection>\0<id>`). The server has answered, so
   * that entity's push waits rather than asking again, and the lane goes on with the others: one answer that cannot
   * be written must not hold up every push behind it while the server is there. Each write runs first in the next
   * write that commits (a pull's, an edit's, or `recordTimer`'s empty one), so what that write reads includes it.
   * Lost with the engine: the push is then sent again under its key and the server replays its answer, as after a
   * crash between an answer and its record.
   */
  private readonly unrecorded = new Map<string, Unrecorded>();
  private recordTimer: unknown = null;
  private recordDelay = RECORD_RETRY_MS;
  /** The write carrying the writes of `unrecorded`, while one is open (see `write`). */
  private carrier: Promise<void> | null = null;
  /** The highest `localRev` of any row removed: a row made afresh starts here, so its keys never repeat old ones. */
  private revFloor = 0;
  /** When kept answers of tab calls older than they are kept for were last removed. */
  private answersPrunedAt = 0;
  private visible = true;
  private closed = false;
  /** Dirty entities and open conflicts, by collection. */
  private readonly stats = new Map<
    string,
    { dirty: number; conflicts: number; failed: number; lastPullAt: number | null }
  >();

  constructor(private readonly host: BackgroundHost) {}

  /** Reads what is stored: collections, counts, the push order to continue from. */
  async load(): Promise<void> {
    const tx = this.host.db.transaction(['collections', 'entities', 'conflicts', 'meta']);
    const [collections, entities, conflicts, floor] = await Promise.all([
      tx.objectStore('collections').getAll(),
      tx.objectStore('entities').getAll(),
      tx.objectStore('conflicts').getAll(),
      tx.objectStore('meta').get(REV_FLOOR_KEY),
    ]);
    if (typeof floor === 'number') this.revFloor = floor;
    let lastPullAt: number | null = null;
    for (const c of collections) {
      this.collections.set(c.name, c);
      this.stat(c.name).lastPullAt = c.lastPullAt;
      if (c.lastPullAt !== null && (lastPullAt === null || c.lastPullAt > lastPullAt)) lastPullAt = c.lastPullAt;
    }
    // A pull stored by an earlier session is a sync too (pushes are not stored: the pull at start follows them).
    if (lastPullAt !== null) this.host.synced(lastPullAt);
    for (const row of entities) {
      if (row.dirty) this.stat(row.collection).dirty++;
      // Only a push with If-Match: a create is marked before it leaves (`sentCreate`).
      if (row.dirty && row.baseVersion !== null) this.outBefore.set(`${row.collection}\0${row.id}`, row.localRev);
      if (refusedEdit(row)) this.stat(row.collection).failed++;
      if (row.pushOrder !== undefined) this.pushOrder = Math.max(this.pushOrder, row.pushOrder);
    }
    for (const c of conflicts) this.stat(c.collection).conflicts++;
  }

  get names(): string[] {
    return [...this.collections.keys()];
  }

  get totals(): { dirty: number; conflicts: number; failed: number } {
    let dirty = 0;
    let conflicts = 0;
    let failed = 0;
    for (const s of this.stats.values()) {
      dirty += s.dirty;
      conflicts += s.conflicts;
      failed += s.failed;
    }
    return { dirty, conflicts, failed };
  }

  status(collection: string): CollectionStatus {
    const s = this.stat(collection);
    return { dirty: s.dirty, conflicts: s.conflicts, lastPullAt: s.lastPullAt };
  }

  /**
   * Registers (or updates) a collection; starts pulling it. Idempotent. On another URL, the old feed's copies and
   * versions mean nothing there (versions count per server): its clean entities and its conflicts go, and each
   * unpushed edit stays with no server copy. The new feed is pulled from the start, and the collection pushes only
   * once that pull is complete, so an edit meets the new URL's entity of its id as a conflict (the strategy's)
   * rather than going over it.
   */
  async register(input: unknown): Promise<CollectionConfig> {
    const config = this.checkConfig(input);
    const existing = this.collections.get(config.name);
    const moved = !!existing && existing.url !== config.url;
    const row: CollectionRow = {
      ...config,
      cursor: existing && !moved ? existing.cursor : '',
      lastPullAt: existing?.lastPullAt ?? null,
      ...(moved || existing?.unpulled ? { unpulled: true as const } : {}),
    };
    if (moved) {
      // Known at once, so a pull of the old feed still running applies nothing more (it checks the url).
      this.collections.set(config.name, row);
      try {
        await this.leaveFeed(row);
      } catch (error) {
        this.collections.set(config.name, existing);
        throw error;
      }
    } else if (!existing || existing.conflict !== row.conflict || existing.pullIntervalMs !== row.pullIntervalMs) {
      await this.host.db.put('collections', row).catch((e: unknown) => {
        throw this.host.storageFailure(e);
      });
    }
    this.collections.set(config.name, row);
    this.stat(config.name);
    if (!existing || moved) {
      void this.pull(config.name);
      this.host.pokePush(config.name);
    } else if (existing.pullIntervalMs !== row.pullIntervalMs) {
      this.schedulePull(config.name);
    }
    return config;
  }

  /**
   * The collection `row` (on another URL now) leaves its old feed, in one write with its new registration: clean
   * entities go, conflicts go, and each unpushed edit loses its server copy and version (and what was sent of it:
   * those pushes went to the old URL), and goes under a new revision.
   */
  private async leaveFeed(row: CollectionRow): Promise<void> {
    await this.write(async (tx, batch) => {
      const range = IDBKeyRange.bound([row.name, ''], [row.name, '\uffff']);
      for (const entity of await tx.objectStore('entities').getAll(range)) {
        if (!entity.dirty) {
          this.putRow(tx, batch, entity, null);
          continue;
        }
        if (entity.conflictId) await this.dropConflict(tx, batch, entity.conflictId, row.name);
        // A new revision, so a new key: the old URL's server may hold this one's (a push of it out, or refused), and
        // the new URL is often on the same server, which answers a key reused for another path with a 422.
        const next: EntityRow = {
          ...entity,
          serverData: null,
          baseVersion: null,
          attempts: 0,
          nextAttemptAt: 0,
          localRev: entity.localRev + 1,
        };
        for (const key of ['conflictId', 'sent', 'sentCreate', 'overtaken', 'failed', 'lastError'] as const)
          delete next[key];
        this.putRow(tx, batch, entity, next);
      }
      tx.objectStore('collections')
        .put(row)
        .catch(() => {});
    });
  }

  private checkConfig(input: unknown): CollectionConfig {
    if (typeof input !== 'object' || input === null) invalid('A collection needs { name, url }.');
    const { name, url, conflict = 'merge', pullIntervalMs = 30_000 } = input as Partial<CollectionConfig>;
    if (typeof name !== 'string' || !COLLECTION_NAME_PATTERN.test(name))
      invalid('A collection name is 1-64 letters, digits, _ . or -, starting with a letter or digit.');
    if (typeof url !== 'string') invalid('A collection needs a url.');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      invalid(`The collection url is not a URL: ${url}`);
    }
    if (!this.host.origins.includes(parsed.origin))
      invalid(`A collection may only live on ${this.host.origins.join(', ')}; ${parsed.origin} is not allowed.`);
    if (parsed.username || parsed.password)
      invalid('A collection url must not carry a user name or password: they would be stored as they are.');
    // Entity urls are the collection's with `/<id>` appended: after a query or a fragment that names no entity. An
    // empty one ("…/tasks?") counts too.
    if (/[?#]/.test(parsed.href)) invalid(`A collection url may not carry a query or a fragment: ${url}`);
    if (!(CONFLICT_STRATEGIES as readonly string[]).includes(conflict))
      invalid(`Unknown conflict strategy "${String(conflict)}".`);
    if (typeof pullIntervalMs !== 'number' || !(pullIntervalMs >= 0) || pullIntervalMs > MAX_TIMER_MS)
      invalid(`pullIntervalMs must be a number of milliseconds up to ${MAX_TIMER_MS} (0: no interval).`);
    return { name, url: parsed.href.replace(/\/+$/, ''), conflict, pullIntervalMs };
  }

  private config(collection: string): CollectionRow {
    const config = this.collections.get(collection);
    if (!config)
      throw new SynclineError(
        SynclineErrorCode.NotFound,
        `No collection "${collection}": register it with client.collection() first.`,
        { unregisteredCollection: collection },
      );
    return config;
  }

  private stat(collection: string) {
    let s = this.stats.get(collection);
    if (!s) this.stats.set(collection, (s = { dirty: 0, conflicts: 0, failed: 0, lastPullAt: null }));
    return s;
  }

  // ---- local edits ------------------------------------------------------------------------

  /**
   * Replaces an entity's data (creating it), at once, for every tab; pushed in the background. `call`: a tab's
   * call, applied once (see `TabCall`).
   */
  put(collection: string, id: unknown, data: unknown, call?: TabCall | null): Promise<EntityRecord> {
    return this.edit(
      collection,
      id,
      () => {
        if (typeof data !== 'object' || data === null || Array.isArray(data))
          invalid('Entity data must be a JSON object.');
        return checkedData(data, this.host.config.maxPayloadBytes);
      },
      call,
    );
  }

  /** Changes some fields of an entity (which must exist locally). `call`: as for `put`. */
  patch(collection: string, id: unknown, fields: unknown, call?: TabCall | null): Promise<EntityRecord> {
    return this.edit(
      collection,
      id,
      (row) => {
        if (!row || row.deleted || row.data === null)
          throw new SynclineError(SynclineErrorCode.NotFound, `No entity ${String(id)} in ${collection} to patch.`);
        if (typeof fields !== 'object' || fields === null || Array.isArray(fields))
          invalid('A patch is a JSON object of fields.');
        return checkedData({ ...row.data, ...(fields as Data) }, this.host.config.maxPayloadBytes);
      },
      call,
    );
  }

  /**
   * Deletes an entity, at once; the DELETE is pushed in the background. False when there was none. `call`: a tab's
   * call, answered once (see `TabCall`).
   */
  async delete(collection: string, id: unknown, call?: TabCall | null): Promise<boolean> {
    this.config(collection);
    const entityId = checkEntityId(id);
    const now = this.host.clock.now();
    const deleted = await this.writeOnce(
      call,
      async (tx, batch) => {
        const row = await tx.objectStore('entities').get([collection, entityId]);
        if (!row || row.deleted || row.data === null) return false;
        await this.applyEdit(tx, batch, row, [collection, entityId], null, now);
        return true;
      },
      (done) => done,
      async (_tx, earlier) => earlier === true,
    );
    if (deleted) this.host.pokePush(collection);
    return deleted;
  }

  /** Drops this device's unpushed edits of an entity: back to the last server copy. */
  async revert(collection: string, id: unknown, call?: TabCall | null): Promise<boolean> {
    this.config(collection);
    const entityId = checkEntityId(id);
    const now = this.host.clock.now();
    const reverted = await this.writeOnce(
      call,
      async (tx, batch) => {
        const row = await tx.objectStore('entities').get([collection, entityId]);
        if (!row || (!row.dirty && !row.conflictId)) return false;
        // Back to the server's copy: a conflict holds the newest one known (the row's base is older).
        const conflict = row.conflictId ? await tx.objectStore('conflicts').get(row.conflictId) : undefined;
        if (conflict) this.removeConflict(tx, batch, conflict.id, collection);
        if (conflict && conflict.theirsVersion !== null) {
          const { theirs, theirsVersion } = conflict;
          const taken =
            theirs === null && row.sentCreate
              ? this.deleteAfterCreate({ ...row, serverData: null, baseVersion: theirsVersion }, now)
              : this.serverCopy(row, theirs, theirsVersion);
          this.putRow(tx, batch, row, taken);
          return true;
        }
        const clean = this.cleanRow(row, row.serverData, row.baseVersion);
        if (clean.serverData !== null || clean.baseVersion !== null) this.putRow(tx, batch, row, clean);
        // A create whose push left may be on the server: going back to "none" there takes a DELETE.
        else if (row.sent) this.putRow(tx, batch, row, this.edited({ ...row, conflictId: undefined }, null, now));
        else this.putRow(tx, batch, row, null);
        return true;
      },
      (done) => done,
      async (_tx, earlier) => earlier === true,
    );
    if (reverted) this.host.pokePush(collection);
    return reverted;
  }

  private async edit(
    collection: string,
    id: unknown,
    change: (row: EntityRow | undefined) => Data | null,
    call: TabCall | null | undefined,
  ): Promise<EntityRecord> {
    this.config(collection);
    const entityId = checkEntityId(id);
    const now = this.host.clock.now();
    const named = namedCall(call);
    const record = await this.write(async (tx, batch) => {
      const row = await tx.objectStore('entities').get([collection, entityId]);
      // Done by the engine before: the row as it is now (later edits kept), or none if it went since.
      if (named?.resent && (await this.calledBefore(tx, row, named.key))) return row ? recordOf(row) : null;
      const data = change(row);
      const key = named && { key: named.key, until: this.keptUntil(named) };
      return this.applyEdit(tx, batch, row, [collection, entityId], data, now, key);
    });
    // Keys kept after their rows went expire like any kept answer.
    if (named) this.pruneAnswers();
    this.host.pokePush(collection);
    return record ?? { id: entityId, data: {}, version: null, dirty: false, deleted: true, conflictId: null };
  }

  /** Whether an edit under the tab call `key` was written: its key in the row, or kept after the row went. */
  private async calledBefore(tx: Tx, row: EntityRow | undefined, key: string): Promise<boolean> {
    return row?.calls?.[key] !== undefined || (await keptAnswer(tx, key)) !== undefined;
  }

  /** Until when a tab call's answer (or key) is kept: as long as its tab may send it again, and at least a minute. */
  private keptUntil(call: TabCall): number {
    return Math.max(this.host.clock.now() + CALL_ANSWERS_MS, call.until ?? 0);
  }

  /**
   * Writes a local edit (`data`, null for a delete) of the entity `row` holds, if any; null when it just goes.
   * `call`: the tab call's key the row keeps, and until when (see `EntityRow.calls`).
   */
  private async applyEdit(
    tx: Tx,
    batch: Write,
    row: EntityRow | undefined,
    [collection, id]: [string, string],
    data: Data | null,
    now: number,
    call?: { key: string; until: number } | null,
  ): Promise<EntityRecord | null> {
    const base = row ?? emptyRow(collection, id, now, this.revFloor);
    // Deleting what the server never had: nothing to push, it just goes. Not once a push of it has left (still
    // out, or its answer lost): the server may have it, and only a DELETE makes sure it does not come back.
    if (data === null && base.baseVersion === null && base.serverData === null && !base.sent) {
      if (base.conflictId !== undefined) await this.dropConflict(tx, batch, base.conflictId, collection);
      this.putRow(tx, batch, row ?? null, null);
      return null;
    }
    const next = this.edited(base, data, now);
    if (call) next.calls = withCall(base.calls, call, now);
    this.putRow(tx, batch, row ?? null, next);
    if (next.conflictId !== undefined) await this.mineMoved(tx, batch, next);
    return recordOf(next);
  }

  /**
   * An edit made while the entity's conflict is open: the conflict shows it as `mine`, at its revision, so the user
   * chooses on it, and a choice made before it (`Resolution.mineRev`) is refused rather than pushed over it.
   */
  private async mineMoved(tx: Tx, batch: Write, row: EntityRow): Promise<void> {
    const conflict = await tx.objectStore('conflicts').get(row.conflictId!);
    if (!conflict) return;
    const mine = row.deleted ? null : row.data;
    const { fields } = mergeOf(conflict.base, mine, conflict.theirs);
    const next: Conflict = { ...conflict, mine, mineRev: row.localRev, fields };
    tx.objectStore('conflicts')
      .put(next)
      .catch(() => {});
    batch.conflicts.push({ id: next.id, next });
  }

  /** `base` with a new local edit (`data`, null for a delete): a new revision, dirty, due at once. */
  private edited(base: EntityRow, data: Data | null, now: number): EntityRow {
    const next: EntityRow = {
      ...base,
      data,
      deleted: data === null,
      dirty: true,
      localRev: base.localRev + 1,
      pushOrder: base.dirty && base.pushOrder !== undefined ? base.pushOrder : ++this.pushOrder,
      dirtySince: base.dirty && base.dirtySince !== undefined ? base.dirtySince : now,
      ...dirtySeqOf(base.dirty ? base : null, this.host),
      // A new edit is worth a new try: the user changed what is sent.
      attempts: 0,
      strikes: 0,
      nextAttemptAt: 0,
      updatedAt: now,
    };
    delete next.failed;
    delete next.lastError;
    if (next.conflictId === undefined) delete next.conflictId;
    // Kept with this edit (no write of its own): the answer to the push out may never come.
    const key = `${base.collection}\0${base.id}`;
    const out = this.outgoing.get(key);
    if (out && out.rev === base.localRev) next.overtaken = { rev: out.rev, data: out.data };
    else if (base.dirty && !base.overtaken && this.outBefore.get(key) === base.localRev)
      next.overtaken = { rev: base.localRev, data: base.deleted ? null : base.data };
    this.outBefore.delete(key);
    return next;
  }

  // ---- reads ------------------------------------------------------------------------------

  /** Every visible entity of a collection (what `items$` starts from). */
  async list(collection: string): Promise<EntityRecord[]> {
    const rows = await this.host.db.getAll('entities', IDBKeyRange.bound([collection, ''], [collection, '\uffff']));
    return rows.map(recordOf).filter((r): r is EntityRecord => r !== null);
  }

  /** Every entity with an unpushed edit, over all collections, oldest edit first (read through the push index). */
  async dirty(): Promise<DirtyEntity[]> {
    const rows = await this.host.db.getAllFromIndex('entities', 'pushOrder');
    return rows
      .map(dirtyOf)
      .filter((d): d is DirtyEntity => d !== null)
      .sort((a, b) => a.since - b.since);
  }

  async conflicts(collection?: string): Promise<Conflict[]> {
    const all = await this.host.db.getAll('conflicts');
    return collection === undefined ? all : all.filter((c) => c.collection === collection);
  }

  /**
   * Whether the entity has an unpushed edit made before operation `op` was queued: `op` must wait for that push.
   * By queue position (`dirtySeq`); by time only for a row stored before positions were kept.
   */
  async editedBefore(collection: string, id: string, op: { seq: number; createdAt: number }): Promise<boolean> {
    if (!this.collections.has(collection)) return false;
    const row = await this.host.db.get('entities', [collection, id]);
    if (!row?.dirty || row.conflictId || row.failed) return false;
    // Taken by the server (or refused for good), only its record waiting for space: nothing left to push first.
    const held = this.unrecorded.get(`${collection}\0${id}`);
    if (held?.settled?.rev === row.localRev) return false;
    return row.dirtySeq !== undefined ? row.dirtySeq < op.seq : (row.dirtySince ?? row.updatedAt) <= op.createdAt;
  }

  // ---- conflicts --------------------------------------------------------------------------

  /** Settles a conflict: the chosen data is pushed against the server's current version. */
  async resolve(conflictId: unknown, resolution: unknown, call?: TabCall | null): Promise<EntityRecord | null> {
    if (typeof conflictId !== 'string' || !conflictId) invalid('A conflict id must be a non-empty string.');
    if (typeof resolution !== 'object' || resolution === null)
      invalid('A resolution is { choose: "mine" | "theirs" } or { data }.');
    const r = resolution as Resolution;
    if ('choose' in r && r.choose !== 'mine' && r.choose !== 'theirs') invalid('choose must be "mine" or "theirs".');
    if (!('choose' in r) && !('data' in r)) invalid('A resolution is { choose: "mine" | "theirs" } or { data }.');
    if ('data' in r && r.data !== null && (typeof r.data !== 'object' || Array.isArray(r.data)))
      invalid("A resolution's data is a JSON object, or null to delete.");
    const { theirsVersion, mineRev } = r;
    if (theirsVersion !== undefined && theirsVersion !== null && !Number.isSafeInteger(theirsVersion))
      invalid("A resolution's theirsVersion is the conflict's theirsVersion: a whole number, or null.");
    if (mineRev !== undefined && !Number.isSafeInteger(mineRev))
      invalid("A resolution's mineRev is the conflict's mineRev: a whole number.");
    const dataIn =
      'data' in r ? (r.data === null ? null : checkedData(r.data, this.host.config.maxPayloadBytes)) : undefined;
    // The entity resolved, once read (its key is the answer kept for a re-send).
    let entity: [string, string] | null = null;
    const now = this.host.clock.now();
    const result = await this.writeOnce(
      call,
      async (tx, batch) => {
        const conflict = await tx.objectStore('conflicts').get(conflictId);
        if (!conflict)
          throw new SynclineError(SynclineErrorCode.NotFound, `No conflict ${conflictId} (already resolved?).`);
        if (theirsVersion !== undefined && theirsVersion !== conflict.theirsVersion)
          throw new SynclineError(
            SynclineErrorCode.ConflictChanged,
            `The server's copy changed since this choice was made (version ${String(theirsVersion)}, now ` +
              `${String(conflict.theirsVersion)}): choose again.`,
            { theirsVersion: conflict.theirsVersion },
          );
        if (mineRev !== undefined && conflict.mineRev !== undefined && mineRev !== conflict.mineRev)
          throw new SynclineError(
            SynclineErrorCode.ConflictChanged,
            `This device's copy changed since this choice was made (revision ${mineRev}, now ${conflict.mineRev}): ` +
              'choose again.',
            { theirsVersion: conflict.theirsVersion, mineRev: conflict.mineRev },
          );
        entity = [conflict.collection, conflict.entityId];
        const row = await tx.objectStore('entities').get([conflict.collection, conflict.entityId]);
        await this.dropConflict(tx, batch, conflictId, conflict.collection);
        const chosen =
          dataIn !== undefined
            ? dataIn
            : 'choose' in r && r.choose === 'theirs'
              ? conflict.theirs
              : row?.deleted
                ? null
                : (row?.data ?? conflict.mine);
        const base: EntityRow = row ?? emptyRow(conflict.collection, conflict.entityId, now, this.revFloor);
        // Against the server's current version: the push that follows does not meet the same 412 again.
        const rebased: EntityRow = {
          ...base,
          serverData: conflict.theirs,
          baseVersion: conflict.theirsVersion,
          updatedAt: now,
        };
        delete rebased.conflictId;
        if (sameValue(chosen, conflict.theirs)) {
          if (conflict.theirs === null && row?.sentCreate) {
            this.putRow(tx, batch, row, this.deleteAfterCreate(rebased, now));
            return null;
          }
          const clean = this.cleanRow(rebased, conflict.theirs, conflict.theirsVersion);
          this.putRow(tx, batch, row ?? null, conflict.theirs === null ? null : clean);
          return conflict.theirs === null ? null : recordOf(clean);
        }
        const next: EntityRow = {
          ...rebased,
          data: chosen,
          deleted: chosen === null,
          dirty: true,
          localRev: base.localRev + 1,
          pushOrder: base.pushOrder ?? ++this.pushOrder,
          dirtySince: base.dirtySince ?? now,
          ...dirtySeqOf(base.dirtySince !== undefined ? base : null, this.host),
          attempts: 0,
          strikes: 0,
          nextAttemptAt: 0,
        };
        this.putRow(tx, batch, row ?? null, next);
        return recordOf(next);
      },
      () => entity!,
      async (tx, earlier) => {
        // Resolved by this call on the engine before: the entity as it is now is what that resolve made it.
        const row = Array.isArray(earlier) ? await tx.objectStore('entities').get(earlier) : undefined;
        return row ? recordOf(row) : null;
      },
    );
    // Not for an answer kept from before: that resolve's push was poked then.
    if (entity) this.host.pokePush(entity[0]);
    return result;
  }

  // ---- push -------------------------------------------------------------------------------

  /**
   * Pushes a collection's dirty entities, oldest edit first, one at a time: PUT or DELETE with If-Match on the
   * version the edit started from and a key per edit (`<collection>/<id>@<device>.<rev>`), so a push repeated after a
   * crash is replayed, not applied twice. Returns when to look again.
   */
  async pushCollection(collection: string): Promise<number> {
    let wakeAt = Infinity;
    for (;;) {
      // Moved to another URL: not before its new feed is known (the pull's end pokes this lane).
      if (!this.host.canSend() || this.closed) return Infinity;
      const config = this.collections.get(collection);
      if (!config || config.unpulled) return Infinity;
      const now = this.host.clock.now();
      let next: EntityRow | undefined;
      // Page by page: conflicted and failed rows keep their place in the index, and any number of them must not
      // hide an edit behind them.
      for (let after: number | null = null; !next;) {
        const candidates: EntityRow[] = await this.host.db.getAllFromIndex(
          'entities',
          'pushOrder',
          IDBKeyRange.bound([collection, after ?? -Infinity], [collection, Infinity], after !== null),
          PUSH_PAGE,
        );
        for (const row of candidates) {
          if (row.conflictId || row.failed) continue;
          const held = this.heldUntil(row);
          if (held > now) {
            if (held !== Infinity) wakeAt = Math.min(wakeAt, held);
            continue;
          }
          if (waits(row, now)) {
            wakeAt = Math.min(wakeAt, row.nextAttemptAt);
            continue;
          }
          next = row;
          break;
        }
        if (candidates.length < PUSH_PAGE) break;
        after = candidates[candidates.length - 1]!.pushOrder!;
      }
      if (!next) return wakeAt;
      const pushed = await this.push(config, next);
      if (pushed === 'stopped') return Infinity;
    }
  }

  /**
   * Pushes one entity now, if its push is due (a queued operation on it waits for this). Resolves with when its next
   * push is due if that is later (a backoff, a Retry-After: the operation waits for it too), else 0.
   */
  async pushEntityNow(collection: string, id: string): Promise<number> {
    const config = this.collections.get(collection);
    // A push of this entity already out is waited for, then what is still dirty goes (read again: it may be clean now).
    for (let tries = 0; config && tries < 3; tries++) {
      const row = await this.host.db.get('entities', [collection, id]);
      if (!row?.dirty || row.conflictId || row.failed) return 0;
      // The server answered a push a full disk kept from being stored: done (or refused for good) unless it asked
      // for a retry.
      const held = this.heldUntil(row);
      if (held > this.host.clock.now()) return held === Infinity ? 0 : held;
      if (waits(row, this.host.clock.now())) return row.nextAttemptAt;
      // Moved to another URL, its new feed not pulled yet: asked again in a second.
      if (this.collections.get(collection)?.unpulled) return this.host.clock.now() + 1_000;
      if ((await this.push(config, row)) === 'waited') continue;
      const after = await this.host.db.get('entities', [collection, id]);
      return after?.dirty && waits(after, this.host.clock.now()) ? after.nextAttemptAt : 0;
    }
    return 0;
  }

  /**
   * One push at a time per entity, whoever asks (the collection's lane, or a queued operation waiting on the entity):
   * two pushes of one entity out at once could land in either order. 'waited': another push was out; read the row again.
   */
  private push(config: CollectionRow, row: EntityRow): Promise<'pushed' | 'stopped' | 'waited'> {
    // A clear is waiting for the requests out to end: nothing new leaves (the lanes are poked after it).
    if (this.clearing > 0) return Promise.resolve('stopped');
    // Registered again meanwhile (`config` and `row` were read before): a move holds the edit for the new feed, and
    // the caller reads both again.
    if (this.movedFrom(config) || this.collections.get(config.name)!.unpulled) return Promise.resolve('pushed');
    const key = `${row.collection}\0${row.id}`;
    const running = this.pushing.get(key);
    if (running) return running.then(() => 'waited' as const);
    const run = this.pushOnce(config, row).finally(() => {
      this.pushing.delete(key);
      this.outgoing.delete(key);
    });
    this.pushing.set(key, run);
    return run;
  }

  private async pushOnce(config: CollectionRow, row: EntityRow): Promise<'pushed' | 'stopped'> {
    const refused = this.offOrigins(config);
    if (refused) {
      // Stored under an earlier configuration that allowed its origin: never sent now. It waits for the user, like
      // a refused push (a revert, or the collection registered again on an allowed URL and the entity edited).
      await this.recordFailure(row, row.localRev, { type: 'failed', error: { kind: 'blocked', message: refused } });
      return 'pushed';
    }
    // A create whose answer was never read may still land: what goes next, a delete above all, must come after it,
    // or the create would undo it (a DELETE would find nothing yet, and the entity would come back).
    if (row.sentCreate && row.sentCreate.rev !== row.localRev) {
      const settled = await this.settleCreate(config, row, row.sentCreate);
      if (settled !== 'settled') return settled;
      // Read again: the create's answer moved the base, and the row may have changed meanwhile.
      const next = await this.host.db.get('entities', [row.collection, row.id]);
      const now = this.host.clock.now();
      if (!next?.dirty || next.conflictId || next.failed || waits(next, now) || this.heldUntil(next) > now)
        return 'pushed';
      return this.pushOnce(config, next);
    }
    const rev = row.localRev;
    const url = entityUrl(config, row.id);
    const method = row.deleted ? 'DELETE' : 'PUT';
    // Out from now on, credentials included: an edit made while a tab is asked for them overtakes what goes.
    this.outgoing.set(`${row.collection}\0${row.id}`, { rev, data: row.deleted ? null : row.data });
    const auth = await this.credentials(row, method, url);
    if (auth === 'pushed' || auth === 'stopped') return auth;
    const body =
      method === 'DELETE' ? null : row.sentCreate?.rev === rev ? row.sentCreate.body : JSON.stringify(row.data);
    // A create is marked before it leaves, with what it carries: from now on the server may have it, whatever
    // becomes of the answer. (A storage failure here throws: the lane is tried again shortly, and nothing has left;
    // on a full disk this entity waits a while, and the lane goes on with the others.)
    if (body !== null && row.baseVersion === null && row.sentCreate?.rev !== rev) {
      const marked = await this.markSent(row, body).catch((error: unknown) => this.unmarked(row, error));
      if (!marked) return 'pushed';
      this.endWait(`${row.collection}\0${row.id}`);
    }
    const result = await this.send(url, {
      method,
      headers: this.pushHeaders(auth, config, row.id, rev, row.baseVersion, body !== null),
      body,
    });
    if (!result) return 'stopped';
    if (this.movedFrom(config)) return 'pushed';
    const outcome = result.outcome;
    if (outcome.type === 'done') {
      const body = result.result?.body as { data?: unknown; deleted?: unknown } | undefined;
      const version = answerVersion(result);
      // Without a version the next push would go without If-Match and could overwrite anything: not taken as
      // accepted. The feed tells the version (a pull that finds this data there makes the row clean).
      if (version === null && method === 'PUT')
        return this.unreadable(config, row, rev, outcome.status, 'names no version (no "version", no ETag)');
      const data =
        method === 'DELETE' || body?.deleted === true ? null : isRecord(body?.data) ? (body!.data as Data) : row.data;
      await this.accepted(row, rev, data, version);
      this.synced(this.host.clock.now());
      return 'pushed';
    }
    if (outcome.type === 'failed' && method === 'DELETE' && outcome.error.status === 404) {
      // Already gone on the server: the delete is done. (No create of this device's can land after it: one whose
      // answer was never read is settled before anything else of the entity goes.)
      await this.accepted(row, rev, null, null);
      this.synced(this.host.clock.now());
      return 'pushed';
    }
    if (outcome.type === 'conflict' && outcome.error.status === 412) {
      const theirs = currentOf(outcome.error.body, versionOf(result.etag));
      // An answer whose "current" cannot be read is not "nothing there": that would drop If-Match, or take a
      // local delete as done. Tried again later; the feed brings the server's copy meanwhile.
      if (!theirs) return this.unreadable(config, row, rev, 412, 'carries no readable "current" entity');
      // A create refused by If-None-Match: another device made the entity (or this device did, under a key the
      // server has forgotten): the create made nothing, and the edit meets that entity.
      if (method === 'PUT' && row.baseVersion === null) await this.unmade(row, rev, theirs);
      else await this.settleConflict(row.collection, row.id, theirs, row);
      return 'pushed';
    }
    if (outcome.type === 'auth') {
      await this.recordFailure(row, rev, { ...outcome, type: 'auth' });
      this.host.pauseForAuth();
      return 'stopped';
    }
    await this.recordFailure(row, rev, outcome, true);
    return 'pushed';
  }

  /**
   * Learns the fate of a create whose answer was never read: sent again under its own key and with its own body,
   * guarded by an If-Match no entity has. The server replays its answer if it landed (its version: the key's
   * fingerprint leaves headers out), answers 409 while still processing it (waited for, as its Retry-After says),
   * and, had it never arrived, refuses it with a 412 it keeps under the key, so a copy still on its way can never
   * land after what follows. Making it now instead could bring back what the user has since given up (a conflict
   * resolved to the server's copy) over a newer write of someone else's. 'settled' once its fate is stored; any
   * other answer is a failure of the row's push, tried again later, with nothing sent after.
   */
  private async settleCreate(
    config: CollectionRow,
    row: EntityRow,
    create: { rev: number; body: string },
  ): Promise<'settled' | 'pushed' | 'stopped'> {
    const url = entityUrl(config, row.id);
    const auth = await this.credentials(row, 'PUT', url);
    if (auth === 'pushed' || auth === 'stopped') return auth;
    const data = JSON.parse(create.body) as Data;
    this.outgoing.set(`${row.collection}\0${row.id}`, { rev: create.rev, data });
    const result = await this.send(url, {
      method: 'PUT',
      headers: this.pushHeaders(auth, config, row.id, create.rev, null, true, true),
      body: create.body,
    });
    if (!result) return 'stopped';
    if (this.movedFrom(config)) return 'pushed';
    const outcome = result.outcome;
    if (outcome.type === 'done') {
      const answer = result.result?.body as { data?: unknown } | undefined;
      const version = answerVersion(result);
      if (version === null)
        return this.unreadable(config, row, row.localRev, outcome.status, 'names no version (no "version", no ETag)');
      // Not stored (a full disk): the entity waits for the record; the lane goes on with the others.
      const stored = await this.accepted(
        row,
        create.rev,
        isRecord(answer?.data) ? (answer!.data as Data) : data,
        version,
      );
      return stored ? 'settled' : 'pushed';
    }
    if (outcome.type === 'failed' || outcome.type === 'conflict') {
      // Refused for good, the fence's 412 above all (an answer the server keeps and replays): the create made
      // nothing, and never will. A 412 names what the server holds there instead (someone else's entity, or none).
      const theirs = outcome.error.status === 412 ? currentOf(outcome.error.body, versionOf(result.etag)) : null;
      return (await this.unmade(row, create.rev, theirs)) ? 'settled' : 'pushed';
    }
    if (outcome.type === 'auth') {
      await this.recordFailure(row, row.localRev, { ...outcome, type: 'auth' });
      this.host.pauseForAuth();
      return 'stopped';
    }
    await this.recordFailure(row, row.localRev, outcome);
    return 'pushed';
  }

  /**
   * Whether the collection was registered again on another URL while a request to `config`'s was out: its answer is
   * the old server's and says nothing of the new one, where the edit is still to go (`leaveFeed` has it wait for
   * the new feed), so it is not recorded.
   */
  private movedFrom(config: CollectionRow): boolean {
    return this.collections.get(config.name)?.url !== config.url;
  }

  /** Credentials for one request of `row`'s push; without them, what became of the push ('stopped': sign-in). */
  private async credentials(
    row: EntityRow,
    method: string,
    url: string,
  ): Promise<Record<string, string> | null | 'pushed' | 'stopped'> {
    try {
      const answer = await this.host.authorize({ method, url });
      if (answer !== false) return answer;
      this.host.pauseForAuth();
      return 'stopped';
    } catch (error) {
      await this.recordFailure(row, row.localRev, {
        type: 'retry',
        strike: false,
        retryAfterMs: 1000,
        error: { kind: 'auth', message: `No credentials yet: ${(error as Error)?.message ?? error}` },
      });
      return 'pushed';
    }
  }

  /**
   * The headers of the push of edit `rev`: its key, and `If-Match` on the server version it started from; with
   * none (a create), `If-None-Match: *`, so an entity another device made under that id meanwhile is a 412, not
   * replaced. `fence`: the create's own re-send (see `settleCreate`), which carries its own condition.
   */
  private pushHeaders(
    auth: Record<string, string> | null,
    config: CollectionRow,
    id: string,
    rev: number,
    baseVersion: number | null,
    json: boolean,
    fence = false,
  ): Record<string, string> {
    const condition: Record<string, string> =
      baseVersion !== null
        ? { 'If-Match': `"${baseVersion}"` }
        : fence
          ? { 'If-Match': FENCE_TAG }
          : json
            ? { 'If-None-Match': '*' }
            : {};
    return {
      ...(auth ?? {}),
      Accept: 'application/json',
      'Idempotency-Key': `"${config.name}/${id}@${this.host.deviceId}.${rev}"`,
      ...condition,
      ...(json ? { 'Content-Type': 'application/json' } : {}),
    };
  }

  /** One request (a push, a pull's page), judged for connectivity; null when the engine closed while it was out. */
  private async send(url: string, init: RequestInit): Promise<Attempt | null> {
    const result = await attempt(url, init, {
      fetch: this.host.fetch,
      clock: this.host.clock,
      credentials: this.host.config.credentials,
      requestTimeoutMs: this.host.config.requestTimeoutMs,
      maxBodyBytes: MAX_ANSWER_BYTES,
      watch: this.host.requests,
    });
    if (this.closed) return null;
    return this.host.judge(result);
  }

  /**
   * Stores that the create `rev` of a row made nothing (see `settleCreate`): a row with no server version is then as
   * if never sent. A local delete (or revert) of it just goes: a DELETE, with no version to name, would remove
   * whatever else the server holds under that id. `theirs`, when known, is what it holds: the deleted row takes it as
   * any clean row would, and an edit meets it as a conflict (the strategy's) rather than overwriting it.
   */
  private async unmade(
    pushed: EntityRow,
    rev: number,
    theirs: { data: Data | null; version: number | null } | null,
  ): Promise<boolean> {
    let meets: { data: Data | null; version: number } | null = null;
    // Unstored, the row stays an unsent create: pushed again once stored, its 412 brings this back.
    const stored = await this.record(pushed, {}, async (tx, batch) => {
      meets = null;
      const stored = await tx.objectStore('entities').get([pushed.collection, pushed.id]);
      if (!stored) return;
      const row = answered(stored, rev);
      // On a server version learned meanwhile (a pull, a resolved conflict), or held by a conflict: it goes on as is.
      if (row.baseVersion !== null || row.conflictId || !row.dirty) {
        if (row !== stored)
          tx.objectStore('entities')
            .put(row)
            .catch(() => {});
        return;
      }
      const unsent: EntityRow = { ...row };
      delete unsent.sent;
      const known = theirs && theirs.version !== null ? { data: theirs.data, version: theirs.version } : null;
      if (row.deleted) {
        this.putRow(tx, batch, stored, known && this.serverCopy(unsent, known.data, known.version));
        return;
      }
      tx.objectStore('entities')
        .put(unsent)
        .catch(() => {});
      meets = known;
    });
    // As a 412 to the create (its key): the edit's own push has not left, and goes under its own revision.
    if (stored && meets) await this.settleConflict(pushed.collection, pushed.id, meets, { ...pushed, localRev: rev });
    return stored;
  }

  /**
   * Notes (no change for tabs to see) that a push of a row without a server version is leaving, with its body (see
   * `sentCreate`). False when the row is gone or edited since it was read: nothing goes, and the lane reads it
   * again. One transaction with the check, so a local delete either sees the mark (and pushes a DELETE) or comes
   * first (and nothing is sent).
   */
  private async markSent(row: EntityRow, body: string): Promise<boolean> {
    return this.write(async (tx) => {
      const stored = await tx.objectStore('entities').get([row.collection, row.id]);
      if (!stored || stored.localRev !== row.localRev) return false;
      tx.objectStore('entities')
        .put({ ...stored, sent: true, sentCreate: { rev: row.localRev, body } })
        .catch(() => {});
      return true;
    });
  }

  /** A create's mark a full disk refused: its push waits a second, then longer while it is refused again. */
  private unmarked(row: EntityRow, error: unknown): false {
    if (this.closed || (error as SynclineError)?.code !== SynclineErrorCode.QuotaExceeded) throw error;
    const entry = this.unrecordedOf(row);
    const now = this.host.clock.now();
    entry.marks++;
    entry.since = now;
    entry.until = now + Math.min(RECORD_RETRY_MS * 2 ** (entry.marks - 1), RECORD_RETRY_CAP_MS);
    return false;
  }

  /** A push answer that cannot be read: a failure to retry (with backoff), and a pull to learn the server's copy. */
  private async unreadable(
    config: CollectionRow,
    row: EntityRow,
    rev: number,
    status: number,
    what: string,
  ): Promise<'pushed'> {
    await this.recordFailure(row, rev, {
      type: 'retry',
      strike: true,
      error: { kind: 'http', status, message: `HTTP ${status}: the answer ${what}; the push is tried again.` },
    });
    void this.pull(config.name);
    return 'pushed';
  }

  /** The server accepted edit `rev`: its answer becomes the base; a newer local edit stays dirty and goes next. */
  private async accepted(pushed: EntityRow, rev: number, data: Data | null, version: number | null): Promise<boolean> {
    // Settled only if the push carried the row's latest edit (a create settled before a newer edit did not).
    const settled = rev === pushed.localRev ? { rev, taken: true } : undefined;
    return this.record(pushed, { settled }, async (tx, batch) => {
      const stored = await tx.objectStore('entities').get([pushed.collection, pushed.id]);
      if (!stored) return;
      let row = answered(stored, rev);
      // A pull already brought a newer server version (made after this write): a late answer must not take it back.
      if (version !== null && row.baseVersion !== null && version < row.baseVersion) {
        if (row !== stored)
          tx.objectStore('entities')
            .put(row)
            .catch(() => {});
        return;
      }
      if (row.conflictId && version !== null) {
        // A pull met this push's own result before its answer came and took it for someone else's change: a
        // conflict whose "theirs" is no newer than what the server just accepted from here is settled by it.
        const conflict = await tx.objectStore('conflicts').get(row.conflictId);
        if (!conflict || conflict.theirsVersion === null || conflict.theirsVersion <= version) {
          if (conflict) await this.dropConflict(tx, batch, conflict.id, conflict.collection);
          const settled: EntityRow = { ...row };
          delete settled.conflictId;
          row = settled;
        } else if (row.localRev === rev) {
          // "Theirs" was written after this edit landed, and nothing newer is left here: no conflict, just the
          // server's newer copy. (Cleaning the row on this answer would show an older copy and orphan the conflict.)
          await this.dropConflict(tx, batch, conflict.id, conflict.collection);
          this.putRow(tx, batch, row, this.serverCopy(row, conflict.theirs, conflict.theirsVersion));
          return;
        }
      }
      if (row.localRev === rev) {
        this.putRow(tx, batch, row, data === null ? this.goneRow(row, version) : this.cleanRow(row, data, version));
        return;
      }
      // Edited again while the push was out: the next push starts from what the server now has.
      this.putRow(tx, batch, row, {
        ...row,
        serverData: data,
        baseVersion: version,
        attempts: 0,
        strikes: 0,
        nextAttemptAt: 0,
      });
    });
  }

  /**
   * Records a failed push of edit `rev`. `carried`: the request carried that edit (not a create settled before it),
   * so an outcome it never learned leaves the edit possibly on the server.
   */
  private async recordFailure(pushed: EntityRow, rev: number, outcome: Outcome, carried = false): Promise<void> {
    const now = this.host.clock.now();
    const policy = { ...this.host.config, random: this.host.random };
    const body: WriteBody = async (tx, batch) => {
      const row = await tx.objectStore('entities').get([pushed.collection, pushed.id]);
      // Edited again (a new try is due), or made clean meanwhile (a pull found the edit on the server).
      if (!row || row.localRev !== rev || !row.dirty) return;
      const error: OperationError = 'error' in outcome ? outcome.error : { kind: 'http', message: 'Not accepted.' };
      const next: EntityRow = { ...row, attempts: row.attempts + 1, lastError: error, updatedAt: now };
      // No answer (lost, timed out), or its key still being processed: the edit may be on the server all the same.
      // Kept as an overtaken push is, so a newer edit's 412 (or a pull) showing exactly it is this device's own write,
      // not someone else's. An older such push stays: its key is never sent again, while this one's is (its answer
      // tells), and a create's is kept already (`sentCreate`).
      const unknown = outcome.type === 'retry' && (outcome.uncertain || outcome.error.status === 409);
      if (carried && unknown && !row.overtaken && row.sentCreate?.rev !== rev)
        next.overtaken = { rev, data: row.deleted ? null : row.data };
      if (outcome.type === 'retry' || outcome.type === 'auth') {
        const strikes = row.strikes + (outcome.type === 'retry' && outcome.strike ? 1 : 0);
        const delay = retryDelay(outcome.type === 'retry' ? outcome : { strike: false }, strikes, policy);
        next.strikes = strikes;
        // Background Sync keeps trying (capped backoff): the user's edit is not dropped for a flaky server.
        next.nextAttemptAt = outcome.type === 'auth' ? 0 : now + delay;
      } else {
        // Refused for good (a 4xx): it waits for the user (revert, or edit again).
        next.failed = true;
      }
      this.putRow(tx, batch, row, next);
    };
    // Unstored, a failure to retry holds the push for its backoff (its strikes counted in memory meanwhile), a
    // refusal until stored; a sign-in does not hold it (the lane waits for that anyway). A retry that may have
    // landed is kept apart from one that did not: only it notes the edit as possibly on the server.
    if (outcome.type === 'retry')
      await this.record(
        pushed,
        { repeat: `retry ${rev} ${outcome.uncertain || outcome.error.status === 409}` },
        body,
        (entry) => {
          if (outcome.strike) entry.strikes++;
          return now + retryDelay(outcome, pushed.strikes + entry.strikes, policy);
        },
      );
    else if (outcome.type === 'auth') await this.record(pushed, { repeat: `auth ${rev}` }, body, () => 0);
    else await this.record(pushed, { settled: { rev, taken: false } }, body);
  }

  /** Refuses a clear while edits are unpushed (asked before the queue's part removes anything). */
  refuseClearWhileUnpushed(): void {
    // Less those the server took whose record waits for space (the clear's own transaction checks each row).
    const taken = [...this.unrecorded.values()].filter((entry) => entry.settled?.taken).length;
    const dirty = this.totals.dirty - taken;
    if (dirty > 0) throw unpushedEdits(dirty);
  }

  /**
   * The replica's part of a clear (a logout): every clean entity, every edit made up to `before` (null: before the
   * call) and the conflicts they hold go, and each collection pulls from the start next time; an edit made after
   * `before` (a new user's, when the call was re-sent) stays. Refuses while such edits are unpushed unless `discardUnsent`. Pushes and pulls
   * out are waited for first and none starts meanwhile: an answer landing after the clear would bring data back.
   * Returns how many entities went.
   */
  async clear(before: number | null, discardUnsent: boolean): Promise<number> {
    // Null: every edit made before the call, by push order (a clock set back must not keep the last user's edits).
    const upTo = this.pushOrder;
    this.clearing++;
    try {
      while (this.pushing.size > 0 || this.pulling.size > 0)
        await Promise.allSettled([...this.pushing.values(), ...this.pulling.values()]);
      const goes = (row: EntityRow) =>
        !row.dirty || (before === null ? (row.pushOrder ?? 0) <= upTo : (row.dirtySince ?? row.updatedAt) <= before);
      // What was kept for a full disk is taken out for the clear (a write carrying it after the clear would bring
      // back the last user's data, or report a rollback of it): what the clear does not remove is put back.
      while (this.carrier) await this.carrier;
      const kept = new Map(this.unrecorded);
      this.unrecorded.clear();
      // An edit whose push the server took, only its record waiting for space, has reached the server.
      const reached = (row: EntityRow) => {
        const settled = kept.get(`${row.collection}\0${row.id}`)?.settled;
        return !!settled?.taken && settled.rev === row.localRev;
      };
      const removedKeys = new Set<string>();
      const putBack = () => {
        for (const [key, entry] of kept) {
          if (removedKeys.has(key)) continue;
          const since = this.unrecorded.get(key);
          if (since) since.writes.unshift(...entry.writes);
          else this.unrecorded.set(key, entry);
        }
      };
      const count = await this.write(async (tx, batch) => {
        const [rows, conflicts] = await Promise.all([
          tx.objectStore('entities').getAll(),
          tx.objectStore('conflicts').getAll(),
        ]);
        const removed = rows.filter(goes);
        const unsent = removed.filter((row) => row.dirty && !reached(row)).length;
        if (unsent > 0 && !discardUnsent) throw unpushedEdits(unsent);
        for (const row of removed) removedKeys.add(`${row.collection}\0${row.id}`);
        for (const row of removed) this.putRow(tx, batch, row, null);
        const held = new Set(removed.filter((row) => row.conflictId).map((row) => row.conflictId));
        for (const conflict of conflicts)
          if (held.has(conflict.id)) this.removeConflict(tx, batch, conflict.id, conflict.collection);
        for (const config of this.collections.values())
          tx.objectStore('collections')
            .put({ ...config, cursor: '', lastPullAt: null })
            .catch(() => {});
        // They name the entities of the data cleared (a logout), and answer for conflicts no longer there.
        tx.objectStore('meta')
          .delete(callAnswers())
          .catch(() => {});
        return removed.length;
        // Not carrying what a full disk refused: a logout must not need more space than it frees.
      }, false).catch((error: unknown) => {
        removedKeys.clear();
        putBack();
        throw error;
      });
      // What was kept for the entities removed is of the data cleared (a rollback of the last user's edit): it goes.
      // The rest waits for space again: the status, told of the clear's write while it was out, is told again.
      putBack();
      this.host.storageWritten();
      // Once committed: each collection pulls from the start next time.
      for (const config of this.collections.values()) {
        this.collections.set(config.name, { ...config, cursor: '', lastPullAt: null });
        this.stat(config.name).lastPullAt = null;
      }
      return count;
    } finally {
      this.clearing--;
      this.host.countsChanged();
      // An edit made while the clear waited was not pushed: its lane looks again; a pull asked for meanwhile runs.
      for (const name of this.collections.keys()) this.host.pokePush(name);
      if (this.clearing === 0) {
        const asked = [...this.pullsAfterClear];
        this.pullsAfterClear.clear();
        for (const name of asked) void this.pull(name);
      }
    }
  }

  // ---- pull -------------------------------------------------------------------------------

  /**
   * Pulls a collection's changes since its cursor, page by page; one pull at a time per collection. Asked while one
   * runs, another runs after it (changes made meanwhile are not missed); the promise settles when that one is done.
   */
  pull(collection: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    // Not while a clear runs: it runs once the clear is over.
    if (this.clearing > 0) {
      this.pullsAfterClear.add(collection);
      return Promise.resolve();
    }
    const running = this.pulling.get(collection);
    if (running) {
      const again = this.pullAgain.get(collection) ?? running.then(() => this.pull(collection));
      this.pullAgain.set(collection, again);
      return again;
    }
    const run = this.pullPages(collection)
      .catch((error) => {
        this.host.reportError(`Pull of ${collection} failed: ${(error as Error)?.message ?? error}`);
      })
      .finally(() => {
        this.pulling.delete(collection);
        this.pullAgain.delete(collection);
        this.fullPulls.delete(collection);
        this.schedulePull(collection);
        this.retryUnpulled(collection);
      });
    this.pulling.set(collection, run);
    return run;
  }

  /**
   * A collection whose pushes wait for a full pull of its feed (registered again on another URL) is pulled again
   * until one completes (1 s, doubling to 30 s), whatever its pull interval and whether a tab is visible: a pull that
   * failed, or found the engine paused, must not leave its edits held while the server is reachable.
   */
  private retryUnpulled(collection: string): void {
    const config = this.collections.get(collection);
    if (this.closed || !config?.unpulled) {
      this.unpulledWaits.delete(collection);
      return;
    }
    const wait = doubledWait(this.unpulledWaits.get(collection));
    this.unpulledWaits.set(collection, wait);
    // The interval's own timer comes sooner.
    if (config.pullIntervalMs > 0 && config.pullIntervalMs <= wait && this.visible) return;
    this.host.clock.clearTimeout(this.pullTimers.get(collection));
    this.pullTimers.set(
      collection,
      this.host.clock.setTimeout(() => void this.pull(collection), wait),
    );
  }

  /**
   * Why a collection may not be sent to now, or null: its URL was allowed when it was registered, but the origins
   * allowed are the current configuration's (a collection stored by an earlier release keeps its URL).
   */
  private offOrigins(config: CollectionRow): string | null {
    if (onAllowedOrigin(config.url, this.host.origins)) return null;
    const origin = new URL(config.url).origin;
    return `Not sent: collection ${config.name} lives on ${origin}, which is not an allowed origin (endpoint, allowedOrigins).`;
  }

  /** Pulls every collection (start, reconnect, syncNow). */
  pullAll(): Promise<void> {
    return Promise.all(this.names.map((name) => this.pull(name))).then(() => {});
  }

  /** Whether any tab is visible: interval pulls run only then. */
  setVisible(visible: boolean): void {
    const was = this.visible;
    this.visible = visible;
    if (visible && !was) for (const name of this.names) this.schedulePull(name);
  }

  private schedulePull(collection: string): void {
    this.host.clock.clearTimeout(this.pullTimers.get(collection));
    const config = this.collections.get(collection);
    if (this.closed || !config || config.pullIntervalMs <= 0 || !this.visible) return;
    this.pullTimers.set(
      collection,
      this.host.clock.setTimeout(() => void this.pull(collection), config.pullIntervalMs),
    );
  }

  private async pullPages(collection: string): Promise<void> {
    let config = this.config(collection);
    if (!this.host.canSend()) return;
    const refused = this.offOrigins(config);
    if (refused) throw new Error(refused);
    // Registered again on another URL meanwhile: this feed's pages and cursor are no longer the collection's (the
    // pull asked by that registration runs next, from the start of the new feed).
    const feed = config.url;
    const moved = () => this.config(collection).url !== feed;
    let cursor = config.cursor;
    const full = cursor === '';
    const seen = full ? new Set<string>() : null;
    if (seen) this.fullPulls.set(collection, seen);
    let complete = false;
    for (let page = 0; page < 10_000; page++) {
      const url = `${config.url}?since=${encodeURIComponent(cursor)}`;
      const auth = await this.host.authorize({ method: 'GET', url });
      if (auth === false) return this.host.pauseForAuth();
      const result = await this.send(url, { method: 'GET', headers: { ...(auth ?? {}), Accept: 'application/json' } });
      if (!result || moved()) return;
      const outcome = result.outcome;
      if (outcome.type !== 'done') {
        if (outcome.type === 'failed' && outcome.error.status === 410 && cursor !== '') {
          // The server purged tombstones past our cursor: start over, and drop what the full pull does not return.
          await this.saveCursor(collection, '');
          return this.pullPages(collection);
        }
        throw new Error(outcome.error.message);
      }
      const body = result.result?.body as { items?: unknown; cursor?: unknown; hasMore?: unknown } | undefined;
      if (!body || !Array.isArray(body.items) || typeof body.cursor !== 'string')
        throw new Error('The changes feed answered without { items, cursor }.');
      // A full pull keeps its cursor to itself until it is complete: one cut short must start over (from ''),
      // else the next pull would go on from a middle page and never drop what the server deleted.
      await this.applyPulled(collection, feed, body.items, full ? null : body.cursor, seen);
      if (moved()) return;
      config = this.config(collection);
      if (body.hasMore !== true) {
        complete = true;
        cursor = body.cursor;
        break;
      }
      // "More" at the same cursor would be asked for again and again, at once.
      if (body.cursor === cursor)
        throw new Error('The changes feed answered hasMore without moving its cursor; pulled again later.');
      cursor = body.cursor;
    }
    if (seen && complete) await this.dropUnseen(collection, seen);
    if (moved()) return;
    const held = !!this.config(collection).unpulled;
    if (full) await this.saveCursor(collection, cursor, true);
    if (full && held) this.host.pokePush(collection);
    const now = this.host.clock.now();
    const row = { ...this.config(collection), lastPullAt: now };
    this.collections.set(collection, row);
    this.stat(collection).lastPullAt = now;
    // In the same turn as the collection's lastPullAt, so no reader sees one without the other.
    this.synced(now);
    await this.host.db.put('collections', row).catch(() => {});
    this.host.countsChanged();
  }

  /**
   * A push accepted or a pull answered whole at `at`. Not while a clear (a logout) waits for what is out: the clear
   * has set `lastSyncAt` aside with the last user's data, and an answer to that user's push must not bring it back.
   */
  private synced(at: number): void {
    if (this.clearing === 0) this.host.synced(at);
  }

  /** Stores a collection's cursor; `pulledWhole`: a full pull of its feed ended, so what it held may be pushed. */
  private async saveCursor(collection: string, cursor: string, pulledWhole = false): Promise<void> {
    const before = this.config(collection);
    const row = { ...before, cursor };
    if (pulledWhole) delete row.unpulled;
    this.collections.set(collection, row);
    await this.host.db.put('collections', row).catch((error: unknown) => {
      // Not stored: what the collection holds stays held, as a restart would find it.
      if (before.unpulled && this.collections.get(collection) === row) this.collections.set(collection, before);
      throw error;
    });
  }

  /**
   * Applies one page of the feed at `feed`; `cursor` (null: not yet) is stored in the same transaction, unless the
   * collection has moved to another URL since.
   */
  private async applyPulled(
    collection: string,
    feed: string,
    items: unknown[],
    cursor: string | null,
    seen: Set<string> | null,
  ): Promise<void> {
    // An item this engine cannot read fails the page, before anything of it is applied or its cursor stored:
    // skipped, it would be lost until some later full pull, with no word of it anywhere.
    const read = items.map(feedItem);
    const unreadable = read.indexOf(null);
    if (unreadable >= 0)
      throw new Error(
        `The changes feed listed an entity with no string "id" or no readable "version" (item ${unreadable} of the page).`,
      );
    const rollbacks: Rollback[] = [];
    let settled = 0;
    const stored = await this.write(async (tx, batch) => {
      const conflicts: { id: string; theirs: { data: Data | null; version: number } }[] = [];
      // Rows an open conflict holds, with what the page says the server has now.
      const held: { conflictId: string; theirs: { data: Data | null; version: number } }[] = [];
      const store = tx.objectStore('entities');
      const valid = read as FeedItem[];
      // The contract lists an entity once a page, in its latest state; a page that repeats one must not have an
      // older state settle it (or a conflict keep it): of each id, only the highest version is applied.
      const newest = new Map<string, (typeof valid)[number]>();
      for (const item of valid) {
        const had = newest.get(item.id);
        if (!had || item.version >= had.version) newest.set(item.id, item);
      }
      const pulled = [...newest.values()];
      const rows = await Promise.all(pulled.map((item) => store.get([collection, item.id])));
      pulled.forEach((item, i) => {
        seen?.add(item.id);
        const row = rows[i];
        const theirs = {
          data: item.deleted || !isRecord(item.data) ? null : (item.data as Data),
          version: item.version,
        };
        if (row && row.baseVersion !== null && item.version <= row.baseVersion) {
          // This device's accepted delete, met in the feed: nothing older of the entity can follow it now.
          if (row.deleted && !row.dirty && item.version === row.baseVersion) this.putRow(tx, batch, row, null);
          return;
        }
        if (!row || (!row.dirty && !row.conflictId)) {
          // Clean (or new): the server's copy is the copy.
          const base: EntityRow = row ?? emptyRow(collection, item.id, this.host.clock.now(), this.revFloor);
          if (theirs.data === null) {
            if (row) this.putRow(tx, batch, row, null);
            return;
          }
          this.putRow(tx, batch, row ?? null, this.cleanRow(landed(base, theirs.data), theirs.data, theirs.version));
          return;
        }
        if (row.conflictId) {
          held.push({ conflictId: row.conflictId, theirs });
          return;
        }
        // Dirty, and the server moved: the local data stays on screen; the strategy decides, once the page is read.
        conflicts.push({ id: item.id, theirs });
      });
      // An open conflict shows the server's copy as it is now: the cursor passes this change, so the conflict is the
      // only place it is kept for the user's choice (or a revert) to take.
      for (const { conflictId, theirs } of held) {
        const conflict = await tx.objectStore('conflicts').get(conflictId);
        if (!conflict || (conflict.theirsVersion !== null && theirs.version <= conflict.theirsVersion)) continue;
        const { fields } = mergeOf(conflict.base, conflict.mine, theirs.data);
        const next: Conflict = { ...conflict, theirs: theirs.data, theirsVersion: theirs.version, fields };
        tx.objectStore('conflicts')
          .put(next)
          .catch(() => {});
        batch.conflicts.push({ id: next.id, next });
      }
      // Dirty rows the server moved go to the strategy in this transaction: stored with the cursor that passes their
      // change, or not at all (kept apart, a full disk could keep the conflict in memory and lose it with the engine).
      rollbacks.length = 0;
      settled = conflicts.length;
      for (const c of conflicts) {
        const rolled: Rollback[] = [];
        await this.settling(collection, c.id, c.theirs, null, rolled)(tx, batch);
        rollbacks.push(...rolled);
      }
      if (cursor === null || this.config(collection).url !== feed) return false;
      tx.objectStore('collections')
        .put({ ...this.config(collection), cursor })
        .catch(() => {});
      return true;
    });
    // Only once committed: a page a full disk refused is asked for again, not passed over by the next pull.
    if (stored && this.config(collection).url === feed)
      this.collections.set(collection, { ...this.config(collection), cursor: cursor! });
    for (const rollback of rollbacks) this.host.rolledBack(rollback);
    if (settled > 0) this.host.pokePush(collection);
  }

  /**
   * After a pull from the start: a clean entity the feed no longer lists was deleted (its tombstone purged). Not
   * one written while the pull ran (`seen` holds those too): pushed meanwhile, it may simply be newer than the pages.
   */
  private async dropUnseen(collection: string, seen: Set<string>): Promise<void> {
    await this.write(async (tx, batch) => {
      const rows = await tx.objectStore('entities').getAll(IDBKeyRange.bound([collection, ''], [collection, '\uffff']));
      for (const row of rows) {
        if (!seen.has(row.id) && !row.dirty && !row.conflictId && row.baseVersion !== null)
          this.putRow(tx, batch, row, null);
      }
    });
  }

  // ---- conflicts, by strategy --------------------------------------------------------------

  /**
   * The server has `theirs` where this device has an unpushed edit. server-wins: theirs replaces mine (and a
   * rollback is reported); client-wins: mine is pushed against their version; merge: fields changed on one
   * side only are combined and pushed, and fields changed on both sides go to manual; manual: a conflict is kept.
   * `refused` is the push a 412 answered (null: a pull found theirs): its key now answers 412 whatever is sent under
   * it, so the edit goes again under a new revision.
   */
  private async settleConflict(
    collection: string,
    id: string,
    theirs: { data: Data | null; version: number | null },
    refused: EntityRow | null,
  ): Promise<void> {
    const rollbacks: Rollback[] = [];
    const body = this.settling(collection, id, theirs, refused, rollbacks);
    const report = () => rollbacks.forEach((r) => this.host.rolledBack(r));
    // Unstored, the rollback is reported once it is (and the lane poked then).
    if (!(await this.record({ collection, id }, { after: report }, body))) return;
    report();
    this.host.pokePush(collection);
  }

  /**
   * The write that settles what `settleConflict` says, to run in any transaction (a pull page's own: its conflicts
   * are settled with its cursor). A rollback it makes is put in `rollbacks` (emptied first: a write may run again).
   */
  private settling(
    collection: string,
    id: string,
    theirs: { data: Data | null; version: number | null },
    refused: EntityRow | null,
    rollbacks: Rollback[],
  ): WriteBody {
    const detectedBy = refused ? '412' : 'pull';
    const now = this.host.clock.now();
    return async (tx, batch) => {
      rollbacks.length = 0;
      const config = this.collections.get(collection);
      if (!config) return;
      const row = await tx.objectStore('entities').get([collection, id]);
      if (!row || row.conflictId) return;
      if (!row.dirty) {
        // Made clean since the page was read (the answer of a push that was out came back meanwhile): a newer server
        // copy is the copy, as for any clean row, or it would be lost (the cursor has passed it).
        if (theirs.version !== null && (row.baseVersion === null || theirs.version > row.baseVersion))
          this.putRow(tx, batch, row, this.serverCopy(landed(row, theirs.data), theirs.data, theirs.version));
        return;
      }
      // The server replays a 412 to its key, whatever is sent under it: an edit whose push it refused goes again
      // under a new revision (unless the row holds a newer edit already).
      const again = refused !== null && row.localRev === refused.localRev ? 1 : 0;
      // Nothing newer than what the row stands on now (the row was rebased on that version since the page was read,
      // or since the refused push left): nothing to settle, the edit goes again on the row's base.
      if (
        theirs.version !== null &&
        row.baseVersion !== null &&
        theirs.version <= row.baseVersion &&
        refused?.baseVersion !== row.baseVersion
      ) {
        if (again) this.putRow(tx, batch, row, { ...row, localRev: row.localRev + again, updatedAt: now });
        return;
      }
      const mine = row.deleted ? null : row.data;
      const base = row.serverData;
      const known = landed(row, theirs.data);
      const rebased: EntityRow = {
        ...known,
        serverData: theirs.data,
        baseVersion: theirs.version,
        attempts: 0,
        strikes: 0,
        nextAttemptAt: 0,
        updatedAt: now,
      };
      // Their change is this device's own edit coming back (the push landed, its answer did not): nothing to settle.
      if (sameValue(mine, theirs.data)) {
        this.putRow(tx, batch, row, this.serverCopy(rebased, theirs.data, theirs.version));
        return;
      }
      // Exactly what one of this device's pushes carried: that push landed, not a change of someone else's. The push
      // still out (met by a pull: its answer is on the way), or one whose answer was never read (a create's, or one a
      // newer edit overtook: lost, or the worker stopped). The newer local edit is rebased on it and pushed next, as
      // the answer would have done.
      const out = detectedBy === 'pull' ? this.outgoing.get(`${collection}\0${id}`) : undefined;
      if (theirs.version !== null && (known !== row || (out && sameValue(out.data, theirs.data)))) {
        this.putRow(tx, batch, row, { ...rebased, localRev: row.localRev + again });
        return;
      }
      let strategy = config.conflict;
      let merged: Data | null = null;
      const { result, fields } = mergeOf(base, mine, theirs.data);
      if (strategy === 'merge') {
        if (result && result.conflicts.length === 0) merged = result.merged;
        if (merged === null) strategy = 'manual';
      }
      switch (strategy) {
        case 'server-wins':
          rollbacks.push({ collection, entityId: id, mine, theirs: theirs.data, at: now });
          this.putRow(tx, batch, row, this.serverCopy(rebased, theirs.data, theirs.version));
          return;
        case 'client-wins':
          this.putRow(tx, batch, row, { ...rebased, localRev: row.localRev + 1 });
          return;
        case 'merge':
          if (sameValue(merged, theirs.data))
            this.putRow(tx, batch, row, this.cleanRow(rebased, theirs.data, theirs.version));
          else this.putRow(tx, batch, row, { ...rebased, data: merged, deleted: false, localRev: row.localRev + 1 });
          return;
        case 'manual': {
          const conflict: Conflict = {
            id: operationId(now),
            collection,
            entityId: id,
            base,
            mine,
            mineRev: row.localRev,
            theirs: theirs.data,
            theirsVersion: theirs.version,
            fields,
            detectedBy,
            detectedAt: now,
          };
          tx.objectStore('conflicts')
            .put(conflict)
            .catch(() => {});
          batch.conflicts.push({ id: conflict.id, next: conflict });
          this.count(batch, collection, 'conflicts', 1);
          // The local data stays on screen; the base stays what the edit started from until the user chooses. An
          // earlier push's failure (a 502 while the server was away) is no longer the news: the conflict is.
          const held: EntityRow = { ...row, conflictId: conflict.id, updatedAt: now };
          delete held.lastError;
          this.putRow(tx, batch, row, held);
          return;
        }
      }
    };
  }

  private async dropConflict(tx: Tx, batch: Write, conflictId: string, collection: string): Promise<void> {
    if (await tx.objectStore('conflicts').get(conflictId)) this.removeConflict(tx, batch, conflictId, collection);
  }

  /** Deletes a stored conflict in `tx`, and notes the change and the count. */
  private removeConflict(tx: Tx, batch: Write, conflictId: string, collection: string): void {
    tx.objectStore('conflicts')
      .delete(conflictId)
      .catch(() => {});
    batch.conflicts.push({ id: conflictId, next: null });
    this.count(batch, collection, 'conflicts', this.stat(collection).conflicts > 0 ? -1 : 0);
  }

  // ---- writes -----------------------------------------------------------------------------

  private cleanRow(row: EntityRow, data: Data | null, version: number | null): EntityRow {
    const clean: EntityRow = {
      ...row,
      data,
      serverData: data,
      baseVersion: version,
      dirty: false,
      deleted: false,
      attempts: 0,
      strikes: 0,
      nextAttemptAt: 0,
      updatedAt: this.host.clock.now(),
    };
    delete clean.pushOrder;
    delete clean.dirtySince;
    delete clean.dirtySeq;
    delete clean.lastError;
    delete clean.failed;
    delete clean.conflictId;
    // The server's version is known now: nothing left to wonder about.
    if (version !== null) delete clean.sent;
    return clean;
  }

  /**
   * The server's deletion taken over an entity whose create this device sent without reading the answer: the row is
   * not removed, since that create may still land over the tombstone and bring the entity back, but becomes a delete
   * to push, which learns the create's fate first (`settleCreate`) and removes what it made.
   */
  private deleteAfterCreate(row: EntityRow, now: number): EntityRow {
    return this.edited({ ...row, conflictId: undefined }, null, now);
  }

  /** The row as the server's copy (`data` at `version`), or none when the server's copy is a deletion. */
  private serverCopy(row: EntityRow, data: Data | null, version: number | null): EntityRow | null {
    return data === null ? null : this.cleanRow(row, data, version);
  }

  /**
   * The row after the server accepted its delete at `version`: kept, hidden (`recordOf` shows no deleted row), until
   * the feed brings that deletion. Until then its version is what the entity stands on: a feed page read before the
   * delete landed is older and not applied (the entity would come back), and the entity made again goes with
   * If-Match on it (no conflict with its own deletion; a 412 if someone made it again meanwhile). Null (the row
   * goes) when no version is known.
   */
  private goneRow(row: EntityRow, version: number | null): EntityRow | null {
    if (version === null) return null;
    return { ...this.cleanRow(row, null, version), deleted: true };
  }

  /** Writes (or deletes, for null) a row in `tx`, and notes the change and the dirty count. */
  private putRow(tx: Tx, batch: Write, prev: EntityRow | null, next: EntityRow | null): void {
    const key: [string, string] = next ? [next.collection, next.id] : [prev!.collection, prev!.id];
    // Written while a full pull runs (a push accepted, a create): newer than the pages read, so not "unseen".
    if (next) this.fullPulls.get(key[0])?.add(key[1]);
    if (next)
      tx.objectStore('entities')
        .put(next)
        .catch(() => {});
    else {
      tx.objectStore('entities')
        .delete(key)
        .catch(() => {});
      // A create's wait for its mark goes with the row (nothing is left to push).
      this.endWait(`${key[0]}\0${key[1]}`);
      // The row's revisions must not start over if the entity is made again (its keys would repeat). Written at the
      // floor too: a write that raised it in memory may have failed, and this one is then what stores it.
      if (prev && prev.localRev >= this.revFloor) {
        this.revFloor = prev.localRev;
        tx.objectStore('meta')
          .put(this.revFloor, REV_FLOOR_KEY)
          .catch(() => {});
      }
      // Edits' call keys outlive the row (a re-sent put must not make the entity again): kept as answers.
      const now = this.host.clock.now();
      for (const [call, until] of Object.entries(prev?.calls ?? {})) if (until >= now) keepAnswer(tx, call, until, key);
    }
    this.count(batch, key[0], 'dirty', Number(!!next?.dirty) - Number(!!prev?.dirty));
    this.count(batch, key[0], 'failed', Number(refusedEdit(next)) - Number(refusedEdit(prev)));
    batch.changes.push({ collection: key[0], id: key[1], next: next ? recordOf(next) : null, dirty: dirtyOf(next) });
  }

  /** Moves one of a collection's counts by `by` for `batch`'s write (taken back if the write fails). */
  private count(batch: Write, collection: string, field: Counted, by: number): void {
    if (by === 0) return;
    this.stat(collection)[field] += by;
    batch.counted.push({ collection, field, by });
  }

  /**
   * One write doing a tab's call (see `TabCall`). A re-sent call whose answer is kept gets it through `replay`;
   * otherwise `body` runs, and `answerOf` its result is kept with its work. Every answer is kept, "none" and
   * "nothing to revert" too: re-sent after another tab's edit of the entity, the call must not act on that. (On a
   * full disk Chromium still takes this small put beside a revert's delete: test/quota.test.ts.)
   */
  private async writeOnce<T>(
    call: TabCall | null | undefined,
    body: (tx: Tx, batch: Write) => Promise<T>,
    answerOf: (result: T) => KeptAnswer['value'],
    replay: (tx: Tx, answer: KeptAnswer['value']) => Promise<T>,
  ): Promise<T> {
    const named = namedCall(call);
    try {
      return await this.write(async (tx, batch) => {
        if (!named) return body(tx, batch);
        const earlier = named.resent ? await keptAnswer(tx, named.key) : undefined;
        if (earlier) return replay(tx, earlier.value);
        const result = await body(tx, batch);
        keepAnswer(tx, named.key, this.keptUntil(named), answerOf(result));
        return result;
      });
    } finally {
      if (named) this.pruneAnswers();
    }
  }

  /** Removes kept answers no tab waits for any more, in a transaction of its own, at most once a minute. */
  private pruneAnswers(): void {
    const now = this.host.clock.now();
    if (now - this.answersPrunedAt < CALL_ANSWERS_MS || this.closed) return;
    this.answersPrunedAt = now;
    void (async () => {
      const tx = this.host.db.transaction('meta', 'readwrite');
      for (let cursor = await tx.store.openCursor(callAnswers()); cursor; cursor = await cursor.continue())
        if (((cursor.value as KeptAnswer | undefined)?.until ?? 0) < now) await cursor.delete();
      await tx.done;
    })().catch(() => {
      // Tried again at the next call's end.
      this.answersPrunedAt = 0;
    });
  }

  /** Whether push outcomes a full disk refused wait in memory (`unrecorded`): the engine's storage is not ok. */
  get waitingForSpace(): boolean {
    return [...this.unrecorded.values()].some((entry) => entry.writes.length > 0);
  }

  /** The entry of `unrecorded` for an entity, made (empty: no wait) if there is none. */
  private unrecordedOf(entity: { collection: string; id: string }): Unrecorded {
    const key = `${entity.collection}\0${entity.id}`;
    let entry = this.unrecorded.get(key);
    if (!entry) {
      entry = { writes: [], until: 0, since: 0, strikes: 0, marks: 0 };
      this.unrecorded.set(key, entry);
    }
    return entry;
  }

  /**
   * Stores what the server answered a push of `entity`. On a full disk it is kept in memory instead (see
   * `unrecorded`), and false is answered: the entity's push waits until `until` says (by default until it is
   * stored). `repeat`: as `Unrecorded.writes`; `settled`: as `Unrecorded.settled`.
   */
  private async record(
    entity: { collection: string; id: string },
    options: { repeat?: string; settled?: Unrecorded['settled']; after?: () => void },
    body: WriteBody,
    until: (entry: Unrecorded) => number = () => Infinity,
  ): Promise<boolean> {
    try {
      await this.write(body);
      return true;
    } catch (error) {
      if (this.closed || (error as SynclineError)?.code !== SynclineErrorCode.QuotaExceeded) throw error;
      const entry = this.unrecordedOf(entity);
      if (options.repeat === undefined || !entry.writes.some((w) => w.repeat === options.repeat))
        entry.writes.push({ body, after: options.after, repeat: options.repeat });
      entry.settled = options.settled;
      entry.since = this.host.clock.now();
      entry.until = until(entry);
      this.retryRecording();
      return false;
    }
  }

  /**
   * Until when `row`'s push waits for an answer a full disk kept from being stored (0: it does not). A create
   * whose mark could not be written waits the same way, with nothing to store. A finite wait that began after the
   * clock's now (set back since) is over.
   */
  private heldUntil(row: { collection: string; id: string }): number {
    const key = `${row.collection}\0${row.id}`;
    const entry = this.unrecorded.get(key);
    if (!entry || entry.until === Infinity) return entry?.until ?? 0;
    const now = this.host.clock.now();
    if (entry.until > now && now >= entry.since) return entry.until;
    this.endWait(key);
    return 0;
  }

  /** Forgets the entry of `unrecorded` under `key` if it is only a wait (a create's for its mark): nothing to store. */
  private endWait(key: string): void {
    if (this.unrecorded.get(key)?.writes.length === 0) this.unrecorded.delete(key);
  }

  /** Tries again, in a write of their own, the writes a full disk refused: in a second, then less often. */
  private retryRecording(): void {
    if (this.recordTimer !== null || this.closed || !this.waitingForSpace) return;
    this.recordTimer = this.host.clock.setTimeout(() => {
      this.recordTimer = null;
      if (this.closed || !this.waitingForSpace) return;
      this.write(async () => {}, 'only').then(
        () => this.retryRecording(),
        () => {
          this.recordDelay = Math.min(this.recordDelay * 2, RECORD_RETRY_CAP_MS);
          this.retryRecording();
        },
      );
    }, this.recordDelay);
  }

  /** The writes of `unrecorded` a write ran first have committed with it: their entities' pushes go on. */
  private recorded(ran: { key: string; entry: Unrecorded; count: number }[]): void {
    this.recordDelay = RECORD_RETRY_MS;
    for (const { key, entry, count } of ran) {
      for (const { after } of entry.writes.splice(0, count)) after?.();
      if (entry.writes.length > 0 || this.unrecorded.get(key) !== entry) continue;
      this.unrecorded.delete(key);
      this.host.pokePush(key.slice(0, key.indexOf('\0')));
    }
  }

  /**
   * One write transaction over the replica; its changes are emitted once it has committed. The writes a full disk
   * refused before (see `unrecorded`) run first in it, unless `carry` is false (a clear, which removes what they
   * would write: it must not take more space than it frees). One write at a time carries them: a second, started
   * while the first is open, would run them again after it, on top of what came between.
   */
  private async write<T>(body: (tx: Tx, batch: Write) => Promise<T>, carry: boolean | 'only' = true): Promise<T> {
    if (this.closed) throw new SynclineError(SynclineErrorCode.Closed, 'The sync engine is closed.');
    while (carry !== false && this.carrier && this.unrecorded.size > 0) await this.carrier;
    const ran =
      carry === false
        ? []
        : [...this.unrecorded]
            .map(([key, entry]) => ({ key, entry, count: entry.writes.length }))
            .filter(({ count }) => count > 0);
    if (ran.length === 0) return this.transact(body, ran);
    let carried = () => {};
    this.carrier = new Promise<void>((resolve) => (carried = resolve));
    try {
      return await this.transact(body, ran);
    } catch (error) {
      // What was kept does not fit: this write goes without it (as if those answers came after it), so a record
      // that does not fit holds only its own entity. The recording timer's own write ('only') has nothing else.
      if (carry === 'only' || this.closed || (error as SynclineError)?.code !== SynclineErrorCode.QuotaExceeded)
        throw error;
    } finally {
      this.carrier = null;
      carried();
    }
    return this.transact(body, []);
  }

  /** One write transaction: the kept writes `ran` first, then `body`; the changes emitted once it has committed. */
  private async transact<T>(
    body: (tx: Tx, batch: Write) => Promise<T>,
    ran: { key: string; entry: Unrecorded; count: number }[],
  ): Promise<T> {
    const batch: Write = { seq: 0, changes: [], conflicts: [], counted: [] };
    let tx: Tx | undefined;
    try {
      tx = this.host.db.transaction(['entities', 'conflicts', 'collections', 'meta'], 'readwrite', {
        durability: this.host.config.durability,
      }) as unknown as Tx;
      batch.seq = this.host.nextSeq();
      for (const { key, entry, count } of ran)
        for (const { body } of entry.writes.slice(0, count))
          await body(tx, batch).catch((error: unknown) => {
            // One that throws for another reason than a full disk (Firefox's put() throws once over its quota) is
            // dropped, or it would fail every write after it: its push goes again (replayed), the lane poked for it.
            if ((this.host.storageFailure(error) as SynclineError).code !== SynclineErrorCode.QuotaExceeded) {
              this.unrecorded.delete(key);
              this.host.pokePush(key.slice(0, key.indexOf('\0')));
            }
            throw error;
          });
      const result = await body(tx, batch);
      commitNow(tx);
      await tx.done;
      const { seq, changes, conflicts } = batch;
      if (changes.length || conflicts.length) this.host.changed({ seq, changes, conflicts });
      this.host.countsChanged();
      // What was kept and ran first is stored: out of `unrecorded` before the status is told.
      if (ran.length > 0) this.recorded(ran);
      this.host.storageWritten();
      return result;
    } catch (error) {
      // Nothing was written: what this write added to the counts goes. Not the counts as they were when it began:
      // a write committed meanwhile (transactions overlap while their bodies await) keeps what it added.
      for (const { collection, field, by } of batch.counted) this.stat(collection)[field] -= by;
      // Published meanwhile (another write's end), the counts held this write's part: they are published again.
      if (batch.counted.length > 0) this.host.countsChanged();
      if (tx) {
        try {
          tx.abort();
        } catch {
          /* finished */
        }
        await tx.done.catch(() => {});
      }
      throw error instanceof SynclineError ? error : this.host.storageFailure(error);
    }
  }

  close(): void {
    this.closed = true;
    for (const timer of this.pullTimers.values()) this.host.clock.clearTimeout(timer);
    if (this.recordTimer !== null) this.host.clock.clearTimeout(this.recordTimer);
  }
}

function checkEntityId(id: unknown): string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) invalid('An entity id is 1-128 letters, digits, _ . : or -.');
  // As a path segment "." and ".." are not ids: the URL would name the collection itself, or what holds it.
  if (id === '.' || id === '..') invalid(`"${id}" cannot be an entity id.`);
  return id;
}

/**
 * The three-way merge of an entity both sides have (null when one side deleted it), and the fields a conflict names:
 * those changed on both sides to different values, whatever the strategy; every differing field when one side
 * deleted. A plain diff of mine against theirs would also name the fields only one side changed.
 */
function mergeOf(
  base: Data | null,
  mine: Data | null,
  theirs: Data | null,
): { result: MergeResult | null; fields: string[] } {
  const result = mine && theirs ? threeWayMerge(base, mine, theirs) : null;
  return { result, fields: result ? result.conflicts : changedFields(mine, theirs) };
}

/** What a clear without `discardUnsent` answers while edits have not reached the server, as for operations. */
function unpushedEdits(count: number): SynclineError {
  return new SynclineError(
    SynclineErrorCode.UnsentOperations,
    `${count} edit(s) have not reached the server; pass { discardUnsent: true } to remove them.`,
    { unsentEdits: count },
  );
}

/** An unpushed edit the server refused for good: it waits for the user (a conflict holding it counts as that). */
function refusedEdit(row: EntityRow | null | undefined): boolean {
  return !!row?.dirty && !!row.failed && !row.conflictId;
}

/** A clean copy of entity data: JSON only (what cannot be JSON cannot be pushed), within `maxBytes`. */
function checkedData(data: unknown, maxBytes: number): Data {
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    invalid(`Entity data is not JSON-serialisable: ${(error as Error).message}`);
  }
  if (json === undefined) invalid('Entity data is not JSON-serialisable.');
  // As for a queued body: what the server would refuse, or what would crowd the replica, is refused here.
  const size = json.length > maxBytes / 3 ? new TextEncoder().encode(json).length : json.length;
  if (size > maxBytes)
    throw new SynclineError(
      SynclineErrorCode.PayloadTooLarge,
      `The entity data is ${size} bytes as JSON; the limit is ${maxBytes}.`,
      { size, limit: maxBytes },
    );
  const parsed = JSON.parse(json) as unknown;
  // An object that is not one in JSON (a Date, a String or Number object: postMessage keeps them) would be stored
  // and pushed as a string or a number.
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    invalid(
      `Entity data must be a JSON object; this is ${Array.isArray(parsed) ? 'an array' : typeof parsed} in JSON.`,
    );
  // JSON may name a field __proto__, and JSON.parse keeps it as a field; much JavaScript would set a prototype
  // with it instead (an assignment, Object.assign), so such data would not survive the round trip intact.
  const at = json.includes('"__proto__"') ? protoKeyIn(parsed, '') : null;
  if (at !== null) invalid(`Entity data may not have a field named "__proto__" (at ${at}).`);
  return parsed as Data;
}

/** The path of the first own `__proto__` key in a parsed JSON value, or null. */
function protoKeyIn(value: unknown, path: string): string | null {
  if (typeof value !== 'object' || value === null) return null;
  for (const key of Object.keys(value)) {
    const here = path ? `${path}.${key}` : key;
    if (key === '__proto__') return here;
    const found = protoKeyIn((value as Data)[key], here);
    if (found !== null) return found;
  }
  return null;
}

/** Where an entity of a collection is pushed. */
function entityUrl(config: CollectionRow, id: string): string {
  return `${config.url}/${encodeURIComponent(id)}`;
}

/** The version a 2xx answer to a push names: its body's `version`, else its ETag's; null when it names none. */
function answerVersion(result: Attempt): number | null {
  const version = (result.result?.body as { version?: unknown } | undefined)?.version;
  return readVersion(version) ?? versionOf(result.result?.etag);
}

/** A version as a server sends it: a number, or the digits of one (a bigint column serialised as text). */
function readVersion(version: unknown): number | null {
  if (typeof version === 'number') return Number.isFinite(version) ? version : null;
  return typeof version === 'string' && /^\d+$/.test(version) && Number.isSafeInteger(Number(version))
    ? Number(version)
    : null;
}

/** A feed item as applied. */
interface FeedItem {
  id: string;
  version: number;
  data: unknown;
  deleted: boolean;
}

/** A feed item read: a string id and a readable version; null without either. */
function feedItem(item: unknown): FeedItem | null {
  if (typeof item !== 'object' || item === null) return null;
  const { id, version, data, deleted } = item as { id?: unknown; version?: unknown; data?: unknown; deleted?: unknown };
  const known = readVersion(version);
  if (typeof id !== 'string' || known === null) return null;
  // Any truthy `deleted` is a tombstone (a soft-deleting server may send 1 and keep the last data).
  return { id, version: known, data, deleted: !!deleted };
}

function versionOf(etag: string | undefined): number | null {
  const match = etag ? /^(?:W\/)?"(\d+)"$/.exec(etag) : null;
  return match ? Number(match[1]) : null;
}

/**
 * The server's copy a 412 names: `current` (its version from the body, else from the ETag), or "none" when
 * `current` is null (the contract's answer when there is no such entity). Null when it cannot be read.
 */
function currentOf(body: unknown, etagVersion: number | null): { data: Data | null; version: number | null } | null {
  if (typeof body !== 'object' || body === null || !('current' in body)) return null;
  const current = (body as { current: unknown }).current;
  if (current === null) return { data: null, version: null };
  if (typeof current !== 'object') return null;
  const { version, data, deleted } = current as { version?: unknown; data?: unknown; deleted?: unknown };
  const known = readVersion(version) ?? etagVersion;
  if (known === null) return null;
  if (deleted === true) return { data: null, version: known };
  return isRecord(data) ? { data: data as Data, version: known } : null;
}

/**
 * `row` without what it keeps of pushes that an answer to its push `rev` settles: the create it answers (or, sent
 * before it, the one settled first), and any overtaken push up to it. The same row when there is none.
 */
function answered(row: EntityRow, rev: number): EntityRow {
  const create = row.sentCreate !== undefined && row.sentCreate.rev <= rev;
  const overtaken = row.overtaken !== undefined && row.overtaken.rev <= rev;
  if (!create && !overtaken) return row;
  const next = { ...row };
  if (create) delete next.sentCreate;
  if (overtaken) delete next.overtaken;
  return next;
}

/**
 * `row` without what it keeps of pushes whose answer was never read that a server copy holding exactly `data`
 * shows landed. The same row when there is none: `data` is no push of this device's that it knows of.
 */
function landed(row: EntityRow, data: Data | null): EntityRow {
  const create = !!row.sentCreate && sameValue(JSON.parse(row.sentCreate.body), data);
  const overtaken = !!row.overtaken && sameValue(row.overtaken.data, data);
  if (!create && !overtaken) return row;
  const next = { ...row };
  if (create) delete next.sentCreate;
  if (overtaken) delete next.overtaken;
  return next;
}

/**
 * Whether a row's push waits out a backoff at `now`. Not once the clock went back past the moment the wait began
 * (set by the user, corrected by NTP): its end, in the old time, could be hours away.
 */
function waits(row: EntityRow, now: number): boolean {
  return row.nextAttemptAt > now && now >= row.updatedAt;
}

/** A row's call keys (see `EntityRow.calls`) with `call` added: those expired dropped, at most `ROW_CALLS_MAX`. */
function withCall(
  calls: Record<string, number> | undefined,
  call: { key: string; until: number },
  now: number,
): Record<string, number> {
  const kept = Object.entries(calls ?? {}).filter(([, until]) => until >= now);
  kept.push([call.key, call.until]);
  return Object.fromEntries(kept.slice(-ROW_CALLS_MAX));
}

/** A row for an entity this device has no copy of yet: never on the server as far as it knows, nothing unpushed. */
function emptyRow(collection: string, id: string, now: number, revFloor: number): EntityRow {
  return {
    collection,
    id,
    data: null,
    serverData: null,
    baseVersion: null,
    dirty: false,
    deleted: false,
    localRev: revFloor,
    attempts: 0,
    strikes: 0,
    nextAttemptAt: 0,
    updatedAt: now,
  };
}

/**
 * `dirtySeq` of a row made dirty by an edit: kept from `dirty` (the row it edits, already dirty), else the queue's
 * position now. Absent for a row dirty since before positions were kept (it goes by time).
 */
function dirtySeqOf(dirty: EntityRow | null, host: BackgroundHost): { dirtySeq?: number } {
  const seq = dirty ? dirty.dirtySeq : host.queueSeq();
  return seq === undefined ? {} : { dirtySeq: seq };
}
