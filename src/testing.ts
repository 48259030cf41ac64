// Building blocks for driving the engine directly (tests, benchmarks, custom runtimes): not needed by apps.
export { SyncEngine } from './engine/engine.ts';
export type { ChangeBatch, OperationChange, EngineDeps } from './engine/engine.ts';
export { VirtualClock, realClock } from './engine/clock.ts';
export type { Clock } from './engine/clock.ts';
export { openSynclineDB, deleteSynclineDB, databaseName } from './engine/db.ts';
export { operationId } from './engine/ids.ts';
export { backoffDelay, classifyResponse, parseRetryAfter } from './engine/outcome.ts';
