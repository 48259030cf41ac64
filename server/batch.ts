// Batch push: a lane's keyed writes in one request, checked whole up front, then applied one by one in order.
import { decodeSegment, sleep, type ApiRequest } from './api.ts';
import { injectedResult, NO_FAULT, type FaultPlan } from './faults.ts';
import { ApiError, parseJsonBody, type ApiResult } from './http.ts';
import { MAX_KEY_LENGTH } from './idempotency.ts';

/** The limits a server advertises for `POST {basePath}/_batch`. */
export interface BatchLimits {
  /** Most ops in one batch. */
  maxOps: number;
  /** Largest batch request body, in bytes. */
  maxBytes: number;
}

/** One checked op: the request it stands for, with its key already in an Idempotency-Key header. */
export interface BatchOp extends ApiRequest {
  key: string;
  /** The target's path without the query, for fault rules and request stats. */
  pathname: string;
}

/** What a batch reports per processed op: its status, the headers a client acts on, and its JSON body. */
export interface BatchResult {
  status: number;
  headers: Partial<Record<(typeof RESULT_HEADERS)[number], string>>;
  body: unknown;
}

export const BATCH_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;
/** Paths under the base that are not collections; an op may not aim at them. */
const RESERVED_TARGETS = new Set(['_batch', '_admin', '_syncline', 'health']);
const OP_FIELDS = new Set(['key', 'method', 'path', 'headers', 'body']);
// The batch request's own credentials (and the op's `key`) speak for every op; an op may not carry others.
const FORBIDDEN_OP_HEADERS = new Set(['idempotency-key', 'authorization', 'cookie']);
const RESULT_HEADERS = ['etag', 'location', 'content-type', 'retry-after', 'idempotent-replayed'] as const;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7E\x80-\xFF]*$/;
// Keys travel unquoted in a batch; they must be what a quoted sf-string header could carry.
const KEY_PATTERN = /^[\x20-\x7E]+$/;
const MAX_PATH_LENGTH = 2048;
const ORIGIN = 'http://batch.invalid';

/**
 * Checks a whole batch body before anything is applied: a malformed batch is refused as one (400, or 413
 * past `maxOps`), never half applied. `basePath` is where the API is mounted, e.g. `/api`.
 */
export function parseBatch(
  contentType: string | null,
  bytes: Uint8Array,
  basePath: string,
  limits: BatchLimits,
): BatchOp[] {
  const value = parseJsonBody(contentType, bytes);
  if (!isRecord(value) || !Array.isArray(value['ops'])) throw bad('A batch is a JSON object { "ops": [ ... ] }.');
  for (const field of Object.keys(value)) if (field !== 'ops') throw bad(`Unknown batch field "${field}".`);
  const ops = value['ops'] as unknown[];
  if (ops.length > limits.maxOps) {
    throw new ApiError(413, 'too-many-ops', `A batch holds at most ${limits.maxOps} ops; send the rest in another.`);
  }
  const keys = new Set<string>();
  return ops.map((op, index) => {
    const checked = parseOp(op, index, basePath);
    if (keys.has(checked.key)) throw bad(`ops[${index}].key repeats an earlier op's key; every op has its own.`, index);
    keys.add(checked.key);
    return checked;
  });
}

function parseOp(op: unknown, index: number, basePath: string): BatchOp {
  const at = `ops[${index}]`;
  if (!isRecord(op)) throw bad(`${at} must be an object { key, method, path, headers?, body? }.`, index);
  for (const field of Object.keys(op)) if (!OP_FIELDS.has(field)) throw bad(`Unknown field ${at}.${field}.`, index);
  const { key, method, path, headers, body } = op;

  if (typeof key !== 'string' || key.length > MAX_KEY_LENGTH || !KEY_PATTERN.test(key)) {
    throw bad(`${at}.key must be 1 to ${MAX_KEY_LENGTH} printable ASCII characters, unquoted.`, index);
  }
  if (typeof method !== 'string' || !(BATCH_METHODS as readonly string[]).includes(method)) {
    throw bad(`${at}.method must be one of ${BATCH_METHODS.join(', ')}.`, index);
  }
  const url = parseTarget(path, basePath);
  if (!url) {
    throw bad(`${at}.path must be a normalized absolute path under ${basePath}/, e.g. ${basePath}/tasks/42.`, index);
  }
  const first = decodeSegment(url.pathname.slice(basePath.length + 1).split('/')[0]!);
  if (RESERVED_TARGETS.has(first)) throw bad(`${at}.path may not target ${basePath}/${first}.`, index);
  if (body !== undefined && typeof body !== 'string')
    throw bad(`${at}.body must be a string (the request body as text).`, index);

  const requestHeaders = new Headers();
  if (headers !== undefined) {
    if (!isRecord(headers)) throw bad(`${at}.headers must be an object of header names to string values.`, index);
    for (const [name, headerValue] of Object.entries(headers)) {
      if (!HEADER_NAME.test(name) || typeof headerValue !== 'string' || !HEADER_VALUE.test(headerValue)) {
        throw bad(`${at}.headers["${name}"] is not a valid header.`, index);
      }
      const lower = name.toLowerCase();
      if (FORBIDDEN_OP_HEADERS.has(lower)) {
        throw bad(
          `${at}.headers may not carry ${name}: the op's key and the batch request's credentials apply.`,
          index,
        );
      }
      if (requestHeaders.has(lower)) throw bad(`${at}.headers names ${name} twice.`, index);
      requestHeaders.set(lower, headerValue);
    }
  }
  requestHeaders.set('idempotency-key', `"${key.replace(/["\\]/g, '\\$&')}"`);
  return {
    key,
    method,
    target: path as string,
    pathname: url.pathname,
    headers: requestHeaders,
    body: new TextEncoder().encode(body ?? ''),
  };
}

/**
 * The op's path as a URL when it is an absolute path under `basePath` written in normal form (no dot
 * segments, no fragment, nothing a URL parser would rewrite), so the path checked is the path applied.
 */
function parseTarget(path: unknown, basePath: string): URL | null {
  if (typeof path !== 'string' || !path.startsWith('/') || path.length > MAX_PATH_LENGTH) return null;
  let url: URL;
  try {
    url = new URL(path, ORIGIN);
  } catch {
    return null;
  }
  if (url.origin !== ORIGIN || url.pathname + url.search !== path) return null;
  return url.pathname.startsWith(`${basePath}/`) ? url : null;
}

export interface BatchRun {
  results: BatchResult[];
  /** The connection must be cut instead of answering: an injected outage or lost reply on an op. */
  cut: boolean;
}

/**
 * Applies ops in order, each through `handle` exactly as a single request would be, and stops after the
 * first result that is not 2xx (that result included). A fault on an op acts on it as on a single request:
 * `status` becomes its result, `offline` cuts the batch before it, `drop` cuts the batch after it.
 */
export async function runBatch(
  ops: BatchOp[],
  handle: (op: BatchOp, latencyMs: number) => Promise<ApiResult>,
  fault: (op: BatchOp) => FaultPlan = () => NO_FAULT,
): Promise<BatchRun> {
  const results: BatchResult[] = [];
  for (const op of ops) {
    const { latencyMs, outcome } = fault(op);
    if (outcome.kind === 'offline') return { results, cut: true };
    let result: ApiResult;
    if (outcome.kind === 'status') {
      await sleep(latencyMs);
      result = injectedResult(outcome);
    } else {
      result = await handle(op, latencyMs);
    }
    results.push(batchResult(result));
    if (outcome.kind === 'drop') return { results, cut: true };
    if (result.status < 200 || result.status > 299) break;
  }
  return { results, cut: false };
}

function batchResult(result: ApiResult): BatchResult {
  const headers: BatchResult['headers'] = {};
  for (const name of RESULT_HEADERS) {
    const value = result.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  return { status: result.status, headers, body: result.body };
}

function bad(message: string, op?: number): ApiError {
  return new ApiError(400, 'bad-batch', message, op === undefined ? {} : { op });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
