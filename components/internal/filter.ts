// Builds an OperationFilter from the `lane`, `kind` and `entity` attributes elements share.
import type { OperationFilter } from '../../src/index.ts';

/** Only the given fields: an absent attribute matches everything. */
export function filterOf(lane: string | undefined, kind: string | undefined, entity: string | undefined): OperationFilter {
  const filter: OperationFilter = {};
  if (lane) filter.lane = lane;
  if (kind) filter.kind = kind;
  if (entity) filter.entity = entity;
  return filter;
}
