// The IndexedDB schema `syncline:<namespace>` and its versioned upgrades.
import { openDB, deleteDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { Operation, OperationStatus } from '../types.ts';

export const DB_VERSION = 1;

export interface SynclineSchema extends DBSchema {
  operations: {
    key: string;
    value: Operation;
    indexes: {
      status: OperationStatus;
      seq: number;
      lane: string;
      laneSeq: [string, number];
      entityKey: string;
      kind: string;
    };
  };
  /** Small engine facts: the enqueue sequence counter, the last successful sync. */
  meta: {
    key: string;
    value: unknown;
  };
}

export type SynclineDB = IDBPDatabase<SynclineSchema>;

export function databaseName(namespace: string): string {
  return `syncline:${namespace}`;
}

/** Opens (and creates or upgrades) a namespace's database. */
export function openSynclineDB(namespace: string): Promise<SynclineDB> {
  return openDB<SynclineSchema>(databaseName(namespace), DB_VERSION, {
    upgrade(db, oldVersion) {
      // One step per version, so any older database walks up to the current schema.
      if (oldVersion < 1) {
        const ops = db.createObjectStore('operations', { keyPath: 'id' });
        ops.createIndex('status', 'status');
        ops.createIndex('seq', 'seq', { unique: true });
        ops.createIndex('lane', 'lane');
        ops.createIndex('laneSeq', ['lane', 'seq']);
        ops.createIndex('entityKey', 'entityKey');
        ops.createIndex('kind', 'kind');
        db.createObjectStore('meta');
      }
    },
    blocking() {
      // A newer version wants to upgrade: let it, rather than wedge it behind this connection.
    },
  });
}

/** Removes a namespace's database entirely (tests, and logout after `clear()`). */
export function deleteSynclineDB(namespace: string): Promise<void> {
  return deleteDB(databaseName(namespace));
}
