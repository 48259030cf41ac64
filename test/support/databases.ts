// IndexedDB states tests start from that syncline itself never leaves: a database created by a newer version.
import { DB_VERSION, databaseName } from '../../src/runtime/names.ts';

/** Creates (empty) the namespace's database at a version above this code's, as a newer release would leave it. */
export function leaveNewerDatabase(namespace: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const open = indexedDB.open(databaseName(namespace), DB_VERSION + 5);
    open.onsuccess = () => {
      open.result.close();
      resolve();
    };
    open.onerror = () => reject(open.error);
  });
}
