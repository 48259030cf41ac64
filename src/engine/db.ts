// The IndexedDB schema `syncline:<namespace>` and its versioned upgrades.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type {
  CollectionConfig,
  Conflict,
  Operation,
  OperationError,
  OperationResult,
  OperationStatus,
} from '../types.ts';
import { DB_VERSION, databaseName, deleteSynclineDB } from '../runtime/names.ts';

export interface SynclineSchema extends DBSchema {
  /**
   * The queue, keyed [lane, seq]: a lane's operations are one key range in its order, so the operations a drain
   * has done in a lane leave with one range delete (a request each cost the database as much as a whole range).
   * Found by id through the unique `id` index.
   */
  operations: {
    key: [string, number];
    value: Operation;
    indexes: {
      id: string;
      status: OperationStatus;
      seq: number;
      entityKey: string;
      kind: string;
    };
  };
  /**
   * Small engine facts: the enqueue sequence counter, the last successful sync, the server's capabilities, this
   * device's id, and Background Sync's revision floor (`entityRev`).
   */
  meta: {
    key: string;
    value: unknown;
  };
  /**
   * Operations done recently, with the server's answers, in groups: one row per record of successes (at most
   * `RESULT_GROUP_MAX` answers), found by id through `ids`. `settled(id)` reads them, and a call re-sent after the
   * engine was replaced finds its operation here instead of queueing it a second time. Pruned by age, a group at a
   * time. One row per answer cost the database as much as the deletion of its operation did (`npm run bench`, d8).
   */
  results: {
    key: number;
    value: ResultGroup;
    indexes: { ids: string; completedAt: number };
  };
  /** Background Sync: the local replica, one row per entity, keyed [collection, id]. */
  entities: {
    key: [string, string];
    value: EntityRow;
    indexes: { pushOrder: [string, number] };
  };
  conflicts: {
    key: string;
    value: Conflict;
    indexes: { entity: [string, string] };
  };
  collections: {
    key: string;
    value: CollectionRow;
  };
}

export type SynclineDB = IDBPDatabase<SynclineSchema>;

/** One entity of a Background Sync collection as stored (the engine shows it to tabs as an `EntityRecord`). */
export interface EntityRow {
  collection: string;
  id: string;
  /** What the user sees: the server copy with unpushed local edits applied; null once deleted locally. */
  data: Record<string, unknown> | null;
  /** The last server copy this device knows: the merge base. Null when the server has none. */
  serverData: Record<string, unknown> | null;
  /** The version of `serverData`; the If-Match of the next push. */
  baseVersion: number | null;
  dirty: boolean;
  /** Deleted locally; the DELETE is not yet accepted. */
  deleted: boolean;
  /**
   * Grows with every local edit; the push of edit N goes out under the key `<collection>/<id>@<device>.N`. A new row
   * starts from the highest revision of any row removed before (meta `entityRev`), so no key repeats for an entity.
   */
  localRev: number;
  /** While dirty: the order it became dirty in (the sparse index the pusher walks). */
  pushOrder?: number;
  /** While dirty: when the oldest unpushed edit was made (shown; a clear re-sent with a time bound goes by it). */
  dirtySince?: number;
  /**
   * While dirty: the queue's last `seq` when the oldest unpushed edit was made. A queued operation on the entity
   * with a higher `seq` (queued after the edit) waits for its push: an order no clock set back can swap.
   */
  dirtySeq?: number;
  conflictId?: string;
  attempts: number;
  strikes: number;
  nextAttemptAt: number;
  lastError?: OperationError;
  /** A push the server refused for good (a 4xx other than a conflict): it waits for the user. */
  failed?: boolean;
  /**
   * A push of this entity has left while it had no `baseVersion`: its create may be on the server though no answer
   * said so (still out, or lost), so deleting or reverting it must push a DELETE rather than just forget it.
   */
  sent?: boolean;
  /**
   * A create that left (a push without `baseVersion`) and whose answer has not been read: its revision (so its
   * key) and its body as sent. It may land at any moment (its answer lost, or the server still processing it), so
   * nothing else of the entity is pushed before it is sent again under its own key: the server replays its answer,
   * says it is still processing, or, had it never arrived, makes it now. Written with the mark `sent`.
   */
  sentCreate?: { rev: number; body: string };
  /**
   * What a push whose answer was never read carried (its revision, its data): the push out when a newer edit was
   * made (after a restart, one the engine before may have had out), or one that ended with no answer (lost, timed
   * out, its key still being processed). A server copy that is exactly this is known for this device's own push,
   * not someone else's change. Written with that edit, or with the push's failure.
   */
  overtaken?: { rev: number; data: Record<string, unknown> | null };
  /**
   * Tabs' `put`/`patch` calls that edited the row (`<tab>#<call id>` → until when the tab may re-send it), kept in
   * the edit's own write: re-sent to the next engine, such a call is answered with the row as it is, not applied
   * again over a later edit. Expired keys go with the next named edit; at most `ROW_CALLS_MAX`, newest kept.
   */
  calls?: Record<string, number>;
  updatedAt: number;
}

/** A collection's registration and its pull cursor. */
export interface CollectionRow extends CollectionConfig {
  cursor: string;
  lastPullAt: number | null;
  /**
   * Moved to another URL, and that feed not yet pulled in full: nothing of it is pushed meanwhile (its copies would
   * be unknown, and an edit could go over the new URL's entity of its id). Stored, so a restart holds it too.
   */
  unpulled?: true;
}

/** A done operation's result as kept, with the `seq` it had (a re-sent enqueue answers with it). */
export interface CompletedRow extends OperationResult {
  seq?: number;
}

/** Answers recorded together; `completedAt` is the newest of theirs, so none of them is pruned early. */
export interface ResultGroup {
  ids: string[];
  results: CompletedRow[];
  completedAt: number;
}

/** The most answers one row of `results` holds: reading one answer reads its whole group. */
export const RESULT_GROUP_MAX = 64;

/** `rows` as rows of `results`, in order, at most RESULT_GROUP_MAX answers each. */
export function resultGroups(rows: CompletedRow[]): ResultGroup[] {
  const groups: ResultGroup[] = [];
  for (let i = 0; i < rows.length; i += RESULT_GROUP_MAX) {
    const results = rows.slice(i, i + RESULT_GROUP_MAX);
    groups.push({
      ids: results.map((row) => row.id),
      results,
      completedAt: Math.max(...results.map((row) => row.completedAt)),
    });
  }
  return groups;
}

/**
 * The answer kept for `id` in `groups` (its rows of `results`, in key order): the one recorded last, as an id
 * queued again after its first operation was done is done again under a new seq.
 */
export function latestResult(groups: readonly ResultGroup[], id: string): CompletedRow | undefined {
  for (let g = groups.length - 1; g >= 0; g--) {
    const { results } = groups[g]!;
    for (let i = results.length - 1; i >= 0; i--) if (results[i]!.id === id) return results[i];
  }
  return undefined;
}

export { DB_VERSION, databaseName, deleteSynclineDB };

/** The queue's store as version 6 made it (see `operations` in SynclineSchema). */
function createOperations(db: IDBPDatabase<SynclineSchema>) {
  const ops = db.createObjectStore('operations', { keyPath: ['lane', 'seq'] });
  ops.createIndex('id', 'id', { unique: true });
  ops.createIndex('status', 'status');
  ops.createIndex('seq', 'seq', { unique: true });
  ops.createIndex('entityKey', 'entityKey');
  ops.createIndex('kind', 'kind');
  return ops;
}

/**
 * Rows of the queue as stored before version 6, as version 6 stores them: `sending` is pending (version 3), and a
 * row that somehow lacks a lane or a seq (never written without them) gets one, keeping its place at the end
 * rather than being lost. A loop, not a spread into Math.max: that throws past about 65,000 rows in WebKit and
 * 125,000 in V8.
 */
export function movedRows(rows: readonly Operation[]): Operation[] {
  let next = 0;
  for (const row of rows) if (Number.isSafeInteger(row.seq) && row.seq > next) next = row.seq;
  return rows.map((row) => ({
    ...row,
    lane: typeof row.lane === 'string' ? row.lane : 'default',
    seq: Number.isSafeInteger(row.seq) ? row.seq : ++next,
    status: (row.status as string) === 'sending' ? ('pending' as OperationStatus) : row.status,
  }));
}

/** An operation's key in `operations`. */
export function operationKey(op: Pick<Operation, 'lane' | 'seq'>): [string, number] {
  return [op.lane, op.seq];
}

/**
 * Opens (and creates or upgrades) a namespace's database. `onVersionChange` runs when a newer version of
 * syncline (another worker during a deploy) needs to upgrade it (`newVersion` is that version), or when it is
 * being deleted (a logout: `newVersion` is null) or the browser has closed it (the site's data cleared: null too);
 * the connection is closed right after, or already.
 */
export function openSynclineDB(
  namespace: string,
  onVersionChange?: (newVersion: number | null) => void,
): Promise<SynclineDB> {
  return openDB<SynclineSchema>(databaseName(namespace), DB_VERSION, {
    upgrade(db, oldVersion, _newVersion, tx) {
      // One step per version, so any older database walks up to the current schema.
      if (oldVersion < 1) {
        createOperations(db);
        db.createObjectStore('meta');
      } else if (oldVersion < 6) {
        // Keyed by id before version 6: the queue moves to a store keyed [lane, seq], in the transaction that
        // opens it. Older steps ride along: `sending` is no longer stored (version 3: it lives in the engine's
        // memory while a request is out, so an operation an older engine left marked is pending; its key makes a
        // repeat safe), and the lane index of version 1 is not carried over (version 2).
        void (tx.objectStore('operations') as unknown as { getAll(): Promise<Operation[]> }).getAll().then((rows) => {
          // Made before the old store goes, so nothing between the two can lose the rows.
          const moved = movedRows(rows);
          db.deleteObjectStore('operations');
          const ops = createOperations(db);
          for (const row of moved) ops.put(row).catch(() => {});
        });
      }
      if (oldVersion < 4) {
        // Background Sync. pushOrder is set only while an entity is dirty: the index holds exactly what to push.
        db.createObjectStore('entities', { keyPath: ['collection', 'id'] }).createIndex('pushOrder', [
          'collection',
          'pushOrder',
        ]);
        db.createObjectStore('conflicts', { keyPath: 'id' }).createIndex('entity', ['collection', 'entityId']);
        db.createObjectStore('collections', { keyPath: 'name' });
      }
      if (oldVersion < 5) {
        // Answers in groups (see `results`); those kept one per row move over, oldest first.
        const results = db.createObjectStore('results', { autoIncrement: true });
        results.createIndex('ids', 'ids', { multiEntry: true });
        results.createIndex('completedAt', 'completedAt');
        if ((db.objectStoreNames as DOMStringList).contains('completed')) {
          const completed = tx.objectStore('completed' as never) as unknown as {
            index(name: 'completedAt'): { getAll(): Promise<CompletedRow[]> };
          };
          void completed
            .index('completedAt')
            .getAll()
            .then((rows) => {
              for (const group of resultGroups(rows)) results.add(group).catch(() => {});
              db.deleteObjectStore('completed' as never);
            });
        }
      }
    },
    terminated() {
      // The browser closed the connection under the engine: the site's data was cleared (the database is gone), or
      // storage failed. As after a deletion, the engine steps aside, and the next one opens the database afresh.
      onVersionChange?.(null);
    },
    blocking(_current, next, event) {
      // A newer version wants to upgrade, or the database is being deleted: step aside rather than wedge it
      // behind this connection. Which of the two it is matters to the host (see EngineHost).
      onVersionChange?.(next);
      (event.target as IDBDatabase).close();
    },
  });
}
