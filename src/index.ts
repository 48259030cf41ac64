// The public surface of syncline's core: the client, its types and errors. Nothing else is API.
export { createSyncClient, resolveConfig } from './client.ts';
export type { SyncClient, SyncClientOptions } from './client.ts';
export type { Collection, CollectionOptions, ConflictPolicy } from './collection.ts';
export { SynclineError, SynclineErrorCode } from './errors.ts';
export { Connectivity, OperationStatus, Runtime, HTTP_METHODS } from './types.ts';
export type {
  EngineConfig,
  EngineStatus,
  EntityRef,
  HttpMethod,
  Operation,
  OperationError,
  OperationFilter,
  OperationInput,
  OperationRequest,
  OperationResult,
  OperationWindow,
  SyncMode,
  SyncStatus,
  CollectionConfig,
  CollectionStatus,
  Conflict,
  ConflictStrategy,
  DirtyEntity,
  EntityRecord,
  Resolution,
  Rollback,
} from './types.ts';
/** The `authorize` option: headers for a request about to leave (now or as a promise), null for none, false when signed out. */
export type { PageAuthorizeHook as AuthorizeHook } from './rpc/connection.ts';
export { matchesFilter, entityKeyOf } from './engine/filter.ts';
/** Deletes a namespace's database (for logout, after `client.close()`). */
export { deleteSynclineDB } from './runtime/names.ts';
