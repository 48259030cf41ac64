// Reads a namespace's queue size straight from IndexedDB in the page, for the first count before the engine answers.
import { databaseName } from './names.ts';

/**
 * The number of operations stored for `namespace`, or null when there is no queue yet (or no IndexedDB).
 * Opens the database at whatever version it has, read-only, and never creates it: if it does not exist, the
 * upgrade this open would start is aborted. The connection closes at once, and steps aside for any upgrade.
 */
export async function peekQueueSize(namespace: string): Promise<number | null> {
  const name = databaseName(namespace);
  // Where the browser can list databases, a missing one is never opened at all: WebKit keeps an empty database
  // behind even when the upgrade that would create it is aborted.
  if (typeof indexedDB !== 'undefined' && typeof indexedDB.databases === 'function') {
    try {
      if (!(await indexedDB.databases()).some((db) => db.name === name)) return null;
    } catch {
      /* fall through to the aborted-upgrade guard */
    }
  }
  return new Promise((resolve) => {
    let request: IDBOpenDBRequest;
    try {
      request = indexedDB.open(name);
    } catch {
      resolve(null);
      return;
    }
    request.onupgradeneeded = () => {
      // No database yet: leave none behind (the engine creates it with its schema).
      request.transaction?.abort();
    };
    request.onerror = () => resolve(null);
    request.onblocked = () => resolve(null);
    request.onsuccess = () => {
      const db = request.result;
      db.onversionchange = () => db.close();
      if (!db.objectStoreNames.contains('operations')) {
        db.close();
        resolve(null);
        return;
      }
      try {
        const count = db.transaction('operations', 'readonly').objectStore('operations').count();
        count.onsuccess = () => resolve(count.result);
        count.onerror = () => resolve(null);
      } catch {
        resolve(null);
      } finally {
        db.close();
      }
    };
  });
}
