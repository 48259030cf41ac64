// SQLite storage for the sync server: schema and its migrations, prepared statements, the row ↔ entity mapping.
import Database from 'better-sqlite3';
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
  response: StoredResponse | null;
}

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
];

/** The schema version this code writes (SQLite `user_version`). */
export const SCHEMA_VERSION = MIGRATIONS.length;

export class Store {
  readonly #db: Database.Database;
  readonly #stmt;

  constructor(file: string) {
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
    // Nothing can still be processing after a restart; leaving such keys would answer 409 forever.
    this.#db.prepare(`DELETE FROM idempotency_keys WHERE state = 'processing'`).run();
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
      getKey: db.prepare<[string, string], KeyRow>('SELECT * FROM idempotency_keys WHERE principal = ? AND key = ?'),
      insertKey: db.prepare<[string, string, string, number]>(
        `INSERT INTO idempotency_keys (principal, key, fingerprint, state, created_at) VALUES (?, ?, ?, 'processing', ?)`,
      ),
      completeKey: db.prepare<[number, string, string, string, string]>(
        `UPDATE idempotency_keys SET state = 'done', status = ?, headers = ?, body = ? WHERE principal = ? AND key = ?`,
      ),
      deleteKey: db.prepare<[string, string]>('DELETE FROM idempotency_keys WHERE principal = ? AND key = ?'),
      purgeKeys: db.prepare<[number]>('DELETE FROM idempotency_keys WHERE created_at <= ?'),
      hasKeysOf: db.prepare<[string], { found: number }>(
        'SELECT EXISTS (SELECT 1 FROM idempotency_keys WHERE principal = ?) AS found',
      ),
    };
  }

  /** Runs `fn` in one immediate transaction: it all lands or none of it does. */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn).immediate();
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

  /** What purging took from a collection: zeros when nothing was ever purged from it. */
  purgeHorizon(collection: string): PurgeHorizon {
    return this.#stmt.getHorizon.get(collection) ?? { seq: 0, version: 0 };
  }

  /** Current state of entities whose last write is after `since`, oldest write first. */
  changesSince(collection: string, since: number, limit: number): Array<{ entity: Entity; seq: number }> {
    return this.#stmt.changesSince
      .all(collection, since, limit)
      .map((row) => ({ entity: toEntity(row), seq: row.seq }));
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
      response,
    };
  }

  insertKey(principal: string, key: string, fingerprint: string, now: number): void {
    this.#stmt.insertKey.run(principal, key, fingerprint, now);
  }

  completeKey(principal: string, key: string, response: StoredResponse): void {
    this.#stmt.completeKey.run(response.status, JSON.stringify(response.headers), response.body, principal, key);
  }

  deleteKey(principal: string, key: string): void {
    this.#stmt.deleteKey.run(principal, key);
  }

  /** Whether any key of `principal` is stored (used for the unscoped keys of older files). */
  hasKeysOf(principal: string): boolean {
    return this.#stmt.hasKeysOf.get(principal)!.found === 1;
  }

  /** Deletes keys created at or before `cutoff`; returns how many went. */
  purgeKeysCreatedBefore(cutoff: number): number {
    return this.#stmt.purgeKeys.run(cutoff).changes;
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
    if (this.#db.open) this.#db.close();
  }
}

function toEntity(row: EntityRow): Entity {
  return {
    id: row.id,
    version: row.version,
    data: row.data === null ? null : JSON.parse(row.data),
    deleted: row.deleted === 1,
  };
}
