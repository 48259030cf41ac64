// Operation filters: one predicate for live updates, and the index that narrows a scan for counts and windows.
import type { Operation, OperationFilter, OperationStatus } from '../types.ts';

export function entityKeyOf(entity: OperationFilter['entity']): string | undefined {
  if (entity === undefined) return undefined;
  return typeof entity === 'string' ? entity : `${entity.type}/${entity.id}`;
}

export function statusesOf(filter: OperationFilter): OperationStatus[] | undefined {
  if (filter.status === undefined) return undefined;
  return Array.isArray(filter.status) ? filter.status : [filter.status];
}

/** Does `op` belong to the filter? */
export function matchesFilter(op: Operation, filter: OperationFilter = {}): boolean {
  if (filter.lane !== undefined && op.lane !== filter.lane) return false;
  if (filter.kind !== undefined && op.kind !== filter.kind) return false;
  const entityKey = entityKeyOf(filter.entity);
  if (entityKey !== undefined && op.entityKey !== entityKey) return false;
  const statuses = statusesOf(filter);
  if (statuses && !statuses.includes(op.status)) return false;
  return true;
}

export function isEmptyFilter(filter: OperationFilter = {}): boolean {
  return (
    filter.lane === undefined && filter.kind === undefined && filter.entity === undefined && filter.status === undefined
  );
}

/** All operations of one lane, in `seq` order: a range of the queue's own keys, [lane, seq]. */
export function laneRange(lane: string): IDBKeyRange {
  return IDBKeyRange.bound([lane, -Infinity], [lane, Infinity]);
}

/** The index and key (or range) that select a superset of the filter, most selective first. */
export type IndexChoice =
  | { index: 'entityKey'; key: string }
  | { index: 'kind'; key: string }
  | { index: 'lane'; key: IDBKeyRange }
  | { index: 'status'; key: OperationStatus }
  | null;

export function chooseIndex(filter: OperationFilter = {}): IndexChoice {
  const entityKey = entityKeyOf(filter.entity);
  if (entityKey !== undefined) return { index: 'entityKey', key: entityKey };
  const statuses = statusesOf(filter);
  if (statuses && statuses.length === 1) return { index: 'status', key: statuses[0]! };
  if (filter.kind !== undefined) return { index: 'kind', key: filter.kind };
  if (filter.lane !== undefined) return { index: 'lane', key: laneRange(filter.lane) };
  return null;
}

/** True when the chosen index alone is the whole filter, so `count()` on it is exact. */
export function indexIsExact(filter: OperationFilter, choice: IndexChoice): boolean {
  if (!choice) return isEmptyFilter(filter);
  const rest: OperationFilter = { ...filter };
  if (choice.index === 'entityKey') delete rest.entity;
  if (choice.index === 'status') delete rest.status;
  if (choice.index === 'kind') delete rest.kind;
  if (choice.index === 'lane') delete rest.lane;
  return isEmptyFilter(rest);
}
