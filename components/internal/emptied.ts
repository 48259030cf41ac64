// What an element says when its unsent changes reach zero: "saved" only if a sync happened, since a discard or a clear empties the list too.
import { distinctUntilChanged, map, type Observable } from 'rxjs';
import type { SyncClient } from '../../src/index.ts';
import type { SynclineStrings } from '../strings.ts';

/** The client's last sync time, as it changes (not every status update). */
export function lastSyncOf(client: SyncClient | undefined): Observable<number | null> | undefined {
  return client?.status$?.pipe(
    map((status) => status.lastSyncAt),
    distinctUntilChanged(),
  );
}

/**
 * The words for the count reaching zero: "All changes saved" when the last sync is newer than it was when the
 * element last spoke (`spokenAt`), or when the element cannot tell (no status); else "No unsent changes": the last
 * ones were discarded or cleared, not saved.
 */
export function emptiedWords(
  text: Pick<SynclineStrings, 'allSaved' | 'nothingUnsent'>,
  lastSyncAt: number | null | undefined,
  spokenAt: number | null | undefined,
): string {
  if (lastSyncAt === undefined) return text.allSaved;
  const saved = lastSyncAt !== null && (spokenAt == null || lastSyncAt > spokenAt);
  return saved ? text.allSaved : text.nothingUnsent;
}
