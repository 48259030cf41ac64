// The IndexedDB schema `syncline:<namespace>` and its versioned upgrades.
import { openDB, deleteDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { Operation, OperationResult, OperationStatus } from '../types.ts';
import { databaseName } from '../runtime/names.ts';

export const DB_VERSION = 3;

export interface SynclineSchema extends DBSchema {
  operations: {
    key: string;
    value: Operation;
    indexes: {
      status: OperationStatus;
      seq: number;
      laneSeq: [string, number];
      entityKey: string;
      kind: string;
    };
  };
  /** Small engine facts: the enqueue sequence counter, the last successful sync, the server's capabilities. */
  meta: {
    key: string;
    value: unknown;
  };
  /**
   * Operations done recently, with the server's answer: `settled(id)` reads them, and a call re-sent after the
   * engine was replaced finds its operation here instead of queueing it a second time. Pruned by age.
   */
  completed: {
    key: string;
    value: CompletedRow;
    indexes: { completedAt: number };
  };
}

export type SynclineDB = IDBPDatabase<SynclineSchema>;

/** A done operation's result as kept, with the `seq` it had (a re-sent enqueue answers with it). */
export interface CompletedRow extends OperationResult {
  seq?: number;
}

export { databaseName };

/**
 * Opens (and creates or upgrades) a namespace's database. `onVersionChange` runs when a newer version of
 * syncline (another worker during a deploy) needs to upgrade it; the connection is closed right after.
 */
export function openSynclineDB(namespace: string, onVersionChange?: () => void): Promise<SynclineDB> {
  return openDB<SynclineSchema>(databaseName(namespace), DB_VERSION, {
    upgrade(db, oldVersion, _newVersion, tx) {
      // One step per version, so any older database walks up to the current schema.
      if (oldVersion < 1) {
        const ops = db.createObjectStore('operations', { keyPath: 'id' });
        ops.createIndex('status', 'status');
        ops.createIndex('seq', 'seq', { unique: true });
        ops.createIndex('lane' as never, 'lane');
        ops.createIndex('laneSeq', ['lane', 'seq']);
        ops.createIndex('entityKey', 'entityKey');
        ops.createIndex('kind', 'kind');
        db.createObjectStore('meta');
      }
      if (oldVersion < 2) {
        // Lanes are read from [lane, seq] alone: a second lane index only slowed every write.
        const ops = tx.objectStore('operations');
        if ((ops.indexNames as DOMStringList).contains('lane')) ops.deleteIndex('lane' as never);
      }
      if (oldVersion < 3) {
        db.createObjectStore('completed', { keyPath: 'id' }).createIndex('completedAt', 'completedAt');
        // `sending` is no longer stored (it lives in the engine's memory while a request is out): an operation an
        // older engine left marked is simply pending; its key makes a repeat safe.
        const ops = tx.objectStore('operations');
        void ops.index('status').openCursor('sending' as OperationStatus).then(async function step(cursor): Promise<void> {
          if (!cursor) return;
          await cursor.update({ ...cursor.value, status: 'pending' as OperationStatus });
          return step(await cursor.continue());
        });
      }
    },
    blocking(_current, _next, event) {
      // A newer version wants to upgrade: step aside rather than wedge it behind this connection.
      onVersionChange?.();
      (event.target as IDBDatabase).close();
    },
  });
}

/** Removes a namespace's database entirely (tests, and logout after `clear()`). */
export function deleteSynclineDB(namespace: string): Promise<void> {
  return deleteDB(databaseName(namespace));
}
