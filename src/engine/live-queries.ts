// Live queries over the engine: a snapshot lined up exactly with the change stream, then only what changed.
import { Subscription, type Observable } from 'rxjs';
import { SynclineErrorCode, serializeError, type SerializedError, type SynclineError } from '../errors.ts';
import type {
  CollectionStatus,
  Conflict,
  DirtyEntity,
  EngineStatus,
  EntityRecord,
  Operation,
  OperationFilter,
  OperationResult,
  OperationWindow,
  Rollback,
} from '../types.ts';
import type { EntityBatch } from './background.ts';
import type { ChangeBatch, SyncEngine } from './engine.ts';
import { isEmptyFilter, matchesFilter } from './filter.ts';
import { validateFilter, validateRange } from './filter-check.ts';

/** What a tab may watch (mirrors the RPC topics). */
export type LiveQuery =
  | { topic: 'ops'; filter: OperationFilter }
  | { topic: 'count'; filter: OperationFilter }
  | { topic: 'window'; filter: OperationFilter; offset: number; limit: number }
  | { topic: 'status' }
  | { topic: 'result'; id: string }
  /** Background Sync: a collection's visible entities, its status, every open conflict, rollbacks as they happen. */
  | { topic: 'entities'; collection: string }
  | { topic: 'collection-status'; collection: string }
  | { topic: 'conflicts' }
  /** Entities with unpushed edits over every collection (keys are `collection/id`). */
  | { topic: 'dirty' }
  | { topic: 'rollbacks' };

export type LiveEvent =
  | { type: 'ops-reset'; ops: Operation[] }
  | { type: 'ops-changes'; upserts: Operation[]; removes: string[] }
  | { type: 'count'; value: number }
  | { type: 'window'; window: OperationWindow }
  | { type: 'status'; status: EngineStatus }
  | { type: 'result'; result: OperationResult }
  /** `requestOut`: discarded while its request was out, so the server may apply it all the same. */
  | { type: 'discarded'; requestOut?: boolean }
  | { type: 'not-found' }
  | { type: 'entities-reset'; entities: EntityRecord[] }
  | { type: 'entities-changes'; upserts: EntityRecord[]; removes: string[] }
  | { type: 'collection-status'; status: CollectionStatus }
  | { type: 'conflicts-reset'; conflicts: Conflict[] }
  | { type: 'conflicts-changes'; upserts: Conflict[]; removes: string[] }
  | { type: 'dirty-reset'; entities: DirtyEntity[] }
  | { type: 'dirty-changes'; upserts: DirtyEntity[]; removes: string[] }
  | { type: 'rollback'; rollback: Rollback }
  /** The query cannot be answered (a bad filter, a failed read): the last event, the tab's stream errors with it. */
  | { type: 'error'; error: SerializedError };

/**
 * Calls `fn` with the latest value `ms` after the first one that passes `test`, then waits for the next: rxjs's
 * `auditTime`, without the scheduler classes that made up half of the worker's rxjs.
 */
function trailing<T>(source: Observable<T>, ms: number, fn: (value: T) => void, test?: (value: T) => boolean) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let latest: T;
  const subscription = source.subscribe((value) => {
    if (test && !test(value)) return;
    latest = value;
    timer ??= setTimeout(() => {
      timer = undefined;
      fn(latest);
    }, ms);
  });
  subscription.add(() => clearTimeout(timer));
  return subscription;
}

/** Starts a live query; the subscription ends it. A query that cannot be answered ends with an `error` event. */
export function subscribeLive(engine: SyncEngine, query: LiveQuery, emit: (event: LiveEvent) => void): Subscription {
  const subscription = new Subscription();
  try {
    // Filters and ranges come from tabs: checked once here, so every read and every change batch sees a clean one.
    if (query.topic === 'ops' || query.topic === 'count') query = { ...query, filter: validateFilter(query.filter) };
    if (query.topic === 'window')
      query = { ...query, filter: validateFilter(query.filter), ...validateRange(query.offset, query.limit) };
  } catch (error) {
    emit({ type: 'error', error: serializeError(error) });
    return subscription;
  }
  switch (query.topic) {
    case 'status':
      // Status moves on every settled request; a frame's worth of updates is plenty for a widget.
      subscription.add(trailing(engine.status$, 16, (status) => emit({ type: 'status', status })));
      emit({ type: 'status', status: engine.status });
      return subscription;
    case 'result':
      return watchResult(engine, query.id, emit, subscription);
    case 'window':
      return watchWindow(engine, query, emit, subscription);
    case 'count':
      if (isEmptyFilter({ ...query.filter, status: undefined })) {
        // Status-only (or no) filters are answered from the engine's own counts: the same numbers `status.counts`
        // shows, taken after every change, so a count and the status never disagree once both have settled.
        const read = () => countFromStatus(engine, query.filter);
        let count = read();
        emit({ type: 'count', value: count });
        subscription.add(
          engine.changes$.subscribe(() => {
            const next = read();
            if (next !== count) emit({ type: 'count', value: (count = next) });
          }),
        );
        return subscription;
      }
      return watchSnapshot(engine, query, emit, subscription);
    case 'ops':
      return watchSnapshot(engine, query, emit, subscription);
    case 'entities':
      return watchEntities(engine, query.collection, emit, subscription);
    case 'conflicts':
      return watchConflicts(engine, emit, subscription);
    case 'dirty':
      return watchDirty(engine, emit, subscription);
    case 'collection-status': {
      let last = '';
      const send = () => {
        const status = engine.collectionStatus(query.collection);
        const key = JSON.stringify(status);
        if (key !== last) emit({ type: 'collection-status', status: JSON.parse((last = key)) as CollectionStatus });
      };
      send();
      subscription.add(trailing(engine.status$, 16, send));
      return subscription;
    }
    case 'rollbacks':
      subscription.add(engine.rollbacks$.subscribe((rollback) => emit({ type: 'rollback', rollback })));
      return subscription;
  }
}

/**
 * The same snapshot rule for the replica: read at a known change number, then only later batches. A read that
 * fails ends the query with an `error` event, like the queue's.
 */
function watchReplica<T>(
  engine: SyncEngine,
  emit: (event: LiveEvent) => void,
  read: () => Promise<T[]>,
  reset: (items: T[]) => void,
  apply: (batch: EntityBatch) => void,
  subscription: Subscription,
): Subscription {
  let buffer: EntityBatch[] | null = [];
  subscription.add(engine.entityChanges$.subscribe((batch) => (buffer ? buffer.push(batch) : apply(batch))));
  const mark = engine.writeSeq;
  read().then(
    (items) => {
      reset(items);
      const pending = buffer ?? [];
      buffer = null;
      for (const batch of pending) if (batch.seq > mark) apply(batch);
    },
    (error: unknown) => fail(emit, subscription, error),
  );
  return subscription;
}

function watchEntities(
  engine: SyncEngine,
  collection: string,
  emit: (event: LiveEvent) => void,
  subscription: Subscription,
): Subscription {
  return watchReplica(
    engine,
    emit,
    () => engine.entities(collection),
    (entities) => emit({ type: 'entities-reset', entities }),
    (batch) => {
      const upserts = new Map<string, EntityRecord>();
      const removes = new Set<string>();
      for (const change of batch.changes) {
        if (change.collection !== collection) continue;
        if (change.next) {
          upserts.set(change.id, change.next);
          removes.delete(change.id);
        } else {
          removes.add(change.id);
          upserts.delete(change.id);
        }
      }
      if (upserts.size || removes.size)
        emit({ type: 'entities-changes', upserts: [...upserts.values()], removes: [...removes] });
    },
    subscription,
  );
}

function watchConflicts(
  engine: SyncEngine,
  emit: (event: LiveEvent) => void,
  subscription: Subscription,
): Subscription {
  return watchReplica(
    engine,
    emit,
    () => engine.conflicts(),
    (conflicts) => emit({ type: 'conflicts-reset', conflicts }),
    (batch) => {
      if (batch.conflicts.length === 0) return;
      emit({
        type: 'conflicts-changes',
        upserts: batch.conflicts.filter((c) => c.next).map((c) => c.next!),
        removes: batch.conflicts.filter((c) => !c.next).map((c) => c.id),
      });
    },
    subscription,
  );
}

function watchDirty(engine: SyncEngine, emit: (event: LiveEvent) => void, subscription: Subscription): Subscription {
  return watchReplica(
    engine,
    emit,
    () => engine.dirtyEntities(),
    (entities) => emit({ type: 'dirty-reset', entities }),
    (batch) => {
      const upserts = new Map<string, DirtyEntity>();
      const removes = new Set<string>();
      for (const change of batch.changes) {
        const key = `${change.collection}/${change.id}`;
        if (change.dirty) {
          upserts.set(key, change.dirty);
          removes.delete(key);
        } else {
          removes.add(key);
          upserts.delete(key);
        }
      }
      if (upserts.size || removes.size)
        emit({ type: 'dirty-changes', upserts: [...upserts.values()], removes: [...removes] });
    },
    subscription,
  );
}

function watchResult(
  engine: SyncEngine,
  id: string,
  emit: (event: LiveEvent) => void,
  subscription: Subscription,
): Subscription {
  let settled = false;
  const finish = (event: LiveEvent) => {
    if (settled) return;
    settled = true;
    emit(event);
  };
  subscription.add(
    engine.completions$.subscribe((c) => {
      if (c.id !== id) return;
      if ('discarded' in c) finish({ type: 'discarded', ...(c.requestOut ? { requestOut: true } : {}) });
      else finish({ type: 'result', result: c.result });
    }),
  );
  // Subscribed first, then read: a completion in between is seen by one or the other.
  void (async () => {
    const result = await engine.result(id);
    if (result) return finish({ type: 'result', result });
    if (!(await engine.has(id))) {
      // Done a moment ago and not yet recorded, or unknown: look once more after recording had its chance.
      await new Promise((r) => setTimeout(r, 50));
      const late = await engine.result(id);
      if (late) return finish({ type: 'result', result: late });
      if (!(await engine.has(id))) finish({ type: 'not-found' });
    }
  })().catch((error: unknown) => {
    // Unanswered, a failed read would leave the tab's settled() waiting for good.
    if (!settled) fail(emit, subscription, error);
  });
  return subscription;
}

function watchWindow(
  engine: SyncEngine,
  query: Extract<LiveQuery, { topic: 'window' }>,
  emit: (event: LiveEvent) => void,
  subscription: Subscription,
): Subscription {
  // Refreshes can overlap; only the newest one's answer may reach the tab.
  let latest = 0;
  const refresh = () => {
    const ticket = ++latest;
    return engine.window(query.filter, query.offset, query.limit).then(
      (window) => {
        if (ticket === latest && !subscription.closed) emit({ type: 'window', window });
      },
      (error: unknown) => fail(emit, subscription, error),
    );
  };
  subscription.add(
    trailing(
      engine.changes$,
      30,
      () => void refresh(),
      (batch) => relevant(batch, query.filter),
    ),
  );
  void refresh();
  return subscription;
}

/** A snapshot read at a known change number, then every later batch applied: the two line up exactly. */
function watchSnapshot(
  engine: SyncEngine,
  query: Extract<LiveQuery, { topic: 'ops' | 'count' }>,
  emit: (event: LiveEvent) => void,
  subscription: Subscription,
): Subscription {
  const filter = query.filter;
  let buffer: ChangeBatch[] | null = [];
  let count = 0;
  const apply = (batch: ChangeBatch) => {
    if (query.topic === 'count') {
      const delta = countDelta(batch, filter);
      if (delta !== 0) emit({ type: 'count', value: (count += delta) });
      return;
    }
    const upserts = new Map<string, Operation>();
    const removes = new Set<string>();
    for (const { prev, next } of batch.changes) {
      if (next && matchesFilter(next, filter)) {
        upserts.set(next.id, next);
        removes.delete(next.id);
      } else if (prev && matchesFilter(prev, filter)) {
        removes.add(prev.id);
        upserts.delete(prev.id);
      }
    }
    if (upserts.size || removes.size)
      emit({ type: 'ops-changes', upserts: [...upserts.values()], removes: [...removes] });
  };
  subscription.add(engine.changes$.subscribe((batch) => (buffer ? buffer.push(batch) : apply(batch))));
  // The read starts with the mark, at this change number: batches numbered after it are not in the snapshot. Both
  // wait for the queue's code, behind the calls made before (an enqueue's write is then in both, or in neither).
  let mark = 0;
  const snapshot = engine.withQueue(() => {
    mark = engine.writeSeq;
    return query.topic === 'count'
      ? engine.count(filter).then((value) => {
          count = value;
          emit({ type: 'count', value });
        })
      : engine.list(filter).then((ops) => emit({ type: 'ops-reset', ops }));
  });
  snapshot.then(
    () => {
      const pending = buffer ?? [];
      buffer = null;
      for (const batch of pending) if (batch.seq > mark) apply(batch);
    },
    (error: unknown) => fail(emit, subscription, error),
  );
  return subscription;
}

/**
 * Ends a live query whose read failed, telling the tab why: a stream that stops without a word would leave it
 * waiting for good. An engine closing says nothing: the tab re-subscribes to the engine that follows.
 */
function fail(emit: (event: LiveEvent) => void, subscription: Subscription, error: unknown): void {
  if (subscription.closed) return;
  subscription.unsubscribe();
  if ((error as SynclineError)?.code === SynclineErrorCode.Closed) return;
  emit({ type: 'error', error: serializeError(error) });
}

function relevant(batch: ChangeBatch, filter: OperationFilter): boolean {
  return batch.changes.some(
    (c) => (c.prev && matchesFilter(c.prev, filter)) || (c.next && matchesFilter(c.next, filter)),
  );
}

/** How a batch moves the number of operations matching `filter`. */
function countDelta(batch: ChangeBatch, filter: OperationFilter): number {
  let delta = 0;
  for (const { prev, next } of batch.changes)
    delta += Number(!!next && matchesFilter(next, filter)) - Number(!!prev && matchesFilter(prev, filter));
  return delta;
}

/** A count by status from the engine's counts; the filter is a validated one (known statuses, each once). */
function countFromStatus(engine: SyncEngine, filter: OperationFilter): number {
  const counts = engine.counts;
  const statuses =
    filter.status === undefined
      ? (Object.keys(counts) as (keyof typeof counts)[])
      : ([] as (keyof typeof counts)[]).concat(filter.status);
  return statuses.reduce((sum, status) => sum + counts[status], 0);
}
