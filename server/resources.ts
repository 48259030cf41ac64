// The versioned-resource rules (create, replace, tombstone, changes feed) as synchronous functions over the store.
import { randomUUID } from 'node:crypto';
import type { Entity, Store, WriteOrigin } from './db.ts';
import { ApiError, checkId, etag, ifMatchAllows, jsonResult, type ApiResult, type IfMatch } from './http.ts';

export function getEntity(store: Store, collection: string, id: string): ApiResult {
  const entity = store.getEntity(collection, id);
  if (!entity) throw notFound(collection, id);
  return jsonResult(200, entity, { etag: etag(entity.version) });
}

/**
 * The version an entity's next write gets. Versions keep counting through a tombstone, and past a purged
 * one too (from the collection's purge horizon), so an ETag handed out before never matches again.
 */
function nextVersion(store: Store, collection: string, current: Entity | undefined): number {
  return (current?.version ?? store.purgeHorizon(collection).version) + 1;
}

/** POST: a new entity. A tombstoned id may be reused; its version keeps counting so old ETags never match again. */
export function createEntity(
  store: Store,
  collection: string,
  data: Record<string, unknown>,
  location: (id: string) => string,
  origin: WriteOrigin,
): ApiResult {
  // Only an absent id means "pick one": any other id that is not a valid one is refused, not replaced.
  const id = 'id' in data ? checkId(data['id']) : randomUUID();
  const current = store.getEntity(collection, id);
  if (current && !current.deleted) {
    throw new ApiError(
      409,
      'exists',
      `${collection}/${id} already exists.`,
      { current },
      { etag: etag(current.version) },
    );
  }
  const entity = store.writeEntity(
    collection,
    { id, version: nextVersion(store, collection, current), data, deleted: false },
    origin,
  );
  return jsonResult(201, entity, { etag: etag(entity.version), location: location(id) });
}

/**
 * PUT: replaces the data (creating the entity when absent), guarded by If-Match when given, and by If-None-Match
 * (`*`: only when there is none, the create of a client that has no copy; tags: unless it is one of those versions).
 */
export function putEntity(
  store: Store,
  collection: string,
  id: string,
  data: Record<string, unknown>,
  { ifMatch, ifNoneMatch }: { ifMatch: IfMatch | null; ifNoneMatch?: IfMatch | null },
  location: (id: string) => string,
  origin: WriteOrigin,
): ApiResult {
  const current = store.getEntity(collection, id);
  checkPrecondition(current, ifMatch);
  // A deleted entity has no current representation (RFC 9110 13.1.2): `*` lets a create through over its tombstone.
  // A tag names a version, the tombstone's included, as for If-Match: `If-None-Match: "2"` refuses a tombstone at 2.
  if (ifNoneMatch && current && (ifNoneMatch.any ? !current.deleted : ifMatchAllows(ifNoneMatch, current.version)))
    throw preconditionFailed(current);
  const entity = store.writeEntity(
    collection,
    { id, version: nextVersion(store, collection, current), data, deleted: false },
    origin,
  );
  const created = !current || current.deleted;
  return jsonResult(
    created ? 201 : 200,
    entity,
    created ? { etag: etag(entity.version), location: location(id) } : { etag: etag(entity.version) },
  );
}

/** DELETE: leaves a tombstone so pulling clients learn of the deletion. Deleting a tombstone changes nothing. */
export function deleteEntity(
  store: Store,
  collection: string,
  id: string,
  ifMatch: IfMatch | null,
  origin: WriteOrigin,
): ApiResult {
  const current = store.getEntity(collection, id);
  if (!current) throw notFound(collection, id);
  checkPrecondition(current, ifMatch);
  if (current.deleted) return jsonResult(200, current, { etag: etag(current.version) });
  const entity = store.writeEntity(collection, { id, version: current.version + 1, data: null, deleted: true }, origin);
  return jsonResult(200, entity, { etag: etag(entity.version) });
}

export interface ChangesPage {
  items: Entity[];
  cursor: string;
  hasMore: boolean;
}

/**
 * One page of the changes feed: each changed entity once, in its latest state, in order of its last write;
 * at most `pageSize` entities and, past the first, `pageBytes` of entity data (see Store.changesSince).
 */
export function listChanges(
  store: Store,
  collection: string,
  since: string | undefined,
  pageSize: number,
  pageBytes: number,
): ChangesPage {
  // An empty since (a client that has no cursor yet) means the start, like a missing one. A cursor is the seq of
  // the last change it covers, followed by `.<horizon>` when that is below the purge horizon it was handed out under.
  const parsed = since ? /^(\d{1,15})(?:\.(\d{1,15}))?$/.exec(since) : null;
  if (since !== undefined && since !== '' && !parsed) {
    throw new ApiError(400, 'bad-cursor', 'since must be a cursor returned by this feed.');
  }
  const from = parsed ? Number(parsed[1]) : 0;
  const issuedUnder = parsed?.[2] !== undefined ? Number(parsed[2]) : 0;
  // One snapshot: a purge by another process on the same file between the horizon check and the page would
  // take a deletion out of the page that the check let through.
  return store.read(() => {
    // Tombstones past their retention are gone. A cursor below the newest purged one may have missed a deletion,
    // unless it was handed out after that purge (by a pull that began after it, so never saw the entity or sees it
    // missing from a full pull): then the client must pull from scratch instead of trusting an incomplete page.
    const horizon = store.purgeHorizon(collection).seq;
    if (from > 0 && from < horizon && issuedUnder < horizon) {
      throw new ApiError(
        410,
        'cursor-expired',
        'This cursor is older than the deletions this server still keeps; pull again from the start, without since.',
      );
    }
    // A cursor past every change this database has, or handed out under a horizon this one has not reached (a
    // horizon never goes down): it came from another database (reset, or restored from a backup). Answering it
    // with empty pages would hide every change until the sequence caught up with it.
    if (from > store.lastChangeSeq() || issuedUnder > horizon) {
      throw new ApiError(
        410,
        'cursor-unknown',
        'This cursor is ahead of every change this server has (its data was reset or restored); pull again from the start, without since.',
      );
    }
    const { changes, hasMore } = store.changesSince(collection, from, pageSize, pageBytes);
    const last = changes[changes.length - 1];
    const at = last ? last.seq : from;
    return { items: changes.map((r) => r.entity), cursor: at < horizon ? `${at}.${horizon}` : String(at), hasMore };
  });
}

function checkPrecondition(current: Entity | undefined, ifMatch: IfMatch | null): void {
  if (!ifMatch) return;
  // `*` asks for a current representation (RFC 9110 13.1.1), which a deleted entity does not have: it must not
  // bring one back. A tag names a version, the tombstone's included.
  const ok = current !== undefined && (ifMatch.any ? !current.deleted : ifMatchAllows(ifMatch, current.version));
  if (ok) return;
  throw preconditionFailed(current);
}

/** The 412 of a write whose precondition failed, with the entity as it is (or null), so the client can settle. */
function preconditionFailed(current: Entity | undefined): ApiError {
  return new ApiError(
    412,
    'precondition-failed',
    current ? `The current version is ${current.version}.` : 'The resource does not exist.',
    { current: current ?? null },
    current ? { etag: etag(current.version) } : {},
  );
}

function notFound(collection: string, id: string): ApiError {
  return new ApiError(404, 'not-found', `${collection}/${id} does not exist.`);
}
