// The outcome reducer: given an operation and what its attempt amounted to, the operation's next stored state. Pure.
import { OperationStatus, type Operation } from '../types.ts';
import { backoffDelay, type Outcome } from './outcome.ts';

export interface RetryPolicy {
  maxAttempts: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  maxRetryAfterMs: number;
  random: () => number;
}

export interface Reduction {
  /** The operation as it is to be stored, or null: done, it leaves the queue. */
  next: Operation | null;
  /** The queue must wait for sign-in. */
  pauseForAuth: boolean;
}

/**
 * `op` is the operation as it was sent (its `attempts` already counts this attempt). A retryable outcome waits
 * out `Retry-After` (clamped) or full-jitter backoff; `maxAttempts` strikes make it `failed`. An outcome the
 * server may have applied without our learning it starts (or keeps) `uncertainSince`; only an answer the server
 * stores under the key (a 2xx, a refusal it would replay) ends it. One it never stores (401, 403, 408, 425, 429,
 * 5xx, a 409 while the key is in progress) says nothing of an earlier attempt; nor does one that never left.
 */
export function reduceOutcome(op: Operation, outcome: Outcome, now: number, policy: RetryPolicy): Reduction {
  const base: Operation = { ...op, updatedAt: now };
  if (outcome.type === 'retry' && outcome.uncertain) base.uncertainSince = op.uncertainSince ?? now;
  else if (outcome.type === 'done' || storedRefusal(outcome)) delete base.uncertainSince;
  switch (outcome.type) {
    case 'done':
      return { next: null, pauseForAuth: false };
    case 'retry': {
      const strikes = op.strikes + (outcome.strike ? 1 : 0);
      if (strikes >= policy.maxAttempts) {
        return {
          next: { ...base, status: OperationStatus.Failed, strikes, lastError: outcome.error, nextAttemptAt: 0 },
          pauseForAuth: false,
        };
      }
      const delay = retryDelay(outcome, strikes, policy);
      return {
        next: {
          ...base,
          status: OperationStatus.Pending,
          strikes,
          lastError: outcome.error,
          nextAttemptAt: now + delay,
        },
        pauseForAuth: false,
      };
    }
    case 'auth':
      // Not the operation's fault: it waits, its standing unchanged, until the app signs in again.
      return {
        next: { ...base, status: OperationStatus.Pending, lastError: outcome.error, nextAttemptAt: 0 },
        pauseForAuth: true,
      };
    case 'conflict':
      return {
        next: { ...base, status: OperationStatus.Conflict, lastError: outcome.error, nextAttemptAt: 0 },
        pauseForAuth: false,
      };
    case 'failed':
      return {
        next: { ...base, status: OperationStatus.Failed, lastError: outcome.error, nextAttemptAt: 0 },
        pauseForAuth: false,
      };
  }
}

/**
 * How long a retryable outcome waits, `strikes` counting it: full-jitter backoff, or `Retry-After` (clamped). That
 * is the least wait, not leave to skip ours: "0", or a date already past on a server whose clock lags, would
 * otherwise spend every attempt at once, or ask about a key in progress hundreds of times a second.
 */
export function retryDelay(
  outcome: { strike: boolean; retryAfterMs?: number },
  strikes: number,
  policy: Omit<RetryPolicy, 'maxAttempts'>,
): number {
  const backoff = backoffDelay(Math.max(1, strikes), policy.backoffBaseMs, policy.backoffCapMs, policy.random);
  if (outcome.retryAfterMs === undefined) return backoff;
  return Math.max(
    Math.min(outcome.retryAfterMs, policy.maxRetryAfterMs),
    outcome.strike ? backoff : Math.min(policy.backoffBaseMs, 1_000),
  );
}

/**
 * The operation made due again by the user's Retry. One the server definitively refused (failed on a 4xx, a
 * conflict) gets a fresh Idempotency-Key, or the server would replay its refusal; one whose outcome is unknown
 * (timeouts, network, 5xx) keeps its key, so a request that did land is replayed, not applied twice. So does
 * one still waiting (a 409 while its key is in progress): the request it waits on may yet be applied.
 */
export function resetForRetry(op: Operation, now: number): Operation {
  const settled = op.status === OperationStatus.Failed || op.status === OperationStatus.Conflict;
  // A refusal is one the server keeps under the key; while an earlier attempt may have landed, the key stays (a
  // new one could apply it twice), and an answer never stored (a 403) is no refusal of the key.
  const refused =
    settled &&
    op.uncertainSince === undefined &&
    (op.lastError?.kind === 'conflict' ||
      (op.lastError?.kind === 'http' && op.lastError.status !== undefined && isStoredRefusal(op.lastError.status)));
  // Only while it stands failed: once made pending again, its new key may be out (nothing is written before a
  // request leaves), and a second Retry must not mint a third under which the same change could land twice.
  const uncertainExpired = settled && op.lastError?.kind === 'uncertain';
  const next: Operation = { ...op, status: OperationStatus.Pending, strikes: 0, nextAttemptAt: 0, updatedAt: now };
  if (refused) next.keyGen = (op.keyGen ?? 0) + 1;
  // The user looked and chose to send it again: the old key is gone on the server anyway.
  if (uncertainExpired) {
    next.keyGen = (op.keyGen ?? 0) + 1;
    delete next.uncertainSince;
  }
  return next;
}

/** A 4xx the contract has the server store and replay under the key: every one but 401, 403, 408, 425 and 429. */
function isStoredRefusal(status: number): boolean {
  return status >= 400 && status < 500 && ![401, 403, 408, 425, 429].includes(status);
}

/** An outcome that is the server's stored answer to the key: a refusal (failed, conflict) it would replay. */
function storedRefusal(outcome: Exclude<Outcome, { type: 'done' }>): boolean {
  return (outcome.type === 'failed' || outcome.type === 'conflict') && isStoredRefusal(outcome.error.status ?? 0);
}

/**
 * Whether an operation may be sent at `now`: its backoff is over, or it waited only for a network that is back, or
 * the clock went back past the moment its wait began (set by the user, corrected by NTP): its end, in the old time,
 * could be hours away, so it goes now; its next wait counts in the new time.
 */
export function isDue(op: Operation, now: number, lastOnlineAt: number): boolean {
  if (op.status !== OperationStatus.Pending) return false;
  if (op.nextAttemptAt <= now || now < op.updatedAt) return true;
  return op.lastError?.kind === 'network' && op.updatedAt < lastOnlineAt;
}
