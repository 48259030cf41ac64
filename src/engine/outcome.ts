// Classifies a request's result into what the queue does next, and computes backoff delays.
import type { OperationError } from '../types.ts';

export type Outcome =
  | { type: 'done'; status: number }
  | { type: 'retry'; error: OperationError; retryAfterMs?: number; strike: boolean }
  | { type: 'auth'; error: OperationError }
  | { type: 'conflict'; error: OperationError }
  | { type: 'failed'; error: OperationError };

/** Parses `Retry-After` (delta-seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

const RETRYABLE = new Set([408, 425, 429]);

/** Maps an HTTP response to an outcome; `body` is the parsed response body, kept for conflicts and errors. */
export function classifyResponse(status: number, retryAfter: string | null, body: unknown, now: number): Outcome {
  if (status >= 200 && status < 300) return { type: 'done', status };
  const retryAfterMs = parseRetryAfter(retryAfter, now);
  const error: OperationError = { kind: 'http', status, message: messageOf(status, body), ...(body !== undefined ? { body } : {}) };
  if (RETRYABLE.has(status) || status >= 500 || (status === 409 && retryAfterMs !== undefined)) {
    // 409 with Retry-After is an idempotent repeat still being processed: the same key, later.
    return { type: 'retry', error, strike: true, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  if (status === 401) return { type: 'auth', error: { ...error, kind: 'auth' } };
  if (status === 409 || status === 412) return { type: 'conflict', error: { ...error, kind: 'conflict' } };
  return { type: 'failed', error };
}

function messageOf(status: number, body: unknown): string {
  if (body && typeof body === 'object') {
    const { message, error } = body as { message?: unknown; error?: unknown };
    if (typeof message === 'string') return `${status}: ${message}`;
    if (typeof error === 'string') return `${status}: ${error}`;
  }
  if (typeof body === 'string' && body.length > 0) return `${status}: ${body.slice(0, 200)}`;
  return `HTTP ${status}`;
}

/** Exponential backoff with full jitter: uniform in [0, min(cap, base·2^(n-1))]. */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}
