// Names of the shared resources of a namespace: worker, channel and locks all carry it.
import { SynclineError, SynclineErrorCode } from '../errors.ts';
import { PROTOCOL_VERSION } from '../rpc/protocol.ts';

/** What a namespace may be: it names the database, the worker, the channel and the locks. */
export const NAMESPACE_PATTERN = /^[\w.-]{1,100}$/;

/** Refuses a namespace that could name no queue, with the typed error a bad configuration gets. */
export function checkNamespace(namespace: unknown): asserts namespace is string {
  if (typeof namespace !== 'string' || !NAMESPACE_PATTERN.test(namespace))
    throw new SynclineError(SynclineErrorCode.InvalidConfig, '`namespace` must be 1-100 letters, digits, _ . or -.');
}
/** The IndexedDB database of a namespace's queue. */
export const databaseName = (namespace: string) => `syncline:${namespace}`;
/** The schema version of that database; tabs and engines compare it (with the protocol's) before they talk. */
export const DB_VERSION = 6;
/**
 * The SharedWorker of a namespace, named with the versions it speaks (schema.protocol). After a deploy that
 * changes them, a new page starts a worker of its own, even from the same URL, which takes the namespace over
 * (the engine lock, the database upgrade); with one name for all versions the browser would hand it the older
 * worker still running for older tabs, which cannot serve it.
 */
export const workerName = (namespace: string) => `syncline:${namespace}:${DB_VERSION}.${PROTOCOL_VERSION}`;
export const channelName = (namespace: string) => `syncline:${namespace}`;
export const tabLockName = (namespace: string, client: string) => `syncline:${namespace}:tab:${client}`;

/** Held by the one engine of a namespace for its whole life, whatever runs it (worker, leader tab, in-page). */
export const engineLockName = (namespace: string) => `syncline:${namespace}:engine`;

/** A lock name that shows versions (read back by `parseInstanceLock`). */
const versionedLockName = (
  namespace: string,
  kind: 'instance' | 'queued',
  schema: number,
  protocol: number,
  id: string,
) => `syncline:${namespace}:${kind}:${schema}.${protocol}:${id}`;

/**
 * Held by one engine instance for its life, naming its versions: tabs request it to learn the moment that
 * engine is gone, and a starting engine reads the versions of the one running (`navigator.locks.query()`).
 */
export const instanceLockName = (namespace: string, schema: number, protocol: number, engineId: string) =>
  versionedLockName(namespace, 'instance', schema, protocol, engineId);

/**
 * Held by a runtime from when it asks for the engine lock until its instance lock shows its versions: a runtime
 * granted the lock reads them, and steps aside for a newer one rather than run the namespace on older code.
 */
export const queuedLockName = (namespace: string, schema: number, protocol: number, hostId: string) =>
  versionedLockName(namespace, 'queued', schema, protocol, hostId);

/** The versions in an instance (or, with `kind`, queued) lock name of this namespace, or null for any other lock. */
export function parseInstanceLock(
  namespace: string,
  name: string,
  kind: 'instance' | 'queued' = 'instance',
): { schema: number; protocol: number; engineId: string } | null {
  const prefix = `syncline:${namespace}:${kind}:`;
  if (!name.startsWith(prefix)) return null;
  const match = /^(\d+)\.(\d+):(.+)$/.exec(name.slice(prefix.length));
  return match ? { schema: Number(match[1]), protocol: Number(match[2]), engineId: match[3]! } : null;
}

/** Orders (schema, protocol) versions: negative when `a` is older than `b`. */
export function compareVersions(
  a: { schema: number; protocol: number },
  b: { schema: number; protocol: number },
): number {
  return a.schema - b.schema || a.protocol - b.protocol;
}

/**
 * Deletes a namespace's database (logout). Plain IndexedDB, so a page that only uses the client does not load the
 * engine's storage code for it. Resolves once deleted; a tab still holding it open delays that until it closes.
 * A missing or malformed namespace is refused: it would "delete" a database that never existed and resolve,
 * leaving the user's queue on the device after a logout that looked done.
 */
export function deleteSynclineDB(namespace: string): Promise<void> {
  return new Promise((resolve, reject) => {
    checkNamespace(namespace);
    const request = indexedDB.deleteDatabase(databaseName(namespace));
    request.onsuccess = () => resolve();
    request.onerror = () =>
      reject(
        new SynclineError(
          SynclineErrorCode.Storage,
          `The database of namespace "${namespace}" could not be deleted: ${request.error?.message ?? 'unknown error'}`,
          { name: request.error?.name },
        ),
      );
  });
}
