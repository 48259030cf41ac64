// Typed errors thrown by the client and engine; they cross the RPC as plain data and are rebuilt on the other side.

export const SynclineErrorCode = {
  InvalidOperation: 'invalid-operation',
  PayloadTooLarge: 'payload-too-large',
  QuotaExceeded: 'quota-exceeded',
  Storage: 'storage',
  NotFound: 'not-found',
  UnsentOperations: 'unsent-operations',
  Closed: 'closed',
  /** The engine cannot be reached within the call's bound (it failed to start, or is being replaced). */
  Unavailable: 'unavailable',
  InvalidConfig: 'invalid-config',
  /** Another version of syncline runs the engine: this page must reload. */
  UpdateRequired: 'update-required',
  /**
   * A conflict's server copy, or this device's, changed since the resolution was chosen (`Resolution.theirsVersion`,
   * `Resolution.mineRev`): choose again.
   */
  ConflictChanged: 'conflict-changed',
  /** The operation was discarded before it reached the server (from `settled()`). */
  Discarded: 'discarded',
  /** Something failed inside the engine that it did not expect (a defect): `message` says what, `detail.name` its type. */
  Internal: 'internal',
} as const;
export type SynclineErrorCode = (typeof SynclineErrorCode)[keyof typeof SynclineErrorCode];

/** Every error syncline raises on purpose. `code` is stable; `message` is for people. */
export class SynclineError extends Error {
  override readonly name = 'SynclineError';
  constructor(
    readonly code: SynclineErrorCode,
    message: string,
    readonly detail?: unknown,
  ) {
    super(message);
  }
}

/** Plain-data form of an error for the port. */
export interface SerializedError {
  name: string;
  code?: string;
  message: string;
  detail?: unknown;
}

/**
 * For the tab: always a SynclineError, so a page handles every failure by its `code`. An error the engine did not
 * raise on purpose keeps its message, with its type in `detail.name`: a storage failure (IndexedDB's
 * DOMExceptions) is `storage` or `quota-exceeded`, anything else `internal`.
 */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof SynclineError)
    return { name: error.name, code: error.code, message: error.message, detail: error.detail };
  const name = error instanceof Error || error instanceof DOMException ? error.name : 'Error';
  const message = error instanceof Error || error instanceof DOMException ? error.message : String(error);
  const code = isQuotaError(error)
    ? SynclineErrorCode.QuotaExceeded
    : error instanceof DOMException
      ? SynclineErrorCode.Storage
      : SynclineErrorCode.Internal;
  return { name: 'SynclineError', code, message, detail: { name } };
}

/**
 * `error` from reading `what` the app passed (a getter that throws, a revoked Proxy) as the bad input it is:
 * `invalid-operation`; a SynclineError (a check of ours) as it is.
 */
export function unreadableInput(error: unknown, what: string): SynclineError {
  if (error instanceof SynclineError) return error;
  return new SynclineError(
    SynclineErrorCode.InvalidOperation,
    `${what} cannot be read: ${(error as Error)?.message ?? String(error)}`,
  );
}

export function deserializeError(data: SerializedError): Error {
  if (data.name === 'SynclineError' && data.code)
    return new SynclineError(data.code as SynclineErrorCode, data.message, data.detail);
  const error = new Error(data.message);
  error.name = data.name;
  return error;
}

/** True for a storage quota failure, including Chromium's AbortError whose transaction error is the quota one. */
export function isQuotaError(error: unknown): boolean {
  if (!(error instanceof DOMException || error instanceof Error)) return false;
  if (error.name === 'QuotaExceededError') return true;
  const inner = (error as { cause?: unknown }).cause;
  return inner !== undefined && isQuotaError(inner);
}
