// Builds an OperationFilter from the `lane`, `kind` and `entity` attributes elements share, and matches unpushed edits to `entity`.
import type { DirtyEntity, OperationFilter } from '../../src/index.ts';

/** Only the given fields: an absent attribute matches everything. */
export function filterOf(
  lane: string | undefined,
  kind: string | undefined,
  entity: string | undefined,
): OperationFilter {
  const filter: OperationFilter = {};
  if (lane) filter.lane = lane;
  if (kind) filter.kind = kind;
  if (entity) filter.entity = entity;
  return filter;
}

/** Whether an unpushed edit is the entity a filter names as "type/id" (the collection is the type). */
export function editMatches(edit: DirtyEntity, entity: string | undefined): boolean {
  if (!entity) return true;
  const slash = entity.indexOf('/');
  return slash > 0 && edit.collection === entity.slice(0, slash) && edit.id === entity.slice(slash + 1);
}
