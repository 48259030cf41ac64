// The messages between a tab and its engine: a discriminated union of plain data, validated on arrival.
import type { SerializedError } from '../errors.ts';
import type {
  CollectionConfig,
  Conflict,
  EngineConfig,
  EntityRecord,
  Operation,
  OperationFilter,
  OperationWindow,
  Resolution,
  Runtime,
} from '../types.ts';
import type { LiveEvent, LiveQuery } from '../engine/live-queries.ts';

/** Bumped whenever a message changes shape: a tab and an engine of different versions do not talk. */
export const PROTOCOL_VERSION = 4;

/** Engine methods a tab may call, with their argument and result types. */
export interface EngineCalls {
  /**
   * `generated`, per input, whether the tab made its id up (the app chose none): on a first send such an id cannot be
   * queued or done already, so the engine looks up only the ids the app chose. A re-sent call looks up all of them.
   */
  enqueue: { args: [inputs: unknown[], options?: { generated?: boolean[] }]; result: Operation[] };
  retry: { args: [id: string]; result: Operation };
  retryAll: { args: [filter?: OperationFilter]; result: number };
  discard: { args: [id: string]; result: boolean };
  syncNow: { args: []; result: void };
  resume: { args: []; result: void };
  clear: { args: [options?: { discardUnsent?: boolean; before?: number }]; result: number };
  count: { args: [filter?: OperationFilter]; result: number };
  list: { args: [filter?: OperationFilter]; result: Operation[] };
  window: { args: [filter: OperationFilter, offset: number, limit: number]; result: OperationWindow };
  lanes: { args: []; result: string[] };
  registerCollection: { args: [config: CollectionConfig]; result: CollectionConfig };
  entityPut: { args: [collection: string, id: string, data: unknown]; result: EntityRecord };
  entityPatch: { args: [collection: string, id: string, fields: unknown]; result: EntityRecord };
  entityDelete: { args: [collection: string, id: string]; result: boolean };
  entityRevert: { args: [collection: string, id: string]; result: boolean };
  resolve: { args: [conflictId: string, resolution: Resolution]; result: EntityRecord | null };
  entities: { args: [collection: string]; result: EntityRecord[] };
  conflicts: { args: [collection?: string]; result: Conflict[] };
}
export type CallMethod = keyof EngineCalls;
export const CALL_METHODS: readonly CallMethod[] = [
  'enqueue',
  'retry',
  'retryAll',
  'discard',
  'syncNow',
  'resume',
  'clear',
  'count',
  'list',
  'window',
  'lanes',
  'registerCollection',
  'entityPut',
  'entityPatch',
  'entityDelete',
  'entityRevert',
  'resolve',
  'entities',
  'conflicts',
];

/** Live queries a tab may subscribe to, and what they emit (defined beside the engine that answers them). */
export type { LiveQuery as Topic, LiveEvent as TopicEvent } from '../engine/live-queries.ts';

export type ClientMessage =
  | {
      t: 'hello';
      client: string;
      /** The page (tab) the client lives in; absent from older tabs, which count as a page each. */
      page?: string;
      config: EngineConfig;
      online: boolean;
      visible: boolean;
      canAuthorize: boolean;
      /** This tab's `PROTOCOL_VERSION` and database schema version. */
      protocol: number;
      schema: number;
      /**
       * Grows with every link the tab opens. Hellos on different links are not ordered: one from a link the tab has
       * already left may arrive after the newer one, and must not replace it.
       */
      epoch?: number;
    }
  /**
   * `resent`: sent before, to an engine that went away without answering. `until`: when the tab stops waiting for
   * the answer (ms since the epoch); it may send the call again until then.
   */
  | { t: 'call'; id: number; method: CallMethod; args: unknown[]; resent?: boolean; until?: number }
  | { t: 'sub'; id: number; query: LiveQuery }
  | { t: 'unsub'; id: number }
  | { t: 'env'; online: boolean; visible: boolean }
  /** `signedOut`: the app's `authorize()` said the user is signed out. */
  | { t: 'auth-result'; id: number; headers: Record<string, string> | null; signedOut?: boolean; error?: string }
  | { t: 'ping' }
  | { t: 'bye' };

export type EngineMessage =
  /** `lock`: the engine holds this Web Lock for its life; a tab that requests it learns the moment the engine is gone. */
  | {
      t: 'welcome';
      runtime: Runtime;
      engine: string;
      lock: string | null;
      protocol: number;
      schema: number;
      /** The page the engine runs in (absent for a shared worker, and from older hosts). */
      page?: string;
      /**
       * The options of the tab's config that differ from those the engine started with (another deploy, another
       * micro-frontend): the engine keeps its own until it restarts. Absent when none differ.
       */
      differs?: string[];
    }
  | { t: 'result'; id: number; ok: true; value: unknown }
  | { t: 'result'; id: number; ok: false; error: SerializedError }
  | { t: 'event'; id: number; event: LiveEvent }
  | { t: 'authorize'; id: number; request: { method: string; url: string } }
  | { t: 'pong' }
  /** The engine does not know this tab (it restarted, or a new one took over): say hello again. */
  | { t: 'reset' }
  /** This runtime does not run the engine (another one holds its lock): reach it over the BroadcastChannel. */
  | { t: 'elsewhere' }
  /** A newer version of syncline runs the namespace than this tab's code: the page must reload. */
  | { t: 'update-required'; reason: string }
  /** The engine could not start (no IndexedDB, a failed open): calls fail fast; the tab asks again later. */
  | { t: 'unavailable'; error: SerializedError };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => Number.isInteger(v);

function isTopic(v: unknown): v is LiveQuery {
  if (!isObject(v)) return false;
  switch (v.topic) {
    case 'status':
      return true;
    // A filter and a range are checked by the engine, which answers a bad one with an `error` event: dropped here,
    // the query would leave the tab waiting for good.
    case 'ops':
    case 'count':
    case 'window':
      return true;
    case 'result':
      return typeof v.id === 'string';
    case 'entities':
    case 'collection-status':
      return typeof v.collection === 'string';
    case 'conflicts':
    case 'dirty':
    case 'rollbacks':
      return true;
    default:
      return false;
  }
}

/** Returns the message if it is a well-formed ClientMessage, else null (the caller reports and drops it). */
export function parseClientMessage(data: unknown): ClientMessage | null {
  if (!isObject(data) || typeof data.t !== 'string') return null;
  switch (data.t) {
    case 'hello':
      return typeof data.client === 'string' &&
        isObject(data.config) &&
        typeof data.config.namespace === 'string' &&
        typeof data.config.endpoint === 'string' &&
        typeof data.online === 'boolean' &&
        typeof data.visible === 'boolean' &&
        typeof data.canAuthorize === 'boolean' &&
        (data.page === undefined || typeof data.page === 'string') &&
        isInt(data.protocol) &&
        isInt(data.schema) &&
        (data.epoch === undefined || isInt(data.epoch))
        ? (data as ClientMessage)
        : null;
    case 'call':
      return isInt(data.id) &&
        CALL_METHODS.includes(data.method as CallMethod) &&
        Array.isArray(data.args) &&
        (data.until === undefined || (typeof data.until === 'number' && Number.isFinite(data.until)))
        ? (data as ClientMessage)
        : null;
    case 'sub':
      return isInt(data.id) && isTopic(data.query) ? (data as ClientMessage) : null;
    case 'unsub':
      return isInt(data.id) ? (data as ClientMessage) : null;
    case 'env':
      return typeof data.online === 'boolean' && typeof data.visible === 'boolean' ? (data as ClientMessage) : null;
    case 'auth-result':
      return isInt(data.id) && (data.headers === null || isObject(data.headers)) ? (data as ClientMessage) : null;
    case 'ping':
    case 'bye':
      return data as ClientMessage;
    default:
      return null;
  }
}

/** Returns the message if it is a well-formed EngineMessage, else null. */
export function parseEngineMessage(data: unknown): EngineMessage | null {
  if (!isObject(data) || typeof data.t !== 'string') return null;
  switch (data.t) {
    case 'welcome':
      return typeof data.runtime === 'string' &&
        typeof data.engine === 'string' &&
        (data.lock === null || typeof data.lock === 'string') &&
        isInt(data.protocol) &&
        isInt(data.schema) &&
        (data.page === undefined || typeof data.page === 'string') &&
        (data.differs === undefined ||
          (Array.isArray(data.differs) && data.differs.every((name) => typeof name === 'string')))
        ? (data as EngineMessage)
        : null;
    case 'result':
      return isInt(data.id) && typeof data.ok === 'boolean' && (data.ok || isObject(data.error))
        ? (data as EngineMessage)
        : null;
    case 'event':
      return isInt(data.id) && isObject(data.event) && typeof data.event.type === 'string'
        ? (data as EngineMessage)
        : null;
    case 'authorize':
      return isInt(data.id) && isObject(data.request) ? (data as EngineMessage) : null;
    case 'update-required':
      return typeof data.reason === 'string' ? (data as EngineMessage) : null;
    case 'unavailable':
      return isObject(data.error) ? (data as EngineMessage) : null;
    case 'pong':
    case 'reset':
    case 'elsewhere':
      return data as EngineMessage;
    default:
      return null;
  }
}

/** A two-way message pipe: a MessagePort, or one tab's addressed slice of a BroadcastChannel. */
export interface Link {
  /** Throws when the message cannot be cloned (the caller turns that into a typed error). */
  send(message: unknown): void;
  /** Registers the single receiver of incoming messages. */
  onMessage(receiver: (data: unknown) => void): void;
  close(): void;
}

/** Wraps a MessagePort (from a SharedWorker or a MessageChannel). */
export function portLink(port: MessagePort): Link {
  return {
    send: (message) => port.postMessage(message),
    onMessage(receiver) {
      port.onmessage = (event) => receiver(event.data);
    },
    close: () => port.close(),
  };
}
