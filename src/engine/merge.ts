// Three-way merge of one entity, field by field: base (what both started from), mine, theirs. Pure.

export type Data = Record<string, unknown>;

export interface MergeResult {
  /** The merged data; for conflicting fields it holds mine (what the user sees until they choose). */
  merged: Data;
  /** Fields changed on both sides to different values. */
  conflicts: string[];
}

/** Whether `key` is a field of `data` itself: `in` would also see `constructor` and the rest of Object.prototype. */
const has = (data: Data, key: string): boolean => Object.prototype.hasOwnProperty.call(data, key);

/** Structural equality for JSON values (key order does not matter). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((v, i) => sameValue(v, other[i]));
  }
  const ka = Object.keys(a as Data);
  const kb = Object.keys(b as Data);
  return ka.length === kb.length && ka.every((k) => has(b as Data, k) && sameValue((a as Data)[k], (b as Data)[k]));
}

/**
 * For each field: unchanged on my side → theirs; unchanged on theirs → mine; the same change on both → it;
 * different changes → a conflict (mine kept for now). A field missing on one side counts as removed there.
 */
export function threeWayMerge(base: Data | null, mine: Data, theirs: Data): MergeResult {
  const merged: Data = {};
  const conflicts: string[] = [];
  const keys = new Set([...Object.keys(base ?? {}), ...Object.keys(mine), ...Object.keys(theirs)]);
  for (const key of keys) {
    const b = base?.[key];
    const m = mine[key];
    const t = theirs[key];
    const inBase = !!base && has(base, key);
    const inMine = has(mine, key);
    const inTheirs = has(theirs, key);
    const mineChanged = !(inBase ? inMine && sameValue(m, b) : !inMine);
    const theirsChanged = !(inBase ? inTheirs && sameValue(t, b) : !inTheirs);
    let pick: 'mine' | 'theirs';
    if (!mineChanged) pick = 'theirs';
    else if (!theirsChanged) pick = 'mine';
    else if (inMine === inTheirs && sameValue(m, t)) pick = 'mine';
    else {
      conflicts.push(key);
      pick = 'mine';
    }
    const source = pick === 'mine' ? mine : theirs;
    // Defined, not assigned: a field named __proto__ (JSON allows it) must stay a field, not become a prototype.
    if (pick === 'mine' ? inMine : inTheirs)
      Object.defineProperty(merged, key, { value: source[key], enumerable: true, writable: true, configurable: true });
  }
  return { merged, conflicts: conflicts.sort() };
}

/** The fields whose values differ between two versions (for showing a conflict). */
export function changedFields(a: Data | null, b: Data | null): string[] {
  const keys = new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})]);
  return [...keys].filter((k) => !(a && b && has(a, k) && has(b, k) && sameValue(a[k], b[k]))).sort();
}
