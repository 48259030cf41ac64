// What an element says when its unsent changes reach zero: "saved" only if a sync happened, since a discard or a clear empties the list too.
import type { ReactiveControllerHost } from 'lit';
import { distinctUntilChanged, map } from 'rxjs';
import type { SyncClient } from '../../src/index.ts';
import { ObservableController } from '../controllers/observable-controller.ts';
import type { SynclineStrings } from '../strings.ts';

/** Follows a client's last sync time, and whether the client synced since the element last spoke. */
export class SyncsSinceSpoken {
  private readonly lastSync: ObservableController<number | null>;
  /** The last sync time as the element last spoke (or took its baseline). */
  private spokenAt: number | null | undefined;

  constructor(host: ReactiveControllerHost) {
    this.lastSync = new ObservableController<number | null>(host);
  }

  /** Follows `client` (none: nothing to tell). Only the last sync time, not every status update. */
  observe(client: SyncClient | undefined): void {
    this.lastSync.observe(
      client?.status$?.pipe(
        map((status) => status.lastSyncAt),
        distinctUntilChanged(),
      ),
    );
  }

  /**
   * The element speaks (or takes its baseline) now. Returns the words for its count having reached zero since it
   * last spoke: "All changes saved" when the client synced since, or when it cannot tell (no status); else "No
   * unsent changes": the last ones were discarded or cleared, not saved.
   */
  spoke(text: Pick<SynclineStrings, 'allSaved' | 'nothingUnsent'>): string {
    const at = this.lastSync.value;
    const before = this.spokenAt;
    this.spokenAt = at;
    if (at === undefined) return text.allSaved;
    return at !== null && (before == null || at > before) ? text.allSaved : text.nothingUnsent;
  }
}
