// Checks an enqueue request before anything is written: a bad operation is refused whole, with a typed error.
import { SynclineError, SynclineErrorCode } from '../errors.ts';
import { HTTP_METHODS, type FormEntry, type OperationInput, type StoredBytes } from '../types.ts';
import { invalid, normalizeBody } from './body.ts';
import { hasHeader } from './transport.ts';

/** Credentials never go to the database: they come from `authorize()` or cookies at send time. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];
/** Headers the browser sets itself (it would silently drop ours) or the engine sets per attempt. */
const RESERVED_HEADERS = [
  'accept-charset',
  'accept-encoding',
  'access-control-request-headers',
  'access-control-request-method',
  'connection',
  'content-length',
  'cookie2',
  'date',
  'dnt',
  'expect',
  'host',
  'keep-alive',
  'origin',
  'referer',
  'set-cookie',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'via',
  'idempotency-key',
];
const LANE_PATTERN = /^[\w.:/-]{1,64}$/;

export interface ValidationLimits {
  /** Origins a request may target (the endpoint's and any allowed ones). */
  origins: string[];
  maxPayloadBytes: number;
  /**
   * The inputs are this call's own (they came through `postMessage`, a copy already): no second copy is made. A
   * caller in the same realm passes objects it may change later, and gets them copied.
   */
  owned?: boolean;
}

/**
 * The browser's verdict on a request's shape (method, headers, with or without a body), by shape: the Request
 * constructor is ~40% of an input's validation, and a queue's operations share a few shapes. The URL is not part
 * of it: parsed and checked for credentials before, it changes nothing the constructor judges. Bounded, as shapes
 * come from callers.
 */
const verdicts = new Map<string, string | null>();
/** An HTTP field name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VERDICTS_KEPT = 64;

function requestVerdict(url: string, method: string, headers: Record<string, string> | undefined, body: boolean) {
  const key = JSON.stringify([method, body, headers ?? null]);
  let verdict = verdicts.get(key);
  if (verdict === undefined) {
    try {
      new Request(url, { method, headers: headers ?? {}, ...(body ? { body: '' } : {}) });
      verdict = null;
    } catch (error) {
      verdict = (error as Error).message;
    }
    if (verdicts.size >= VERDICTS_KEPT) verdicts.clear();
    verdicts.set(key, verdict);
  }
  return verdict;
}

/**
 * The operation with every Blob read into bytes (its type kept; a bare body's type becomes its Content-Type),
 * for a browser that cannot store Blobs in IndexedDB.
 */
export async function withoutBlobs(input: OperationInput): Promise<OperationInput> {
  const request = { ...input.request };
  const body = request.body;
  if (body instanceof Blob) {
    request.body = await body.arrayBuffer();
    if (body.type && !hasHeader(request.headers, 'content-type'))
      request.headers = { ...request.headers, 'Content-Type': body.type };
  } else if (request.bodyType === 'form' && Array.isArray(body)) {
    request.body = await Promise.all(
      (body as FormEntry[]).map(async ([name, value, filename]): Promise<FormEntry> => {
        if (!(value instanceof Blob)) return filename === undefined ? [name, value] : [name, value, filename];
        const bytes: StoredBytes = { bytes: await value.arrayBuffer(), type: value.type };
        return filename === undefined ? [name, bytes] : [name, bytes, filename];
      }),
    );
  }
  return { ...input, request };
}

/**
 * Validates and normalises one input; `url` must already be absolute. Returns a clean copy (structured-cloned,
 * so later mutation by the caller cannot change what was queued), whose request the browser has agreed to build.
 */
export function validateOperationInput(input: unknown, limits: ValidationLimits): OperationInput {
  if (typeof input !== 'object' || input === null) invalid('An operation must be an object.');
  const raw = input as Partial<OperationInput>;
  if (typeof raw.request !== 'object' || raw.request === null) invalid('`request` is required.');
  // The body is normalised first: FormData and URLSearchParams are not cloneable, their stored forms are.
  const stored = normalizeBody(raw.request.body, raw.request.bodyType);
  let copy: OperationInput;
  try {
    const { body: _body, bodyType: _type, ...request } = raw.request;
    const shaped = { ...raw, request: { ...request, ...(stored ? { body: stored.body } : {}) } } as OperationInput;
    // Only what the caller can still reach needs a copy; `request` is a new object either way (it is normalised).
    copy = limits.owned ? shaped : structuredClone(shaped);
  } catch (error) {
    invalid(`The operation cannot be stored: ${(error as Error).message}`);
  }
  const { kind, label, request, entity, lane, id } = copy;
  if (typeof kind !== 'string' || kind.length === 0 || kind.length > 200) invalid('`kind` must be a non-empty string.');
  if (typeof label !== 'string' || label.length > 1000) invalid('`label` must be a string of at most 1000 characters.');
  if (lane !== undefined && (typeof lane !== 'string' || !LANE_PATTERN.test(lane)))
    invalid('`lane` must be 1-64 letters, digits or ._:/-');
  if (id !== undefined && (typeof id !== 'string' || !/^[\w-]{8,64}$/.test(id)))
    invalid('`id` must be 8-64 letters, digits, _ or -.');
  if (entity !== undefined) {
    if (
      typeof entity !== 'object' ||
      entity === null ||
      typeof entity.type !== 'string' ||
      typeof entity.id !== 'string' ||
      !entity.type ||
      !entity.id
    ) {
      invalid('`entity` must be { type, id } with non-empty strings.');
    }
  }
  const method = String(request.method ?? '').toUpperCase();
  if (!(HTTP_METHODS as readonly string[]).includes(method))
    invalid(`Unknown method "${String(request.method)}"; use one of ${HTTP_METHODS.join(', ')}.`);
  request.method = method as OperationInput['request']['method'];
  if (typeof request.url !== 'string' || request.url.length === 0) invalid('`request.url` is required.');
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    invalid(`\`request.url\` is not a valid URL: ${request.url}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    invalid(`Only http(s) URLs can be queued, not ${url.protocol}`);
  if (url.username || url.password)
    invalid('`request.url` must not carry a user name or password: they would be stored as they are.');
  if (!limits.origins.includes(url.origin)) {
    invalid(
      `Requests may only target ${limits.origins.join(', ')}; ${url.origin} is not allowed (add it to allowedOrigins).`,
    );
  }
  if (request.headers !== undefined) {
    if (typeof request.headers !== 'object' || request.headers === null || Array.isArray(request.headers))
      invalid('`request.headers` must be a plain object.');
    for (const [name, value] of Object.entries(request.headers)) {
      if (typeof value !== 'string') invalid(`Header "${name}" must be a string.`);
      // What the Request constructor would refuse with a message that names no header ("Invalid value").
      if (!HEADER_NAME.test(name))
        invalid(`Header name "${name}" is not an HTTP token (letters, digits, !#$%&'*+-.^_\`|~).`);
      if (/[\0\r\n]/.test(value)) invalid(`Header "${name}" holds a line break or NUL, which HTTP cannot carry.`);
      if (/[^\0-\xFF]/.test(value))
        invalid(`Header "${name}" holds characters beyond Latin-1, which HTTP cannot carry: encode the value first.`);
      const lower = name.toLowerCase();
      if (CREDENTIAL_HEADERS.includes(lower)) {
        invalid(
          `Header "${name}" would store a credential; supply credentials with authorize() or cookies at send time.`,
        );
      }
      if (RESERVED_HEADERS.includes(lower) || lower.startsWith('proxy-') || lower.startsWith('sec-')) {
        invalid(`Header "${name}" is set by the browser or by syncline, not by an operation.`);
      }
    }
  }
  if (stored) {
    request.bodyType = stored.bodyType;
    if (stored.contentType && !hasHeader(request.headers, 'content-type'))
      request.headers = { ...request.headers, 'Content-Type': stored.contentType };
    if (stored.size > limits.maxPayloadBytes) {
      throw new SynclineError(
        SynclineErrorCode.PayloadTooLarge,
        `The body is ${stored.size} bytes; the limit is ${limits.maxPayloadBytes}.`,
        { size: stored.size, limit: limits.maxPayloadBytes },
      );
    }
  }
  // The browser is the final judge of what it can send (a GET with a body, CR/LF or non-Latin-1 in a header):
  // a request it cannot build is refused now, not retried forever later.
  const refused = requestVerdict(url.href, method, request.headers, !!stored);
  if (refused !== null) invalid(`The browser cannot send this request: ${refused}`);
  return copy;
}
