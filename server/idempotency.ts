// Idempotency-Key handling (IETF httpapi draft): first request processed and remembered, repeats replayed.
import { createHash } from 'node:crypto';
import { UNSCOPED_PRINCIPAL, type KeyClaim, type Store, type StoredResponse } from './db.ts';
import { ApiError, type ApiResult } from './http.ts';

export const MAX_KEY_LENGTH = 255;
// sf-string: printable ASCII with `"` and `\` escaped by a backslash.
const SF_STRING = /^"((?:[\x20\x21\x23-\x5B\x5D-\x7E]|\\["\\])*)"$/;
// Not a Structured Field token strictly (those cannot start with a digit), so bare UUIDs and ULIDs pass too.
const BARE_TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~:/-]+$/;
const NEVER_STORED = new Set([401, 403, 408, 429]);
/** Only these headers say something about the stored outcome; the rest belong to the original exchange. */
const REPLAYED_HEADERS = ['content-type', 'etag', 'location'];
/**
 * How long a claim is presumed alive beyond its request's injected latency. After that wait the rest of a
 * request is one synchronous transaction (which waits at most busy_timeout, 5 s, for the file), so only a
 * process that died or hung holds a key longer; its key is then claimed again, and should it wake up after
 * all, its completion finds the key no longer its own and undoes its effect. A process that stops recording
 * itself alive loses its keys sooner (see OWNER_TIMEOUT_MS); the lease bounds the claims of one that is not
 * on record (older servers).
 */
export const CLAIM_LEASE_MS = 60_000;

/** The key from an `Idempotency-Key` header; null when absent, 400 when malformed. */
export function parseIdempotencyKey(header: string | null | undefined): string | null {
  if (header == null) return null;
  const value = header.trim();
  const quoted = SF_STRING.exec(value);
  const key = quoted ? quoted[1]!.replace(/\\(["\\])/g, '$1') : BARE_TOKEN.test(value) ? value : null;
  if (key === null) {
    throw new ApiError(400, 'bad-idempotency-key', 'Idempotency-Key must be a quoted string, e.g. "8e03978e-40d5".');
  }
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new ApiError(400, 'bad-idempotency-key', `Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} characters.`);
  }
  return key;
}

/**
 * The default principal, i.e. whose keys a request uses: `bearer:<token>` for `Authorization: Bearer <token>`
 * (the reference server's demo auth, where a token names its user), `anonymous` without Authorization. Any
 * other Authorization value gets a principal of its own, derived by hash so no credential is stored as is.
 */
export function defaultPrincipal(request: Request): string {
  const authorization = request.headers.get('authorization');
  if (authorization === null) return 'anonymous';
  const bearer = /^Bearer +(\S+)$/i.exec(authorization.trim());
  if (bearer) return `bearer:${bearer[1]}`;
  return `authorization:sha256:${createHash('sha256').update(authorization).digest('hex')}`;
}

/**
 * What makes two requests "the same": method, target (path and query string, as sent) and the exact body
 * bytes. The query is part of it because it can change what a write does.
 */
export function requestFingerprint(method: string, target: string, body: Uint8Array): string {
  const digest = createHash('sha256').update(body).digest('hex');
  return `${method.toUpperCase()} ${target} sha256:${digest}`;
}

/**
 * Whether an outcome is stored and replayed. Success and definite client errors are (a replayed 412 stays a
 * 412). Not stored, so the client's retry is processed afresh: 401 and 403 (the retry may carry fresh
 * credentials), 408 and 429 (the request was not handled, only put off) and every 5xx (our failure).
 */
export function isStoredStatus(status: number): boolean {
  return status < 500 && !NEVER_STORED.has(status);
}

export type Admission = { kind: 'new'; claim: KeyClaim } | { kind: 'replay'; response: StoredResponse };

export class IdempotencyKeys {
  readonly #store: Store;
  readonly #ttlMs: number;
  // Only files from before per-principal scoping have unscoped keys, and only until they expire.
  #hasUnscoped: boolean;
  /**
   * Claims of this process whose request failed and whose release failed too (the file was locked past
   * busy_timeout, the disk failed): abandoned, so their keys are free at once for the client's retry rather than
   * at the end of their lease. Released again by each sweep.
   */
  readonly #unreleased = new Map<string, KeyClaim>();

  constructor(store: Store, ttlMs: number) {
    this.#store = store;
    this.#ttlMs = ttlMs;
    this.#hasUnscoped = store.hasKeysOf(UNSCOPED_PRINCIPAL);
  }

  /**
   * How long a stored response is replayed, counted from when it was stored (so at least that long from the
   * first request); the capability document advertises it.
   */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /**
   * Claims `principal`'s key for this request, or says how to answer instead (replay, or a thrown 409/422).
   * Synchronous, so the check and the insert cannot interleave with another request on this process.
   * `holdMs` is how long the request will wait before its effect (injected latency); its claim's lease covers it.
   */
  admit(principal: string, key: string, fingerprint: string, holdMs = 0, now = Date.now()): Admission {
    // One immediate transaction, so another process sharing the file cannot claim the key in between.
    return this.#store.transaction(() => this.#admit(principal, key, fingerprint, holdMs, now));
  }

  /**
   * What the key already answers for this request, reading only: its stored response (to replay), a thrown 409
   * while the first request with it is in progress, a thrown 422 when it was used for a different request, or
   * null when the request is new. Called before a request's own checks (its headers, its body), which are not
   * part of the fingerprint: a retry is answered as the first request was, whatever else differs.
   */
  answered(principal: string, key: string, fingerprint: string, now = Date.now()): StoredResponse | null {
    const { row, live } = this.#lookup(principal, key, now);
    if (!row || !live) return null;
    if (row.fingerprint !== fingerprint) throw keyReuse();
    if (row.state === 'processing' || !row.response) throw inProgress();
    return row.response;
  }

  /** The key's row, and whether it still holds the key. */
  #lookup(principal: string, key: string, now: number) {
    const row =
      this.#store.getKey(principal, key) ??
      (this.#hasUnscoped ? this.#store.getKey(UNSCOPED_PRINCIPAL, key) : undefined);
    // A claim is live until its lease runs out or its owner dies, however old the key (a TTL shorter than the
    // request must not free it); a stored response lives for the TTL from when it was stored.
    const live =
      row !== undefined &&
      (row.state === 'processing'
        ? row.leaseUntil !== null &&
          row.leaseUntil > now &&
          !this.#store.ownerIsDead(row, now) &&
          !(row.claim !== null && this.#unreleased.has(row.claim))
        : (row.completedAt ?? row.createdAt) > now - this.#ttlMs);
    return { row, live };
  }

  #admit(principal: string, key: string, fingerprint: string, holdMs: number, now: number): Admission {
    const { row, live } = this.#lookup(principal, key, now);
    if (row && live) {
      if (row.fingerprint !== fingerprint) throw keyReuse();
      if (row.state === 'processing' || !row.response) throw inProgress();
      return { kind: 'replay', response: row.response };
    }
    // Expired, or abandoned (its lease ran out, its process died, or this process gave it up): the key is free again.
    if (row) {
      this.#store.deleteKey(row.principal, key);
      if (row.claim !== null) this.#unreleased.delete(row.claim);
    }
    return {
      kind: 'new',
      claim: this.#store.insertKey(principal, key, fingerprint, now, now + holdMs + CLAIM_LEASE_MS),
    };
  }

  /**
   * Remembers the outcome, or forgets the key when the outcome must not be replayed (see `isStoredStatus`).
   * Call in the same transaction as the effect so neither exists without the other. Throws 409 in-progress
   * when the claim no longer holds the key (it was abandoned and another request took it): the transaction
   * then rolls the effect back, so the key's outcome is the other request's alone.
   */
  settle(claim: KeyClaim, result: ApiResult, now = Date.now()): void {
    if (!isStoredStatus(result.status)) {
      this.#store.releaseKey(claim);
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const value = result.headers[name];
      if (value !== undefined) headers[name] = value;
    }
    const response = { status: result.status, headers, body: JSON.stringify(result.body) };
    if (!this.#store.completeKey(claim, response, now)) throw inProgress();
  }

  /**
   * Forgets a key whose request failed on our side, so the client's retry is processed afresh. Never throws: a
   * release that fails (the same locked file that failed the request) leaves the claim abandoned in memory.
   */
  release(claim: KeyClaim): void {
    if (!this.#store.open) return;
    try {
      this.#store.releaseKey(claim);
    } catch (err) {
      this.#unreleased.set(claim.token, claim);
      console.error('[syncline server] could not release an idempotency key; it is free for a retry:', err);
    }
  }

  purgeExpired(now = Date.now()): number {
    for (const [token, claim] of this.#unreleased) {
      this.#store.releaseKey(claim);
      this.#unreleased.delete(token);
    }
    const purged = this.#store.purgeKeys(now - this.#ttlMs, now);
    if (this.#hasUnscoped && purged > 0) this.#hasUnscoped = this.#store.hasKeysOf(UNSCOPED_PRINCIPAL);
    return purged;
  }
}

function keyReuse(): ApiError {
  return new ApiError(
    422,
    'idempotency-key-reuse',
    'This Idempotency-Key was already used for a different request; use a new key for a new request.',
  );
}

function inProgress(): ApiError {
  return new ApiError(
    409,
    'in-progress',
    'A request with this Idempotency-Key is still being processed.',
    {},
    { 'retry-after': '1' },
  );
}

/** A stored response as a result again, marked as a replay. */
export function replayResult(response: StoredResponse): ApiResult {
  return {
    status: response.status,
    headers: { ...response.headers, 'idempotent-replayed': 'true' },
    body: response.body === '' ? null : JSON.parse(response.body),
  };
}
