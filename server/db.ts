// SQLite storage for the sync server: schema and its migrations, prepared statements, the row ↔ entity mapping.
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface Entity {
  id: string;
  version: number;
  data: unknown;
  deleted: boolean;
}

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface IdempotencyRow {
  principal: string;
  key: string;
  fingerprint: string;
  state: 'processing' | 'done';
  createdAt: number;
  /** The request holding a 'processing' key; null on keys claimed before claims were named. */
  claim: string | null;
  /**
   * Until when a 'processing' key is presumed held by a live request; past it (or when null, for keys claimed
   * before leases existed) the claim is abandoned and the key may be claimed again.
   */
  leaseUntil: number | null;
  /** The open store holding a 'processing' key; null on keys claimed before owners were named. */
  owner: string | null;
  /**
   * When the store holding a 'processing' key last recorded itself alive. Null when the file has no record of
   * it (keys claimed before owners were recorded, or by a server of schema version 4 still running on the
   * file): such a claim is held by its lease alone.
   */
  ownerSeenAt: number | null;
  /** When a 'done' key's response was stored; its TTL counts from here. */
  completedAt: number | null;
  response: StoredResponse | null;
}

/** A request's hold on an idempotency key, named so that only that request can complete or release it. */
export interface KeyClaim {
  principal: string;
  key: string;
  /** Unique per admission: a key claimed again after its lease ran out gets a new one. */
  token: string;
}

/** How an open store shows the other stores on its file that it is alive; every store on one file should agree. */
export interface StoreOptions {
  /** How often it records itself alive (default OWNER_HEARTBEAT_MS). */
  heartbeatMs?: number;
  /** How long a store may go unrecorded before its claims are abandoned (default OWNER_TIMEOUT_MS). */
  ownerTimeoutMs?: number;
  /** The clock its records are stamped with (default Date.now). */
  clock?: () => number;
}

/**
 * How often an open store records itself alive: one small upsert, so an open store costs its file one write
 * per interval.
 */
export const OWNER_HEARTBEAT_MS = 2_000;
/**
 * How long a store may go unrecorded before its 'processing' keys count as abandoned, as if their lease had
 * run out; so after a crash a retry gets 409 for at most this long instead of for the lease (60 s). Five
 * beats, so that a beat or two put off (the event loop held up by a transaction waiting out busy_timeout, 5 s)
 * does not make a live store look dead. Should it still, that costs a retry, not a second effect: the store's
 * request then finds its claim gone and undoes its effect. WAL needs every process on the file to share one
 * host, so all stores stamp and judge with one wall clock.
 */
export const OWNER_TIMEOUT_MS = 10_000;

/** Who made a write; the change log keeps it so a checker can tie every effect to the request that made it. */
export interface WriteOrigin {
  principal: string;
  /** The request's Idempotency-Key; null when it sent none. */
  idempotencyKey: string | null;
}

export interface ChangeLogEntry {
  seq: number;
  collection: string;
  id: string;
  version: number;
  deleted: boolean;
  at: number;
  /** Null for writes recorded before the log kept origins. */
  principal: string | null;
  idempotencyKey: string | null;
}

/** A collection's purge horizon: the highest change sequence and version among its purged tombstones. */
export interface PurgeHorizon {
  seq: number;
  version: number;
}

interface EntityRow {
  id: string;
  version: number;
  data: string | null;
  deleted: number;
  seq: number;
}

interface KeyRow {
  principal: string;
  key: string;
  fingerprint: string;
  state: 'processing' | 'done';
  created_at: number;
  claim: string | null;
  owner: string | null;
  lease_until: number | null;
  completed_at: number | null;
  owner_seen_at: number | null;
  status: number | null;
  headers: string | null;
  body: string | null;
}

interface ChangeRow {
  seq: number;
  collection: string;
  id: string;
  version: number;
  deleted: number;
  at: number;
  principal: string | null;
  idempotency_key: string | null;
}

/**
 * Principal of idempotency keys stored before keys were scoped per principal. Whose they were is unknown, so
 * they answer any principal, as they did then, until they expire. A principal is never empty otherwise.
 */
export const UNSCOPED_PRINCIPAL = '';

// The schema as first released (user_version 0); files of every age start from it and MIGRATIONS take them on.
// `changes` is the append-only write history; its autoincrement key is the global change sequence, so a
// sequence number is never reused even after rows are gone. `entities.seq` points at the entity's last write.
const SCHEMA_V0 = `
CREATE TABLE IF NOT EXISTS changes (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  collection TEXT    NOT NULL,
  id         TEXT    NOT NULL,
  version    INTEGER NOT NULL,
  deleted    INTEGER NOT NULL,
  at         INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS entities (
  collection TEXT    NOT NULL,
  id         TEXT    NOT NULL,
  version    INTEGER NOT NULL,
  data       TEXT,
  deleted    INTEGER NOT NULL DEFAULT 0,
  seq        INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (collection, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entities_by_seq ON entities (collection, seq);
CREATE TABLE IF NOT EXISTS idempotency_keys (
  key         TEXT    PRIMARY KEY,
  fingerprint TEXT    NOT NULL,
  state       TEXT    NOT NULL CHECK (state IN ('processing', 'done')),
  created_at  INTEGER NOT NULL,
  status      INTEGER,
  headers     TEXT,
  body        TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_keys_by_age ON idempotency_keys (created_at);
`;

/** Schema steps in order: step i takes a file from user_version i to i + 1. Append only; never edit a step. */
const MIGRATIONS: string[] = [
  // 1: keys are scoped per principal, so two users' equal keys never meet. Existing keys become unscoped.
  `CREATE TABLE idempotency_keys_scoped (
     principal   TEXT    NOT NULL,
     key         TEXT    NOT NULL,
     fingerprint TEXT    NOT NULL,
     state       TEXT    NOT NULL CHECK (state IN ('processing', 'done')),
     created_at  INTEGER NOT NULL,
     status      INTEGER,
     headers     TEXT,
     body        TEXT,
     PRIMARY KEY (principal, key)
   ) WITHOUT ROWID;
   INSERT INTO idempotency_keys_scoped (principal, key, fingerprint, state, created_at, status, headers, body)
     SELECT '${UNSCOPED_PRINCIPAL}', key, fingerprint, state, created_at, status, headers, body FROM idempotency_keys;
   DROP TABLE idempotency_keys;
   ALTER TABLE idempotency_keys_scoped RENAME TO idempotency_keys;
   CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);`,
  // 2: each change records who made it and with which key (null for the rows already there).
  `ALTER TABLE changes ADD COLUMN principal TEXT;
   ALTER TABLE changes ADD COLUMN idempotency_key TEXT;`,
  // 3: tombstones expire. A collection's horizon is the highest change sequence and version it purged:
  //    a cursor below that seq may have missed a deletion, and a re-created id must start above that version.
  `CREATE INDEX entities_tombstones_by_age ON entities (updated_at) WHERE deleted = 1;
   CREATE TABLE purge_horizons (
     collection TEXT    PRIMARY KEY,
     seq        INTEGER NOT NULL,
     version    INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // 4: a 'processing' key names the request holding it (claim), its process (owner) and a lease, so a second
  //    process on the file no longer clears keys another one is still working on; a 'done' key expires from
  //    when its response was stored, not from the first request, so a slow request's answer is replayable too.
  `ALTER TABLE idempotency_keys ADD COLUMN claim TEXT;
   ALTER TABLE idempotency_keys ADD COLUMN owner TEXT;
   ALTER TABLE idempotency_keys ADD COLUMN lease_until INTEGER;
   ALTER TABLE idempotency_keys ADD COLUMN completed_at INTEGER;
   UPDATE idempotency_keys SET completed_at = created_at WHERE state = 'done';
   DROP INDEX idempotency_keys_by_age;
   CREATE INDEX idempotency_keys_done_by_age ON idempotency_keys (completed_at) WHERE state = 'done';
   CREATE INDEX idempotency_keys_processing_by_lease ON idempotency_keys (lease_until) WHERE state = 'processing';`,
  // 5: each open store records itself alive (a heartbeat), so a crashed process's keys are claimed again once
  //    it stops, not when their lease runs out. Additive only: a server of version 4 still running on the file
  //    keeps working, and its claims, having no owner recorded, keep their lease.
  `CREATE TABLE owners (
     owner   TEXT    PRIMARY KEY,
     seen_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX idempotency_keys_processing_by_owner ON idempotency_keys (owner) WHERE state = 'processing';`,
];

/** The schema version this code writes (SQLite `user_version`). */
export const SCHEMA_VERSION = MIGRATIONS.length;

export class Store {
  readonly #db: Database.Database;
  readonly #stmt;
  /** This open store (one process, or one server in a process); recorded as the owner of the keys it claims. */
  readonly #owner = randomUUID();
  readonly #ownerTimeoutMs: number;
  readonly #clock: () => number;
  readonly #heartbeat: ReturnType<typeof setInterval>;

  constructor(file: string, options: StoreOptions = {}) {
    const heartbeatMs = options.heartbeatMs ?? OWNER_HEARTBEAT_MS;
    const ownerTimeoutMs = options.ownerTimeoutMs ?? OWNER_TIMEOUT_MS;
    if (!Number.isFinite(heartbeatMs) || heartbeatMs <= 0) {
      throw new TypeError(`heartbeatMs must be a positive number, got ${heartbeatMs}`);
    }
    // A timeout within one beat would declare every live store dead between two of its beats.
    if (!Number.isFinite(ownerTimeoutMs) || ownerTimeoutMs <= heartbeatMs) {
      throw new TypeError(`ownerTimeoutMs must be a number above heartbeatMs (${heartbeatMs}), got ${ownerTimeoutMs}`);
    }
    this.#ownerTimeoutMs = ownerTimeoutMs;
    this.#clock = options.clock ?? Date.now;
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.#db = new Database(file);
    try {
      // Checked before anything writes to the file (even the journal mode), and again while migrating.
      this.#checkVersion();
      this.#db.pragma('journal_mode = WAL');
      // Another process (a second dev server on the same file) waits instead of failing at once.
      this.#db.pragma('busy_timeout = 5000');
      this.#migrate();
    } catch (err) {
      this.#db.close();
      throw err;
    }
    // Keys left 'processing' are not cleared here: another process on this file may still be working on them.
    // A crashed process's keys are claimed again once it has gone unrecorded for ownerTimeoutMs (or their
    // lease ran out); a closed store releases its own.
    const db = this.#db;
    this.#stmt = {
      getEntity: db.prepare<[string, string], EntityRow>(
        'SELECT id, version, data, deleted, seq FROM entities WHERE collection = ? AND id = ?',
      ),
      appendChange: db.prepare<[string, string, number, number, number, string, string | null]>(
        'INSERT INTO changes (collection, id, version, deleted, at, principal, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      upsertEntity: db.prepare<[string, string, number, string | null, number, number | bigint, number]>(
        `INSERT INTO entities (collection, id, version, data, deleted, seq, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (collection, id) DO UPDATE SET
           version = excluded.version, data = excluded.data, deleted = excluded.deleted,
           seq = excluded.seq, updated_at = excluded.updated_at`,
      ),
      changesSince: db.prepare<[string, number, number], EntityRow>(
        'SELECT id, version, data, deleted, seq FROM entities WHERE collection = ? AND seq > ? ORDER BY seq LIMIT ?',
      ),
      changeLog: db.prepare<[number, number], ChangeRow>('SELECT * FROM changes WHERE seq > ? ORDER BY seq LIMIT ?'),
      changeLogOf: db.prepare<[string, number, number], ChangeRow>(
        'SELECT * FROM changes WHERE collection = ? AND seq > ? ORDER BY seq LIMIT ?',
      ),
      raiseHorizons: db.prepare<[number]>(
        `INSERT INTO purge_horizons (collection, seq, version)
           SELECT collection, max(seq), max(version) FROM entities WHERE deleted = 1 AND updated_at <= ? GROUP BY collection
         ON CONFLICT (collection) DO UPDATE SET seq = max(seq, excluded.seq), version = max(version, excluded.version)`,
      ),
      purgeTombstones: db.prepare<[number]>('DELETE FROM entities WHERE deleted = 1 AND updated_at <= ?'),
      getHorizon: db.prepare<[string], PurgeHorizon>('SELECT seq, version FROM purge_horizons WHERE collection = ?'),
      // AUTOINCREMENT keeps the highest seq ever handed out here, whatever rows are gone since.
      lastChangeSeq: db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'changes'"),
      getKey: db.prepare<[string, string], KeyRow>(
        `SELECT k.*, o.seen_at AS owner_seen_at FROM idempotency_keys k LEFT JOIN owners o ON o.owner = k.owner
         WHERE k.principal = ? AND k.key = ?`,
      ),
      insertKey: db.prepare<[string, string, string, number, string, string, number]>(
        `INSERT INTO idempotency_keys (principal, key, fingerprint, state, created_at, claim, owner, lease_until)
         VALUES (?, ?, ?, 'processing', ?, ?, ?, ?)`,
      ),
      // Only the claim's own request completes it: a key claimed again since (its lease ran out) is left alone.
      completeKey: db.prepare<[number, string, string, number, string, string, string]>(
        `UPDATE idempotency_keys
           SET state = 'done', status = ?, headers = ?, body = ?, completed_at = ?, claim = NULL, owner = NULL, lease_until = NULL
         WHERE principal = ? AND key = ? AND state = 'processing' AND claim = ?`,
      ),
      releaseKey: db.prepare<[string, string, string]>(
        `DELETE FROM idempotency_keys WHERE principal = ? AND key = ? AND state = 'processing' AND claim = ?`,
      ),
      releaseOwnKeys: db.prepare<[string]>(`DELETE FROM idempotency_keys WHERE state = 'processing' AND owner = ?`),
      deleteKey: db.prepare<[string, string]>('DELETE FROM idempotency_keys WHERE principal = ? AND key = ?'),
      purgeDoneKeys: db.prepare<[number]>(`DELETE FROM idempotency_keys WHERE state = 'done' AND completed_at <= ?`),
      purgeAbandonedKeys: db.prepare<[number]>(
        `DELETE FROM idempotency_keys WHERE state = 'processing' AND (lease_until IS NULL OR lease_until <= ?)`,
      ),
      purgeDeadOwnersKeys: db.prepare<[number, string]>(
        `DELETE FROM idempotency_keys
         WHERE state = 'processing' AND owner IN (SELECT owner FROM owners WHERE seen_at <= ? AND owner <> ?)`,
      ),
      forgetDeadOwners: db.prepare<[number, string]>('DELETE FROM owners WHERE seen_at <= ? AND owner <> ?'),
      recordOwner: db.prepare<[string, number]>(
        'INSERT INTO owners (owner, seen_at) VALUES (?, ?) ON CONFLICT (owner) DO UPDATE SET seen_at = excluded.seen_at',
      ),
      forgetOwner: db.prepare<[string]>('DELETE FROM owners WHERE owner = ?'),
      hasKeysOf: db.prepare<[string], { found: number }>(
        'SELECT EXISTS (SELECT 1 FROM idempotency_keys WHERE principal = ?) AS found',
      ),
    };
    try {
      // Recorded before this store can claim anything, so none of its claims is ever without a record.
      this.#recordAlive();
    } catch (err) {
      this.#db.close();
      throw err;
    }
    this.#heartbeat = setInterval(() => {
      try {
        this.#recordAlive();
      } catch (err) {
        // The next beat tries again; only ownerTimeoutMs without one lets other stores take this one's keys.
        console.error('[syncline server] could not record this server as alive:', err);
      }
    }, heartbeatMs);
    this.#heartbeat.unref();
  }

  #recordAlive(): void {
    this.#stmt.recordOwner.run(this.#owner, this.#clock());
  }

  /** Runs `fn` in one immediate transaction: it all lands or none of it does. */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn).immediate();
  }

  /**
   * Runs reads in one deferred transaction: they all see the database as of the first one (WAL), so a write by
   * another process on the same file cannot land between them.
   */
  read<T>(fn: () => T): T {
    return this.#db.transaction(fn).deferred();
  }

  getEntity(collection: string, id: string): Entity | undefined {
    const row = this.#stmt.getEntity.get(collection, id);
    return row && toEntity(row);
  }

  /** Writes an entity's new state and stamps it with the next change sequence. Call inside a transaction. */
  writeEntity(collection: string, entity: Entity, origin: WriteOrigin, now = Date.now()): Entity {
    const deleted = entity.deleted ? 1 : 0;
    const { lastInsertRowid: seq } = this.#stmt.appendChange.run(
      collection,
      entity.id,
      entity.version,
      deleted,
      now,
      origin.principal,
      origin.idempotencyKey,
    );
    const data = entity.deleted ? null : JSON.stringify(entity.data);
    this.#stmt.upsertEntity.run(collection, entity.id, entity.version, data, deleted, seq, now);
    return { ...entity, data: entity.deleted ? null : entity.data };
  }

  /**
   * Deletes tombstones written at or before `cutoff` and raises their collections' horizons in the same
   * transaction; returns how many went.
   */
  purgeTombstonesBefore(cutoff: number): number {
    return this.transaction(() => {
      this.#stmt.raiseHorizons.run(cutoff);
      return this.#stmt.purgeTombstones.run(cutoff).changes;
    });
  }

  /** The highest change seq this database ever handed out (0 when it has none): no cursor of its feed is past it. */
  lastChangeSeq(): number {
    return this.#stmt.lastChangeSeq.get()?.seq ?? 0;
  }

  /** What purging took from a collection: zeros when nothing was ever purged from it. */
  purgeHorizon(collection: string): PurgeHorizon {
    return this.#stmt.getHorizon.get(collection) ?? { seq: 0, version: 0 };
  }

  /**
   * Current state of entities whose last write is after `since`, oldest write first: at most `maxItems`, and
   * past the first one no more than `maxBytes` of stored JSON, so a page can always be written out as one
   * response however large its entities are. The first entity comes whatever its size, so the cursor moves.
   */
  changesSince(
    collection: string,
    since: number,
    maxItems: number,
    maxBytes: number,
  ): { changes: Array<{ entity: Entity; seq: number }>; hasMore: boolean } {
    const changes: Array<{ entity: Entity; seq: number }> = [];
    let bytes = 0;
    // Rows are read one at a time and reading stops at the first that does not fit: one row past the page
    // tells whether more follow, without holding a whole page of large rows in memory first.
    for (const row of this.#stmt.changesSince.iterate(collection, since, maxItems + 1)) {
      const size = storedBytes(row);
      if (changes.length === maxItems || (changes.length > 0 && bytes + size > maxBytes)) {
        return { changes, hasMore: true };
      }
      bytes += size;
      changes.push({ entity: toEntity(row), seq: row.seq });
    }
    return { changes, hasMore: false };
  }

  /**
   * The full write history (every version, not only the latest) with each write's origin, for checkers that
   * prove every keyed op took effect at most once and in order.
   */
  changeLog(since: number, limit: number, collection?: string): ChangeLogEntry[] {
    const rows =
      collection === undefined
        ? this.#stmt.changeLog.all(since, limit)
        : this.#stmt.changeLogOf.all(collection, since, limit);
    return rows.map((r) => ({
      seq: r.seq,
      collection: r.collection,
      id: r.id,
      version: r.version,
      deleted: r.deleted === 1,
      at: r.at,
      principal: r.principal,
      idempotencyKey: r.idempotency_key,
    }));
  }

  getKey(principal: string, key: string): IdempotencyRow | undefined {
    const row = this.#stmt.getKey.get(principal, key);
    if (!row) return undefined;
    const response =
      row.state === 'done' && row.status !== null
        ? {
            status: row.status,
            headers: JSON.parse(row.headers ?? '{}') as Record<string, string>,
            body: row.body ?? '',
          }
        : null;
    return {
      principal: row.principal,
      key: row.key,
      fingerprint: row.fingerprint,
      state: row.state,
      createdAt: row.created_at,
      claim: row.claim,
      leaseUntil: row.lease_until,
      owner: row.owner,
      ownerSeenAt: row.owner_seen_at,
      completedAt: row.completed_at,
      response,
    };
  }

  /**
   * Whether the store holding a 'processing' key has gone unrecorded for ownerTimeoutMs by `now`: it crashed
   * or hung, and its claim is abandoned whatever its lease says. Never this store: it is running, and a late
   * record of its own only means its event loop was held up (while its request may still complete).
   */
  ownerIsDead(row: IdempotencyRow, now: number): boolean {
    return row.owner !== this.#owner && row.ownerSeenAt !== null && row.ownerSeenAt <= now - this.#ownerTimeoutMs;
  }

  /** Claims a free key for one request, held by this store until `leaseUntil`; returns the claim. */
  insertKey(principal: string, key: string, fingerprint: string, now: number, leaseUntil: number): KeyClaim {
    const token = randomUUID();
    this.#stmt.insertKey.run(principal, key, fingerprint, now, token, this.#owner, leaseUntil);
    return { principal, key, token };
  }

  /** Stores the claim's response; false (nothing changed) when the key is no longer held by this claim. */
  completeKey(claim: KeyClaim, response: StoredResponse, now = Date.now()): boolean {
    const { changes } = this.#stmt.completeKey.run(
      response.status,
      JSON.stringify(response.headers),
      response.body,
      now,
      claim.principal,
      claim.key,
      claim.token,
    );
    return changes === 1;
  }

  /** Frees the key if this claim still holds it; a stored response or another request's claim stays. */
  releaseKey(claim: KeyClaim): void {
    this.#stmt.releaseKey.run(claim.principal, claim.key, claim.token);
  }

  /** Deletes a key whatever its state (admission replaces an expired or abandoned one with it). */
  deleteKey(principal: string, key: string): void {
    this.#stmt.deleteKey.run(principal, key);
  }

  /** Whether any key of `principal` is stored (used for the unscoped keys of older files). */
  hasKeysOf(principal: string): boolean {
    return this.#stmt.hasKeysOf.get(principal)!.found === 1;
  }

  /**
   * Deletes stored responses completed at or before `cutoff` and claims abandoned by `now` (lease run out, or
   * owner dead: see ownerIsDead), and forgets dead owners; returns how many keys went. A claim within its lease
   * whose owner is alive is never purged, however old, as its request may still complete.
   */
  purgeKeys(cutoff: number, now: number): number {
    const deadSince = now - this.#ownerTimeoutMs;
    return this.transaction(() => {
      const purged =
        this.#stmt.purgeDoneKeys.run(cutoff).changes +
        this.#stmt.purgeAbandonedKeys.run(now).changes +
        this.#stmt.purgeDeadOwnersKeys.run(deadSince, this.#owner).changes;
      // In the same transaction as their keys, so no claim is left whose owner's death is no longer on record.
      this.#stmt.forgetDeadOwners.run(deadSince, this.#owner);
      return purged;
    });
  }

  /**
   * Brings the file to SCHEMA_VERSION in one immediate transaction, so a second process opening the same
   * file waits and then finds the work done. A file from a newer server is refused rather than damaged.
   */
  #migrate(): void {
    const db = this.#db;
    db.transaction(() => {
      const version = this.#checkVersion();
      if (version === 0) db.exec(SCHEMA_V0);
      for (let step = version; step < SCHEMA_VERSION; step++) db.exec(MIGRATIONS[step]!);
      if (version !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  }

  /** The file's schema version; a file from a newer server is refused. */
  #checkVersion(): number {
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`${this.#db.name} has schema version ${version}; this server knows up to ${SCHEMA_VERSION}.`);
    }
    return version;
  }

  get open(): boolean {
    return this.#db.open;
  }

  close(): void {
    if (!this.#db.open) return;
    clearInterval(this.#heartbeat);
    // Requests still holding keys of this store can no longer complete (their effect would need this
    // connection), so their keys are freed for the client's retry now instead of when their lease runs out.
    try {
      this.transaction(() => {
        this.#stmt.releaseOwnKeys.run(this.#owner);
        this.#stmt.forgetOwner.run(this.#owner);
      });
    } finally {
      this.#db.close();
    }
  }
}

/** About what an entity row takes in a feed page: its stored JSON, its id and the item's fixed fields. */
function storedBytes(row: EntityRow): number {
  return Buffer.byteLength(row.data ?? '') + Buffer.byteLength(row.id) + 64;
}

function toEntity(row: EntityRow): Entity {
  return {
    id: row.id,
    version: row.version,
    data: row.data === null ? null : JSON.parse(row.data),
    deleted: row.deleted === 1,
  };
}
