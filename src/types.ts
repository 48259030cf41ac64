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
   * may have applied it, and its idempotency key has expired, so sending again could apply it twice.
   */
  kind: 'network' | 'timeout' | 'http' | 'auth' | 'conflict' | 'uncertain';
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
  /** Epoch ms of the last request the server accepted. */
  lastSyncAt: number | null;
  /** Storage health: a full disk is not a silent loss. */
  storage: 'ok' | 'quota-exceeded' | 'error';
  /** Tabs connected to this engine. */
  clients: number;
  /** The last thing that went wrong inside the engine itself (storage, a failed drain step), for `status$`. */
  engineError: { message: string; at: number } | null;
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
