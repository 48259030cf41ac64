// Windows of the queue for virtual lists (`window()`): reads of the queue store that only the queue's code (queue.ts) makes.
import { OperationStatus, type Operation, type OperationFilter, type OperationWindow } from '../types.ts';
import { entityKeyOf, laneRange, matchesFilter, statusesOf } from './filter.ts';
import type { QueueStore } from './store.ts';

/** A window of the whole queue or one lane, walking an index already in `seq` order. */
export async function indexWindow(
  queue: QueueStore,
  lane: string | undefined,
  offset: number,
  limit: number,
): Promise<OperationWindow> {
  const store = queue.read().store;
  // A lane is a range of the store's own keys, [lane, seq]; the whole queue is the seq index.
  const index = lane === undefined ? store.index('seq') : store;
  const range = lane === undefined ? undefined : laneRange(lane);
  // The whole queue's total from the counts: counting it walked every row (8-29 ms over 10,000 in Chromium).
  const rows = range ? null : queue.rowsSeenByRead();
  // The rows in one getAll from the window's first key: a cursor stepping through them cost 7-36 ms for 51 rows
  // of a 10,000-row queue in Chromium, the getAll 2 ms. A key cursor finds that first key past the offset.
  const read = async (): Promise<Operation[]> => {
    if (limit === 0) return [];
    let from = range;
    if (offset > 0) {
      const first = await (await index.openKeyCursor(range))?.advance(offset);
      if (!first) return [];
      from = range ? IDBKeyRange.bound(first.key, range.upper) : IDBKeyRange.lowerBound(first.key);
    }
    return index.getAll(from, limit);
  };
  const [laneTotal, items] = await Promise.all([range ? index.count(range) : null, read()]);
  return { total: laneTotal ?? (await rows!()), offset, items };
}

/**
 * A window of the operations matching a filter (other than none or a lane alone), as tabs see them, in `seq`
 * order, read in one transaction. `view` is the engine's overlay taken just before (asked only once the read has
 * answered, as the overlay requires); `overlaid` the ids it holds, whose stored status may not be the one shown.
 *
 * The smallest index that holds every match is counted first (counts read no rows). When the filter is that index
 * alone and matches are dense, rows are read in `seq` order until `offset + limit` matches: a window at the top of
 * 10,000 rows reads a few dozen of them. Otherwise only that index's rows are read (never the whole queue unless
 * nothing narrows it), sorted and cut.
 */
export async function filteredWindow(
  queue: QueueStore,
  filter: OperationFilter,
  offset: number,
  limit: number,
  view: (row: Operation) => Operation,
  overlaid: string[],
  /** About how many operations there are (the engine's counts): a count of the whole store costs a scan. */
  all: number,
): Promise<OperationWindow> {
  const store = queue.read().store;
  const statuses = statusesOf(filter);
  const entityKey = entityKeyOf(filter.entity);
  // Every index that holds all the matches, with how many rows it holds.
  const sources: { size: Promise<number>; rows: () => Promise<Operation[]>; exact: boolean }[] = [];
  const only = (field: keyof OperationFilter) =>
    Object.keys(filter).every((key) => key === field || filter[key as keyof OperationFilter] === undefined);
  if (entityKey !== undefined) {
    // One entity's operations are a handful: read them, with nothing to count or compare.
    const index = store.index('entityKey');
    sources.push({ size: Promise.resolve(0), rows: () => index.getAll(entityKey), exact: false });
  }
  if (entityKey === undefined && filter.kind !== undefined) {
    const index = store.index('kind');
    const kind = filter.kind;
    sources.push({ size: index.count(kind), rows: () => index.getAll(kind), exact: only('kind') });
  }
  if (entityKey === undefined && filter.lane !== undefined) {
    // Never exact here: a lane alone is indexWindow's. A range of the store's own keys.
    const range = laneRange(filter.lane);
    sources.push({ size: store.count(range), rows: () => store.getAll(range), exact: false });
  }
  if (entityKey === undefined && statuses !== undefined) {
    // Stored statuses, plus the rows shown with another status than the stored one (sending is never stored).
    const index = store.index('status');
    const stored = statuses.filter((s) => s !== OperationStatus.Sending);
    const idIndex = store.index('id');
    sources.push({
      size: Promise.all(stored.map((s) => index.count(s))).then((n) => n.reduce((a, b) => a + b, overlaid.length)),
      rows: async () => {
        const [byStatus, byId] = await Promise.all([
          Promise.all(stored.map((s) => index.getAll(s))),
          Promise.all(overlaid.map((id) => idIndex.get(id))),
        ]);
        return [...byStatus.flat(), ...byId.filter((row): row is Operation => row !== undefined)];
      },
      exact: false,
    });
  }
  const sizes = await Promise.all(sources.map((source) => source.size));
  let best = 0;
  sizes.forEach((size, i) => {
    if (size < sizes[best]!) best = i;
  });
  const source = sources[best]!;
  const total = sizes[best]!;
  const wanted = offset + limit;
  if (source.exact) {
    if (offset >= total || limit === 0) return { total, offset, items: [] };
    // Dense matches: walking in seq order reads about wanted × all / total rows, fewer than the index's total.
    if (wanted * all < total * total) {
      // In chunks of about what should hold the rest of the window (one getAll each: stepping a cursor row by
      // row cost a round trip per row).
      const items: Operation[] = [];
      let skipped = 0;
      let after = -Infinity;
      for (;;) {
        const chunk = Math.min(1000, Math.max(32, Math.ceil(((wanted - skipped - items.length) * all) / total)));
        const rows = await store.index('seq').getAll(IDBKeyRange.lowerBound(after, true), chunk);
        for (const row of rows) {
          // Lane, kind and entity are never changed by the overlay: the stored row decides.
          if (!matchesFilter(row, filter)) continue;
          if (skipped < offset) skipped++;
          else if (items.push(view(row)) >= limit) return { total, offset, items };
        }
        if (rows.length < chunk) return { total, offset, items };
        after = rows[rows.length - 1]!.seq;
      }
    }
    const rows = (await source.rows()).sort((a, b) => a.seq - b.seq);
    return { total, offset, items: rows.slice(offset, wanted).map(view) };
  }
  const seen = new Set<string>();
  const matching: Operation[] = [];
  for (const row of await source.rows()) {
    if (seen.has(row.id)) continue;
    seen.add(row.id);
    const shown = view(row);
    if (matchesFilter(shown, filter)) matching.push(shown);
  }
  matching.sort((a, b) => a.seq - b.seq);
  return { total: matching.length, offset, items: matching.slice(offset, wanted) };
}
