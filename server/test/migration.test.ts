// A SQLite file written by an older server is migrated in place on start and keeps working, restarts included.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { SCHEMA_VERSION } from '../db.ts';
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
