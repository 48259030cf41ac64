// IndexedDB states and failures syncline itself never causes: a database created by a newer version, reads that fail.
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

/**
 * Makes the next `times` read-only transactions over `store` fail in this page (an engine running here, in-page,
 * meets it as a storage failure), until `restore()`. `left()` says how many failures are still to come.
 */
export function failReads(store: string, times = Infinity): { left(): number; restore(): void } {
  return failTransactions(store, 'readonly', times);
}

/** As failReads, for read-write transactions over `store`; `name` is the error's (a full disk: QuotaExceededError). */
export function failWrites(
  store: string,
  times = Infinity,
  name = 'UnknownError',
): { left(): number; restore(): void } {
  return failTransactions(store, 'readwrite', times, name);
}

function failTransactions(store: string, mode: IDBTransactionMode, times: number, name = 'UnknownError') {
  const transaction = IDBDatabase.prototype.transaction;
  let left = times;
  IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>) {
    const names = typeof args[0] === 'string' ? [args[0]] : [...args[0]];
    if (left > 0 && names.includes(store) && (args[1] ?? 'readonly') === mode) {
      left--;
      throw new DOMException(`Injected ${mode} failure.`, name);
    }
    return transaction.apply(this, args);
  } as typeof transaction;
  return {
    left: () => left,
    restore: () => {
      IDBDatabase.prototype.transaction = transaction;
    },
  };
}
