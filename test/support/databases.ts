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

/**
 * A full disk as Firefox shows it once a write has gone over the quota: put() on the store throws InvalidStateError
 * ("a mutation operation was attempted on a database that did not allow mutations"), as src/engine/store.ts's
 * `failure()` describes and maps to quota-exceeded. `restore()` ends it.
 */
export function firefoxFullDisk(store: string): { restore(): void } {
  return refusePuts(
    store,
    () => true,
    'InvalidStateError',
    Infinity,
    'A mutation operation was attempted on a database that did not allow mutations.',
  );
}

/**
 * A disk with room for some rows and not for others: put() into `store` of a value `refuse` picks throws `name`
 * (QuotaExceededError: the row does not fit; UnknownError: a passing I/O failure), at most `times` times, with
 * `message`.
 */
export function refusePuts(
  store: string,
  refuse: (value: unknown) => boolean,
  name = 'QuotaExceededError',
  times = Infinity,
  message = `Injected: put into ${store} refused.`,
): { left(): number; restore(): void } {
  const put = IDBObjectStore.prototype.put;
  let left = times;
  IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
    if (left > 0 && this.name === store && refuse(args[0])) {
      left--;
      throw new DOMException(message, name);
    }
    return put.apply(this, args);
  } as typeof put;
  return {
    left: () => left,
    restore: () => {
      IDBObjectStore.prototype.put = put;
    },
  };
}
