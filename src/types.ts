// Public data types shared by the engine, the RPC and the main-thread client: plain, structured-clone safe data.

/** Lifecycle of a queued operation. Done operations leave the store, so they have no status. */
export const OperationStatus = {
  Pending: 'pending',
  Sending: 'sending',
  Failed: 'failed',
  Conflict: 'conflict',
} as const;
export type OperationStatus = (typeof OperationStatus)[keyof typeof OperationStatus];

/** HTTP methods an operation may carry. */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** A declarative HTTP request: data, not a closure, so it can cross to the worker and survive a restart. */
export interface OperationRequest {
  method: HttpMethod;
  /** Absolute, or relative to the endpoint ("tasks/42" → "<endpoint>/tasks/42"); resolved before it leaves the page. */
  url: string;
  /** Never credentials: `Authorization` and `Cookie` come from `authorize()` or the browser at send time. */
  headers?: Record<string, string>;
  /**
   * A string is sent as is; a `Blob`/`File`, `ArrayBuffer` or typed array as bytes; `FormData` as multipart (stored
   * as its entries); `URLSearchParams` as a form; anything else as JSON.
   */
  body?: unknown;
  /** How `body` is stored and sent; set by the engine at enqueue. */
  bodyType?: BodyType;
}

/** How a stored body is sent: JSON text, a string as is, bytes (Blob, ArrayBuffer), or multipart form entries. */
export type BodyType = 'json' | 'text' | 'binary' | 'form';

/**
 * Bytes kept as an ArrayBuffer with their type, where the browser cannot store a Blob in IndexedDB (WebKit in
 * an ephemeral session refuses every Blob and File): sent exactly as the Blob would have been.
 */
export interface StoredBytes {
  bytes: ArrayBuffer;
  type: string;
}

/** One `FormData` entry as stored: a name and a string or a Blob/File (with its file name). */
export type FormEntry = [name: string, value: string | Blob | StoredBytes, filename?: string];

/** The item an operation touches, so a pending marker can sit next to it. */
export interface EntityRef {
  type: string;
  id: string;
}

/** Why the last attempt did not succeed. */
export interface OperationError {
  /**
   * `network`: no answer (the server may not have seen it); `timeout`: no answer in time; `http`: an HTTP answer;
   * `auth`: credentials (401, or `authorize()` could not supply them); `conflict`: 409/412; `uncertain`: the server
   * may have applied it, and its idempotency key has expired, so sending again could apply it twice; `blocked`: not
   * sent, its URL's origin is no longer allowed (queued under an earlier `endpoint` / `allowedOrigins`).
   */
  kind: 'network' | 'timeout' | 'http' | 'auth' | 'conflict' | 'uncertain' | 'blocked';
  status?: number;
  message: string;
  /** The response body (parsed JSON or text, truncated), e.g. the server copy sent with a 412. */
  body?: unknown;
}

/** What the app hands to `enqueue`. */
export interface OperationInput {
  kind: string;
  label: string;
  request: OperationRequest;
  entity?: EntityRef;
  /** Ordering lane; FIFO inside a lane, lanes drain concurrently. Default "default". */
  lane?: string;
  /** A caller-chosen id makes a repeated enqueue idempotent; normally generated. */
  id?: string;
}

/** A queued operation as stored in IndexedDB. */
export interface Operation {
  /** Time-ordered unique id; sent as the Idempotency-Key header. */
  id: string;
  /** Engine-assigned enqueue order, monotonic across tabs. */
  seq: number;
  lane: string;
  kind: string;
  label: string;
  request: OperationRequest;
  entity?: EntityRef;
  /** `type/id` of `entity`, indexed so a marker can count its item's operations cheaply. */
  entityKey?: string;
  status: OperationStatus;
  /** Requests sent so far. */
  attempts: number;
  /** Retryable failures that count towards `maxAttempts` (a lost network does not). */
  strikes: number;
  /** Epoch ms before which the operation is not sent again (0: now). */
  nextAttemptAt: number;
  lastError?: OperationError;
  /**
   * Bumped when the user retries an operation the server definitively refused: the retry goes out under a fresh
   * Idempotency-Key (`<id>.<keyGen>`), since the server replays its stored refusal for the old one.
   */
  keyGen?: number;
  /** Epoch ms since when the server may have applied this operation without us learning it (no answer came). */
  uncertainSince?: number;
  createdAt: number;
  updatedAt: number;
}

/** Selects operations for counts, lists and windows. All given fields must match. */
export interface OperationFilter {
  lane?: string;
  kind?: string;
  /** `{type, id}` or `"type/id"`. */
  entity?: EntityRef | string;
  status?: OperationStatus | OperationStatus[];
}

/** The server's answer to an operation that is done (kept a while after the operation leaves the queue). */
export interface OperationResult {
  id: string;
  /** Epoch ms when the engine recorded it. */
  completedAt: number;
  status: number;
  etag?: string;
  location?: string;
  /** The response body: parsed JSON or text, at most 64 KiB of it. */
  body?: unknown;
}

/** A window of the queue, ordered by `seq`. */
export interface OperationWindow {
  total: number;
  offset: number;
  items: Operation[];
}

/** Connectivity to the server, as the engine knows it. */
export const Connectivity = {
  Online: 'online',
  Offline: 'offline',
  Degraded: 'degraded',
} as const;
export type Connectivity = (typeof Connectivity)[keyof typeof Connectivity];

/** Where the engine runs for this tab. */
export const Runtime = {
  SharedWorker: 'shared-worker',
  LeaderTab: 'leader-tab',
  InPage: 'in-page',
} as const;
export type Runtime = (typeof Runtime)[keyof typeof Runtime];

export type SyncMode = 'auto' | Runtime;

/** The engine's own state, the same for every tab. */
export interface EngineStatus {
  connectivity: Connectivity;
  /** A request is in flight or a drain pass runs. */
  syncing: boolean;
  /** Why the queue does not send although it could: waiting for sign-in (a 401, or `authorize()` said signed out). */
  paused: null | 'auth';
  counts: Record<OperationStatus, number>;
  /**
   * Epoch ms of the last exchange the server accepted: a queued operation done, a Background Sync push accepted or
   * a pull completed (pushes are not stored: after a reload, the queue's last success or the last pull).
   */
  lastSyncAt: number | null;
  /** Storage health: a full disk is not a silent loss. */
  storage: 'ok' | 'quota-exceeded' | 'error';
  /** Tabs connected to this engine. */
  clients: number;
  /** The last thing that went wrong inside the engine itself (storage, a failed drain step), for `status$`. */
  engineError: { message: string; at: number } | null;
  /**
   * Background Sync, over every collection: entities with unpushed edits (`dirty`), and of those, the ones an open
   * conflict holds (`conflicts`) and the ones the server refused for good (`failed`: they wait for a revert or a
   * new edit).
   */
  entities: { dirty: number; conflicts: number; failed: number };
}

/** What `status$` tells a tab: the engine's state plus where it runs and what survives this tab closing. */
export interface SyncStatus extends EngineStatus {
  runtime: Runtime;
  /** This tab hosts the engine (in-page or leader). */
  hostedHere: boolean;
  /** Whether queued work keeps being sent after this tab closes (another tab keeps the engine alive). */
  continuesAfterClose: boolean;
  /** The tab can reach its engine; false while reconnecting to a restarted worker or a new leader. */
  connected: boolean;
  /**
   * Another version of syncline (a newer deploy) runs the engine, and this tab's code cannot talk to it: reload the
   * page. Calls are refused with `update-required` until then.
   */
  updateRequired: boolean;
  /** Why the engine cannot be reached, when it cannot (it failed to start: no IndexedDB, a newer database). */
  unavailable: string | null;
}

/** Tunables of the engine; every field has a default. */
export interface EngineConfig {
  /** Base URL of the API, e.g. "/api" or "https://example.com/api"; resolved against the page. */
  endpoint: string;
  namespace: string;
  /** Origins besides the endpoint's that queued requests may target. */
  allowedOrigins: string[];
  /** URL probed while offline; default `${endpoint}/health`. */
  healthUrl: string;
  credentials: RequestCredentials;
  /** IndexedDB durability of queue writes. */
  durability: 'strict' | 'relaxed' | 'default';
  maxPayloadBytes: number;
  requestTimeoutMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Longest `Retry-After` honoured; longer values are clamped. */
  maxRetryAfterMs: number;
  /** Lanes drained at once. */
  laneConcurrency: number;
  probeIntervalMs: number;
  /** How long the engine waits for a tab's `authorize()` before asking again later (no strike, no pause). */
  authorizeTimeoutMs: number;
  /**
   * Batched push, where the server advertises it (`<endpoint>/_syncline`): true for every lane, false for none,
   * or the lanes that may batch. A batch carries up to `batchMaxOps` of a lane's operations in one request.
   */
  batch: boolean | string[];
  batchMaxOps: number;
}

/** The origins requests may go to: the endpoint's, then `allowedOrigins` (each an absolute URL or origin). */
export function allowedOriginsOf(config: Pick<EngineConfig, 'endpoint' | 'allowedOrigins'>): string[] {
  return [new URL(config.endpoint).origin, ...config.allowedOrigins.map((o) => new URL(o).origin)];
}

// ---- Background Sync ----------------------------------------------------------------------

/** What a Background Sync collection may be called (its name is part of its pushes' keys). */
export const COLLECTION_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** The longest delay a timer takes (2^31-1 ms): a longer one fires at once, over and over. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** How a collection settles a conflict: a named strategy, or (in the page) a function. */
export const CONFLICT_STRATEGIES = ['server-wins', 'client-wins', 'merge', 'manual'] as const;
export type ConflictStrategy = (typeof CONFLICT_STRATEGIES)[number];

/** A collection as the engine knows it (plain data: it crosses to the worker). */
export interface CollectionConfig {
  name: string;
  /** Absolute URL of the collection: entities at `<url>/<id>`, the changes feed at `<url>?since=`. */
  url: string;
  conflict: ConflictStrategy;
  /** Pulls this often while a tab is visible (0: only at start, on reconnect and on `syncNow()`). */
  pullIntervalMs: number;
}

/** One entity of a collection's local replica, as tabs see it. */
export interface EntityRecord<T = Record<string, unknown>> {
  id: string;
  /** The data as the user sees it: the server's copy with the user's unpushed edits applied. */
  data: T;
  /** The server version the local data is based on (null: never on the server yet). */
  version: number | null;
  /** An edit (or delete) not yet accepted by the server. */
  dirty: boolean;
  /** Deleted locally, the delete not yet accepted by the server (hidden from `items$`). */
  deleted: boolean;
  /** An open conflict holds this entity: it is not pushed until resolved. */
  conflictId: string | null;
  /** Why the last push failed, while it waits to be tried again. */
  lastError?: OperationError;
}

/**
 * An entity whose local edit (or delete) the server has not accepted yet, in any collection: what
 * `client.dirtyEntities$` lists, for widgets that show unpushed edits beside queued operations.
 */
export interface DirtyEntity {
  collection: string;
  id: string;
  /** Deleted locally; the delete not yet accepted. */
  deleted: boolean;
  /** An open conflict holds it: it is not pushed until resolved. */
  conflictId: string | null;
  /** The server refused its push for good (a 4xx other than a conflict): it waits for the user. */
  failed: boolean;
  /** Why the last push did not succeed. */
  lastError?: OperationError;
  /** Epoch ms of its oldest unpushed edit. */
  since: number;
}

/** Where a collection stands. */
export interface CollectionStatus {
  dirty: number;
  conflicts: number;
  /** Epoch ms of the last completed pull. */
  lastPullAt: number | null;
}

/** A change the server and this device made to the same entity, kept until the user (or a strategy) settles it. */
export interface Conflict<T = Record<string, unknown>> {
  id: string;
  collection: string;
  entityId: string;
  /** The last server copy both sides started from (null for an entity created on both sides). */
  base: T | null;
  /** This device's version. */
  mine: T | null;
  /**
   * The local revision `mine` is: an edit made while the conflict is open replaces `mine` and moves this. Absent on
   * conflicts stored before it was kept.
   */
  mineRev?: number;
  /** The server's current version (null when the server deleted it). */
  theirs: T | null;
  theirsVersion: number | null;
  /** Fields changed on both sides to different values (all fields, for a delete on either side). */
  fields: string[];
  /** '412': the server refused a push; 'pull': a pull moved the base of an unpushed edit. */
  detectedBy: '412' | 'pull';
  detectedAt: number;
}

/**
 * How a conflict is settled: one side whole, or the data to push (e.g. field by field from both). `theirsVersion`:
 * the server copy (`conflict.theirsVersion`) the choice was made on; if a pull has brought a newer one into the
 * conflict since, the resolve is refused with `conflict-changed` and the conflict waits, with that copy, for a new
 * choice (a choice made on an older copy would push over changes the user never saw). `mineRev`: likewise for this
 * device's copy (`conflict.mineRev`): an edit made since, which the conflict now shows as `mine`, is never pushed over
 * by a choice made before it.
 */
export type Resolution<T = Record<string, unknown>> = ({ choose: 'mine' | 'theirs' } | { data: T }) & {
  theirsVersion?: number | null;
  mineRev?: number;
};

/** Reported when a strategy replaced a local edit with the server's copy: the UI should say so. */
export interface Rollback<T = Record<string, unknown>> {
  collection: string;
  entityId: string;
  mine: T | null;
  theirs: T | null;
  at: number;
}
