// Filters and window ranges from tabs, checked before the engine reads anything with them (apart from filter.ts, which the page loads too).
import { SynclineError, SynclineErrorCode } from '../errors.ts';
import { OperationStatus, type OperationFilter } from '../types.ts';

const STATUSES = /* @__PURE__ */ Object.values(OperationStatus) as string[];
/** As long as enqueue allows: a longer lane or kind names no operation. */
const LANE_MAX = 64;
const KIND_MAX = 200;
/** A bound on what a tab may make the engine hold and compare; enqueue sets none on entities. */
const ENTITY_MAX = 1000;
/** The largest window offset: IndexedDB's cursor steps count in unsigned 32-bit integers. */
export const WINDOW_OFFSET_MAX = 2 ** 32 - 1;
/** A window's largest page; a larger limit is cut to it. */
export const WINDOW_LIMIT_MAX = 1000;

function refuse(message: string): never {
  throw new SynclineError(SynclineErrorCode.InvalidOperation, message);
}

const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

/**
 * A filter from a tab, checked and copied before anything reads it: only the known fields, statuses among the known
 * ones and each once (a repeated status would be counted twice). Anything else is an `invalid-operation` error, so
 * a bad filter never reaches an index, a count by name or a predicate run on every change.
 */
export function validateFilter(filter: unknown): OperationFilter {
  if (filter === undefined) return {};
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) refuse('A filter must be an object.');
  const { lane, kind, entity, status } = filter as Record<string, unknown>;
  const clean: OperationFilter = {};
  if (lane !== undefined) {
    if (!isText(lane, LANE_MAX)) refuse(`A filter's \`lane\` must be a string of 1-${LANE_MAX} characters.`);
    clean.lane = lane;
  }
  if (kind !== undefined) {
    if (!isText(kind, KIND_MAX)) refuse(`A filter's \`kind\` must be a string of 1-${KIND_MAX} characters.`);
    clean.kind = kind;
  }
  if (entity !== undefined) {
    if (typeof entity === 'string') {
      if (!isText(entity, 2 * ENTITY_MAX + 1)) refuse('A filter\'s `entity` must be "type/id" or { type, id }.');
      clean.entity = entity;
    } else {
      const { type, id } = (entity ?? {}) as Record<string, unknown>;
      if (typeof entity !== 'object' || entity === null || !isText(type, ENTITY_MAX) || !isText(id, ENTITY_MAX))
        refuse(`A filter's \`entity\` must be { type, id } with strings of 1-${ENTITY_MAX} characters, or "type/id".`);
      clean.entity = { type, id };
    }
  }
  if (status !== undefined) {
    const list = Array.isArray(status) ? status : [status];
    // Own values of the list only: `includes` never reads an inherited name such as "constructor".
    if (list.length > STATUSES.length * 4 || !list.every((s) => typeof s === 'string' && STATUSES.includes(s)))
      refuse(`A filter's \`status\` must be one or more of ${STATUSES.join(', ')}.`);
    const unique = [...new Set(list as OperationStatus[])];
    clean.status = Array.isArray(status) ? unique : unique[0]!;
  }
  return clean;
}

/** A window's range from a tab: whole numbers, the offset within what a cursor can skip, the limit cut to a page. */
export function validateRange(offset: unknown, limit: unknown): { offset: number; limit: number } {
  if (!Number.isSafeInteger(offset) || (offset as number) < 0 || (offset as number) > WINDOW_OFFSET_MAX)
    refuse(`A window's offset must be a whole number from 0 to ${WINDOW_OFFSET_MAX}.`);
  if (!Number.isSafeInteger(limit) || (limit as number) < 0)
    refuse("A window's limit must be a whole number of 0 or more.");
  return { offset: offset as number, limit: Math.min(limit as number, WINDOW_LIMIT_MAX) };
}
