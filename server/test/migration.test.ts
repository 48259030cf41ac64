// A SQLite file written by an older server is migrated in place on start and keeps working, restarts included.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { OWNER_TIMEOUT_MS, SCHEMA_VERSION, Store } from '../db.ts';
import { ApiError } from '../http.ts';
import { IdempotencyKeys, requestFingerprint } from '../idempotency.ts';
import { call, changeLog, jsonInit, startServer } from './helpers.ts';

// The schema and rows exactly as the first released server wrote them (user_version 0, keys not scoped).
const OLD_SCHEMA = `
CREATE TABLE changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, collection TEXT NOT NULL, id TEXT NOT NULL,
  version INTEGER NOT NULL, deleted INTEGER NOT NULL, at INTEGER NOT NULL
);
CREATE TABLE entities (
  collection TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, data TEXT,
  deleted INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (collection, id)
) WITHOUT ROWID;
CREATE INDEX entities_by_seq ON entities (collection, seq);
CREATE TABLE idempotency_keys (
  key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('processing', 'done')), created_at INTEGER NOT NULL,
  status INTEGER, headers TEXT, body TEXT
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
`;

const OLD_BODY = JSON.stringify({ title: 'from the old server' });
const OLD_ENTITY = { id: 'a', version: 1, data: { title: 'from the old server' }, deleted: false };

function writeOldFile(file: string): void {
  mkdirSync(join(file, '..'), { recursive: true });
  const db = new Database(file);
  try {
    db.exec(OLD_SCHEMA);
    const now = Date.now();
    db.prepare('INSERT INTO changes (collection, id, version, deleted, at) VALUES (?, ?, 1, 0, ?)').run(
      'legacy',
      'a',
      now,
    );
    db.prepare('INSERT INTO entities VALUES (?, ?, 1, ?, 0, 1, ?)').run(
      'legacy',
      'a',
      JSON.stringify(OLD_ENTITY.data),
      now,
    );
    const digest = createHash('sha256').update(OLD_BODY).digest('hex');
    db.prepare(`INSERT INTO idempotency_keys VALUES (?, ?, 'done', ?, 201, ?, ?)`).run(
      'old-key',
      `PUT /api/legacy/a sha256:${digest}`,
      now,
      JSON.stringify({ 'content-type': 'application/json', etag: '"1"', location: '/api/legacy/a' }),
      JSON.stringify(OLD_ENTITY),
    );
    db.prepare(
      `INSERT INTO idempotency_keys VALUES ('stuck', 'PUT /api/legacy/b sha256:0', 'processing', ?, NULL, NULL, NULL)`,
    ).run(now);
  } finally {
    db.close();
  }
}

function userVersion(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

describe('an old SQLite file', () => {
  let dir: string;
  let file: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'syncline-migration-test-'));
    file = join(dir, 'db', 'old.sqlite');
    writeOldFile(file);
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('is migrated in place: data, cursors and stored keys still answer', async () => {
    const t = await startServer({}, file);
    try {
      assert.equal(userVersion(file), SCHEMA_VERSION);
      assert.deepEqual((await call(`${t.api}/legacy/a`)).body, OLD_ENTITY);
      assert.deepEqual((await call(`${t.api}/legacy`)).body.items, [OLD_ENTITY]);

      // A key stored before scoping existed has no known owner: it still replays, for whoever sends it.
      const init = (token: string) =>
        jsonInit('PUT', OLD_BODY, { 'idempotency-key': '"old-key"', authorization: `Bearer ${token}` });
      for (const token of ['alice', 'bob']) {
        const replay = await call(`${t.api}/legacy/a`, init(token));
        assert.equal(replay.status, 201, token);
        assert.equal(replay.headers.get('idempotent-replayed'), 'true');
        assert.equal(replay.headers.get('etag'), '"1"');
        assert.deepEqual(replay.body, OLD_ENTITY);
      }
      // A key left processing by the old process is gone, not a 409 forever.
      assert.equal(
        (await call(`${t.api}/legacy/b`, jsonInit('PUT', {}, { 'idempotency-key': '"stuck"' }))).status,
        201,
      );

      const fresh = await call(
        `${t.api}/legacy/c`,
        jsonInit('PUT', { n: 1 }, { 'idempotency-key': '"new-key"', authorization: 'Bearer alice' }),
      );
      assert.equal(fresh.status, 201);
      const other = await call(
        `${t.api}/legacy/c`,
        jsonInit('PUT', { n: 2 }, { 'idempotency-key': '"new-key"', authorization: 'Bearer bob' }),
      );
      assert.equal(other.status, 200, 'new keys are scoped per principal');
    } finally {
      await t.stop();
    }
  });

  test('opens again after the migration, unchanged', async () => {
    const t = await startServer({}, file);
    try {
      assert.equal(userVersion(file), SCHEMA_VERSION);
      assert.deepEqual(
        (await changeLog(t.api, 'legacy')).map((c) => [c.id, c.version, c.principal, c.idempotencyKey]),
        [
          ['a', 1, null, null], // written by the old server, which kept no origins
          ['b', 1, 'anonymous', 'stuck'],
          ['c', 1, 'bearer:alice', 'new-key'],
          ['c', 2, 'bearer:bob', 'new-key'],
        ],
      );
      const replay = await call(
        `${t.api}/legacy/c`,
        jsonInit('PUT', { n: 1 }, { 'idempotency-key': '"new-key"', authorization: 'Bearer alice' }),
      );
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.equal(replay.body.version, 1);
    } finally {
      await t.stop();
    }
  });

  test('a file from a newer server is refused, not damaged', async () => {
    const newer = join(dir, 'db', 'newer.sqlite');
    const db = new Database(newer);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    await assert.rejects(startServer({}, newer), /schema version/);
    assert.equal(userVersion(newer), SCHEMA_VERSION + 1);
    const db2 = new Database(newer, { readonly: true });
    assert.equal(db2.pragma('journal_mode', { simple: true }), 'delete', 'not even switched to WAL');
    db2.close();
  });
});

// The schema exactly as version 4 left it: keys scoped per principal, claims naming their owner and a lease,
// and no record of which owners are alive.
const V4_SCHEMA = `
CREATE TABLE changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, collection TEXT NOT NULL, id TEXT NOT NULL,
  version INTEGER NOT NULL, deleted INTEGER NOT NULL, at INTEGER NOT NULL, principal TEXT, idempotency_key TEXT
);
CREATE TABLE entities (
  collection TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, data TEXT,
  deleted INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (collection, id)
) WITHOUT ROWID;
CREATE INDEX entities_by_seq ON entities (collection, seq);
CREATE TABLE idempotency_keys (
  principal TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('processing', 'done')), created_at INTEGER NOT NULL,
  status INTEGER, headers TEXT, body TEXT, claim TEXT, owner TEXT, lease_until INTEGER, completed_at INTEGER,
  PRIMARY KEY (principal, key)
) WITHOUT ROWID;
CREATE INDEX entities_tombstones_by_age ON entities (updated_at) WHERE deleted = 1;
CREATE TABLE purge_horizons (
  collection TEXT PRIMARY KEY, seq INTEGER NOT NULL, version INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_done_by_age ON idempotency_keys (completed_at) WHERE state = 'done';
CREATE INDEX idempotency_keys_processing_by_lease ON idempotency_keys (lease_until) WHERE state = 'processing';
PRAGMA user_version = 4;
`;

const fingerprintOf = (target: string, body: string) =>
  requestFingerprint('PUT', target, new TextEncoder().encode(body));

/**
 * A version 4 file with a stored response, a claim held by a version 4 server still running on the file
 * (its lease runs another minute) and a claim whose lease ran out.
 */
function writeV4File(file: string, now: number): void {
  mkdirSync(join(file, '..'), { recursive: true });
  const db = new Database(file);
  try {
    db.exec(V4_SCHEMA);
    db.prepare(
      `INSERT INTO changes (collection, id, version, deleted, at, principal, idempotency_key)
       VALUES ('legacy', 'a', 1, 0, ?, 'bearer:alice', 'done-key')`,
    ).run(now);
    db.prepare(`INSERT INTO entities VALUES ('legacy', 'a', 1, ?, 0, 1, ?)`).run(JSON.stringify(OLD_ENTITY.data), now);
    const insertKey = db.prepare(
      `INSERT INTO idempotency_keys VALUES ('bearer:alice', @key, @fingerprint, @state, @createdAt, @status,
         @headers, @body, @claim, @owner, @leaseUntil, @completedAt)`,
    );
    const none = {
      status: null,
      headers: null,
      body: null,
      claim: null,
      owner: null,
      leaseUntil: null,
      completedAt: null,
    };
    insertKey.run({
      ...none,
      key: 'done-key',
      fingerprint: fingerprintOf('/api/legacy/a', OLD_BODY),
      state: 'done',
      createdAt: now,
      status: 201,
      headers: JSON.stringify({ 'content-type': 'application/json', etag: '"1"', location: '/api/legacy/a' }),
      body: JSON.stringify(OLD_ENTITY),
      completedAt: now,
    });
    insertKey.run({
      ...none,
      key: 'held-key',
      fingerprint: fingerprintOf('/api/legacy/b', '{}'),
      state: 'processing',
      createdAt: now,
      claim: 'c1',
      owner: 'v4-server',
      leaseUntil: now + 60_000,
    });
    insertKey.run({
      ...none,
      key: 'lapsed-key',
      fingerprint: fingerprintOf('/api/legacy/c', '{}'),
      state: 'processing',
      createdAt: now - 120_000,
      claim: 'c0',
      owner: 'v4-gone',
      leaseUntil: now - 60_000,
    });
  } finally {
    db.close();
  }
}

describe('a file of schema version 4', () => {
  let dir: string;
  let file: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'syncline-migration-v4-test-'));
    file = join(dir, 'db', 'v4.sqlite');
    writeV4File(file, Date.now());
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('is migrated in place: its keys answer as before, and a store that stops on it loses its claims', async () => {
    assert.equal(userVersion(file), 4);
    const t = await startServer({}, file);
    try {
      assert.equal(userVersion(file), SCHEMA_VERSION);
      const alice = { authorization: 'Bearer alice' };
      const replay = await call(
        `${t.api}/legacy/a`,
        jsonInit('PUT', OLD_BODY, { ...alice, 'idempotency-key': 'done-key' }),
      );
      assert.equal(replay.status, 201);
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(replay.body, OLD_ENTITY);
      // The older server still running on the file keeps its claim for its lease: it is on no record of owners.
      const held = await call(`${t.api}/legacy/b`, jsonInit('PUT', '{}', { ...alice, 'idempotency-key': 'held-key' }));
      assert.equal(held.status, 409);
      assert.equal(held.body.error, 'in-progress');
      const lapsed = await call(
        `${t.api}/legacy/c`,
        jsonInit('PUT', '{}', { ...alice, 'idempotency-key': 'lapsed-key' }),
      );
      assert.equal(lapsed.status, 201);
    } finally {
      await t.stop();
    }

    const t0 = Date.now();
    // Its clock stands still, so its record ages as a crashed process's does.
    const stopped = new Store(file, { clock: () => t0 });
    const survivor = new Store(file);
    try {
      const fingerprint = fingerprintOf('/api/legacy/d', '{}');
      new IdempotencyKeys(stopped, 60_000).admit('bearer:alice', 'stopped-key', fingerprint, 0, t0);
      const keys = new IdempotencyKeys(survivor, 60_000);
      const later = t0 + OWNER_TIMEOUT_MS;
      assert.equal(keys.admit('bearer:alice', 'stopped-key', fingerprint, 0, later).kind, 'new');
      assert.throws(
        () => keys.admit('bearer:alice', 'held-key', fingerprintOf('/api/legacy/b', '{}'), 0, later),
        (err: unknown) => err instanceof ApiError && err.code === 'in-progress',
        "the older server's claim still holds",
      );
    } finally {
      survivor.close();
      stopped.close();
    }
  });
});
