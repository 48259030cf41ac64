// Checks an enqueue request before anything is written: a bad operation is refused whole, with a typed error.
import { SynclineError, SynclineErrorCode } from '../errors.ts';
import { HTTP_METHODS, type OperationInput } from '../types.ts';

const FORBIDDEN_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];
const LANE_PATTERN = /^[\w.:/-]{1,64}$/;

function invalid(message: string): never {
  throw new SynclineError(SynclineErrorCode.InvalidOperation, message);
}

export interface ValidationLimits {
  /** Origins a request may target (the endpoint's and any allowed ones). */
  origins: string[];
  maxPayloadBytes: number;
}

/**
 * Validates and normalises one input; `url` must already be absolute. Returns a clean copy
 * (structured-cloned, so later mutation by the caller cannot change what was queued).
 */
export function validateOperationInput(input: unknown, limits: ValidationLimits): OperationInput {
  if (typeof input !== 'object' || input === null) invalid('An operation must be an object.');
  let copy: OperationInput;
  try {
    copy = structuredClone(input) as OperationInput;
  } catch (error) {
    invalid(`The operation cannot be stored: ${(error as Error).message}`);
  }
  const { kind, label, request, entity, lane, id } = copy;
  if (typeof kind !== 'string' || kind.length === 0 || kind.length > 200) invalid('`kind` must be a non-empty string.');
  if (typeof label !== 'string' || label.length > 1000) invalid('`label` must be a string of at most 1000 characters.');
  if (lane !== undefined && (typeof lane !== 'string' || !LANE_PATTERN.test(lane))) invalid('`lane` must be 1-64 letters, digits or ._:/-');
  if (id !== undefined && (typeof id !== 'string' || !/^[\w-]{8,64}$/.test(id))) invalid('`id` must be 8-64 letters, digits, _ or -.');
  if (entity !== undefined) {
    if (typeof entity !== 'object' || entity === null || typeof entity.type !== 'string' || typeof entity.id !== 'string' || !entity.type || !entity.id) {
      invalid('`entity` must be { type, id } with non-empty strings.');
    }
  }
  if (typeof request !== 'object' || request === null) invalid('`request` is required.');
  const method = String(request.method ?? '').toUpperCase();
  if (!(HTTP_METHODS as readonly string[]).includes(method)) invalid(`Unknown method "${String(request.method)}"; use one of ${HTTP_METHODS.join(', ')}.`);
  request.method = method as OperationInput['request']['method'];
  if (typeof request.url !== 'string' || request.url.length === 0) invalid('`request.url` is required.');
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    invalid(`\`request.url\` is not a valid URL: ${request.url}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') invalid(`Only http(s) URLs can be queued, not ${url.protocol}`);
  if (!limits.origins.includes(url.origin)) {
    invalid(`Requests may only target ${limits.origins.join(', ')}; ${url.origin} is not allowed (add it to allowedOrigins).`);
  }
  if (request.headers !== undefined) {
    if (typeof request.headers !== 'object' || request.headers === null || Array.isArray(request.headers)) invalid('`request.headers` must be a plain object.');
    for (const [name, value] of Object.entries(request.headers)) {
      if (typeof value !== 'string') invalid(`Header "${name}" must be a string.`);
      if (FORBIDDEN_HEADERS.includes(name.toLowerCase())) {
        invalid(`Header "${name}" would store a credential; supply credentials with authorize() or cookies at send time.`);
      }
    }
  }
  // Serialised once, as it will be sent: the same text proves it is JSON and gives its size.
  let text = '';
  if (typeof request.body === 'string') {
    text = request.body;
  } else if (request.body !== undefined) {
    let json: string | undefined;
    try {
      json = JSON.stringify(request.body);
    } catch (error) {
      invalid(`\`request.body\` is not JSON-serialisable: ${(error as Error).message}`);
    }
    if (json === undefined) invalid('`request.body` is not JSON-serialisable.');
    text = json;
  }
  const size = new TextEncoder().encode(text).length;
  if (size > limits.maxPayloadBytes) {
    throw new SynclineError(SynclineErrorCode.PayloadTooLarge, `The body is ${size} bytes; the limit is ${limits.maxPayloadBytes}.`, { size, limit: limits.maxPayloadBytes });
  }
  return copy;
}
