// SQLite storage for the sync server: schema, prepared statements and the row ↔ entity mapping.
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
  key: string;
  fingerprint: string;
  state: 'processing' | 'done';
  createdAt: number;
  response: StoredResponse | null;
}

export interface ChangeLogEntry {
  seq: number;
  collection: string;
  id: string;
  version: number;
  deleted: boolean;
  at: number;
}

interface EntityRow {
  id: string;
  version: number;
  data: string | null;
  deleted: number;
  seq: number;
}

interface KeyRow {
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
}

// `changes` is the append-only write history; its autoincrement key is the global change sequence, so a
// sequence number is never reused even after rows are gone. `entities.seq` points at the entity's last write.
const SCHEMA = `
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

export class Store {
  readonly #db: Database.Database;
  readonly #stmt;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    // Another process (a second dev server on the same file) waits instead of failing at once.
    this.#db.pragma('busy_timeout = 5000');
    this.#db.exec(SCHEMA);
    // Nothing can still be processing after a restart; leaving such keys would answer 409 forever.
    this.#db.prepare(`DELETE FROM idempotency_keys WHERE state = 'processing'`).run();
    const db = this.#db;
    this.#stmt = {
      getEntity: db.prepare<[string, string], EntityRow>(
        'SELECT id, version, data, deleted, seq FROM entities WHERE collection = ? AND id = ?'),
      appendChange: db.prepare<[string, string, number, number, number]>(
        'INSERT INTO changes (collection, id, version, deleted, at) VALUES (?, ?, ?, ?, ?)'),
      upsertEntity: db.prepare<[string, string, number, string | null, number, number | bigint, number]>(
        `INSERT INTO entities (collection, id, version, data, deleted, seq, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (collection, id) DO UPDATE SET
           version = excluded.version, data = excluded.data, deleted = excluded.deleted,
           seq = excluded.seq, updated_at = excluded.updated_at`),
      changesSince: db.prepare<[string, number, number], EntityRow>(
        'SELECT id, version, data, deleted, seq FROM entities WHERE collection = ? AND seq > ? ORDER BY seq LIMIT ?'),
      changeLog: db.prepare<[number, number], ChangeRow>(
        'SELECT seq, collection, id, version, deleted, at FROM changes WHERE seq > ? ORDER BY seq LIMIT ?'),
      changeLogOf: db.prepare<[string, number, number], ChangeRow>(
        'SELECT seq, collection, id, version, deleted, at FROM changes WHERE collection = ? AND seq > ? ORDER BY seq LIMIT ?'),
      getKey: db.prepare<[string], KeyRow>('SELECT * FROM idempotency_keys WHERE key = ?'),
      insertKey: db.prepare<[string, string, number]>(
        `INSERT INTO idempotency_keys (key, fingerprint, state, created_at) VALUES (?, ?, 'processing', ?)`),
      completeKey: db.prepare<[number, string, string, string]>(
        `UPDATE idempotency_keys SET state = 'done', status = ?, headers = ?, body = ? WHERE key = ?`),
      deleteKey: db.prepare<[string]>('DELETE FROM idempotency_keys WHERE key = ?'),
      purgeKeys: db.prepare<[number]>('DELETE FROM idempotency_keys WHERE created_at <= ?'),
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
  writeEntity(collection: string, entity: Entity, now = Date.now()): Entity {
    const deleted = entity.deleted ? 1 : 0;
    const { lastInsertRowid: seq } = this.#stmt.appendChange.run(collection, entity.id, entity.version, deleted, now);
    const data = entity.deleted ? null : JSON.stringify(entity.data);
    this.#stmt.upsertEntity.run(collection, entity.id, entity.version, data, deleted, seq, now);
    return { ...entity, data: entity.deleted ? null : entity.data };
  }

  /** Current state of entities whose last write is after `since`, oldest write first. */
  changesSince(collection: string, since: number, limit: number): Array<{ entity: Entity; seq: number }> {
    return this.#stmt.changesSince.all(collection, since, limit).map((row) => ({ entity: toEntity(row), seq: row.seq }));
  }

  /** The full write history (every version, not only the latest), for tests that check order and counts. */
  changeLog(since: number, limit: number, collection?: string): ChangeLogEntry[] {
    const rows = collection === undefined
      ? this.#stmt.changeLog.all(since, limit)
      : this.#stmt.changeLogOf.all(collection, since, limit);
    return rows.map((r) => ({ seq: r.seq, collection: r.collection, id: r.id, version: r.version, deleted: r.deleted === 1, at: r.at }));
  }

  getKey(key: string): IdempotencyRow | undefined {
    const row = this.#stmt.getKey.get(key);
    if (!row) return undefined;
    const response = row.state === 'done' && row.status !== null
      ? { status: row.status, headers: JSON.parse(row.headers ?? '{}') as Record<string, string>, body: row.body ?? '' }
      : null;
    return { key: row.key, fingerprint: row.fingerprint, state: row.state, createdAt: row.created_at, response };
  }

  insertKey(key: string, fingerprint: string, now: number): void {
    this.#stmt.insertKey.run(key, fingerprint, now);
  }

  completeKey(key: string, response: StoredResponse): void {
    this.#stmt.completeKey.run(response.status, JSON.stringify(response.headers), response.body, key);
  }

  deleteKey(key: string): void {
    this.#stmt.deleteKey.run(key);
  }

  /** Deletes keys created at or before `cutoff`; returns how many went. */
  purgeKeysCreatedBefore(cutoff: number): number {
    return this.#stmt.purgeKeys.run(cutoff).changes;
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
