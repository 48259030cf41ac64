// Classifies what came back from a request (a response, a failure to reach the server) into what the queue does next.
import type { OperationError } from '../types.ts';

/**
 * What one attempt at an operation amounted to. `strike` counts towards `maxAttempts`; `uncertain` means the
 * server may have applied the request without us learning it (the same key must be used again).
 */
export type Outcome =
  | { type: 'done'; status: number }
  | { type: 'retry'; error: OperationError; retryAfterMs?: number; strike: boolean; uncertain?: boolean }
  | { type: 'auth'; error: OperationError }
  | { type: 'conflict'; error: OperationError }
  | { type: 'failed'; error: OperationError };

/**
 * Parses `Retry-After` as RFC 9110 §10.2.3 defines it: delay-seconds (digits only) or an HTTP-date. Anything
 * else ("1.5", "-5", "soon") is ignored rather than read as some date: the caller falls back to its backoff.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // IMF-fixdate, and the two obsolete forms a recipient must accept; all name a weekday and a GMT time.
  if (
    !/^[A-Za-z]{3,9}, .*\d{2}:\d{2}:\d{2}.*GMT$/.test(trimmed) &&
    !/^[A-Za-z]{3} [A-Za-z]{3} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4}$/.test(trimmed)
  ) {
    return undefined;
  }
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

const RETRYABLE = new Set([408, 425, 429]);

/** What the transport learned from a response, before it is judged. */
export interface ResponseFacts {
  status: number;
  retryAfter: string | null;
  /** Parsed JSON or text (bounded). */
  body: unknown;
  /** The response was a redirect we did not follow (`redirect: 'manual'`). */
  redirected?: boolean;
  /** A 2xx whose body is an HTML page although JSON was asked for: a captive portal or a proxy, not our server. */
  htmlInsteadOfJson?: boolean;
}

/** Maps a response to an outcome. */
export function classifyResponse(facts: ResponseFacts, now: number): Outcome {
  const { status, body } = facts;
  if (facts.redirected) {
    // A redirect is never followed (it could carry the body and credentials elsewhere): nothing was delivered.
    return {
      type: 'retry',
      strike: true,
      error: {
        kind: 'http',
        status: 0,
        message: 'The server answered with a redirect; queued requests are never redirected.',
      },
    };
  }
  if (status >= 200 && status < 300) {
    if (facts.htmlInsteadOfJson) {
      return {
        type: 'retry',
        strike: true,
        error: {
          kind: 'http',
          status,
          message: `HTTP ${status} with an HTML page instead of JSON (a captive portal or proxy?): not delivered.`,
        },
      };
    }
    return { type: 'done', status };
  }
  const retryAfterMs = parseRetryAfter(facts.retryAfter, now);
  const error: OperationError = {
    kind: 'http',
    status,
    message: messageOf(status, body),
    ...(body !== undefined ? { body } : {}),
  };
  if (status === 409 && retryAfterMs !== undefined) {
    // The same key is still being processed (an earlier attempt): wait and ask again; not the operation's fault.
    return { type: 'retry', error, strike: false, retryAfterMs };
  }
  if (RETRYABLE.has(status) || status >= 500) {
    return { type: 'retry', error, strike: true, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  if (status === 401) return { type: 'auth', error: { ...error, kind: 'auth' } };
  if (status === 409 || status === 412) return { type: 'conflict', error: { ...error, kind: 'conflict' } };
  return { type: 'failed', error };
}

/** The longest message read from a body: a line in the outbox, not the whole answer (that stays on `body`). */
const MAX_MESSAGE = 200;

/**
 * The error's message: the status and what the body says, read from the formats servers commonly use, most
 * specific first. `error` as a string comes after `errors`: it is often a code or the reason phrase, while the
 * field messages say what to fix.
 */
function messageOf(status: number, body: unknown): string {
  const said = typeof body === 'string' ? text(body) : isRecord(body) ? fromRecord(body) : undefined;
  return said === undefined ? `HTTP ${status}` : `${status}: ${said.slice(0, MAX_MESSAGE)}`;
}

function fromRecord(body: Record<string, unknown>): string | undefined {
  const { error } = body;
  return (
    text(body.message) ??
    // RFC 9457 problem details (application/problem+json): `detail` is about this occurrence, `title` the kind.
    text(body.detail) ??
    text(body.title) ??
    (isRecord(error) ? text(error.message) : undefined) ??
    summary(body.errors) ??
    text(error)
  );
}

/**
 * The first message of `errors`, and how many more there are: a list of strings or of `{ message }` (or JSON:API's
 * `{ detail, title }`), or an object of field → string or list of strings ("field: message").
 */
function summary(errors: unknown): string | undefined {
  const messages: string[] = [];
  if (Array.isArray(errors)) {
    for (const item of errors) {
      const said =
        text(item) ?? (isRecord(item) ? (text(item.message) ?? text(item.detail) ?? text(item.title)) : undefined);
      if (said !== undefined) messages.push(said);
    }
  } else if (isRecord(errors)) {
    for (const [field, value] of Object.entries(errors)) {
      for (const item of Array.isArray(value) ? value : [value]) {
        const said = text(item) ?? (isRecord(item) ? text(item.message) : undefined);
        if (said !== undefined) messages.push(`${field}: ${said}`);
      }
    }
  }
  if (messages.length === 0) return undefined;
  // The count goes first into the bound, so a long first message cannot cut it off.
  const more = messages.length > 1 ? ` (+${messages.length - 1} more)` : '';
  return messages[0]!.slice(0, MAX_MESSAGE - more.length) + more;
}

/** A non-empty string, trimmed; anything else is not a message. */
function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed.length > 0 ? trimmed : undefined;
}

/** A JSON object: not null, not an array. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Exponential backoff with full jitter: uniform in [0, min(cap, base·2^(n-1))]. */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}
