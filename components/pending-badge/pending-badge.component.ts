// <pending-badge>: the live count of unsent changes, its state in words and shape as well as colour, and what changed told to the page's announcer.
import { html, nothing, svg, type PropertyValues } from 'lit';
import { property } from 'lit/decorators.js';
import type { DirtyEntity } from '../../src/index.ts';
import { ObservableController } from '../controllers/observable-controller.ts';
import { SyncsSinceSpoken } from '../internal/emptied.ts';
import { editMatches, filterOf } from '../internal/filter.ts';
import { SyncElement } from '../internal/sync-element.ts';
import { styles } from './pending-badge.styles.ts';

/** What the badge reflects in its `state` attribute, worst first: conflict, failed, pending, saved (nothing unsent). */
export const BadgeState = {
  Saved: 'saved',
  Pending: 'pending',
  Failed: 'failed',
  Conflict: 'conflict',
} as const;
export type BadgeState = (typeof BadgeState)[keyof typeof BadgeState];

/** The counts a badge last announced, to say only what a burst changed. */
interface Counts {
  total: number;
  failed: number;
  conflict: number;
}

/**
 * Shows how many changes have not reached the server yet, optionally for one lane, kind or entity.
 * Changes are queued operations and Background Sync edits not yet pushed (an edit held by a conflict
 * counts as a conflict); edits belong to no lane or kind, so a badge filtered by either counts only operations.
 * Hidden at zero unless `show-zero`. The state is never colour alone: its words ("1 change failed to
 * save") are the badge's text for assistive technology, and failed and conflict show an icon.
 *
 * Announces, through the page's announcer (one polite live region, de-duplicated across elements), once
 * a burst of changes has settled: more unsent changes ("3 changes not yet saved"), more failures ("2
 * changes failed to save"), more conflicts ("1 change in conflict"), and "All changes saved" when the last
 * one is sent. A drain counting down is not announced step by step. `silent` stops it.
 *
 * @summary Live count of unsent changes.
 *
 * @slot prefix - Content before the count, e.g. an icon.
 * @slot suffix - Content after the count.
 *
 * @csspart base - The badge.
 * @csspart icon - The failed or conflict icon (absent while only pending).
 * @csspart count - The number.
 * @csspart ended - "Sync stopped: reload the page", in place of the count once the client's live queries have
 *   ended (the client closed, or the page must reload): the last count is no longer live (`count` and `state`
 *   keep it).
 *
 * @cssprop --pending-badge-color - Text color.
 * @cssprop --pending-badge-background - Background while changes are pending.
 * @cssprop --pending-badge-failed-background - Background when a change failed.
 * @cssprop --pending-badge-conflict-background - Background when a change is in conflict.
 * @cssprop --pending-badge-saved-background - Background at zero (with `show-zero`); the earlier name `--pending-badge-idle-background` still works.
 */
export class PendingBadgeElement extends SyncElement {
  static override styles = styles;

  /** Count only this lane's operations. */
  @property() lane: string | undefined;

  /** Count only operations of this kind, e.g. "task.delete". */
  @property() kind: string | undefined;

  /** Count only operations on this entity, as "type/id". */
  @property() entity: string | undefined;

  /** Show the badge at zero too (hidden by default). */
  @property({ type: Boolean, reflect: true, attribute: 'show-zero' }) showZero = false;

  /** Announce nothing (the count and state still show). */
  @property({ type: Boolean, reflect: true }) silent = false;

  /** Worst state of the counted operations: `saved | pending | failed | conflict`. Reflected for styling; read-only in effect. */
  @property({ reflect: true }) state: BadgeState = BadgeState.Saved;

  /** The number of unsent operations and unpushed edits matching the filter, once known. */
  get count(): number | undefined {
    return this.counts()?.total;
  }

  private readonly total = new ObservableController<number>(this, { onValue: () => this.countsChanged() });
  private readonly failed = new ObservableController<number>(this, { onValue: () => this.countsChanged() });
  private readonly conflicts = new ObservableController<number>(this, { onValue: () => this.countsChanged() });
  private readonly edits = new ObservableController<DirtyEntity[]>(this, { onValue: () => this.countsChanged() });
  /** Edits are counted (no lane or kind filter). */
  private countsEdits = false;
  /** What the page last heard from this badge; undefined until the first counts, which are the baseline, not news. */
  private spoken: Counts | undefined;
  /** Whether the client synced since the badge last spoke: the count reaching zero is "saved" only then. */
  private readonly syncs = new SyncsSinceSpoken(this);

  protected override willUpdate(changed: PropertyValues): void {
    if (changed.has('client') || changed.has('lane') || changed.has('kind') || changed.has('entity')) {
      // A new filter is a new count: its first values are the baseline, not news.
      this.spoken = undefined;
      const filter = filterOf(this.lane, this.kind, this.entity);
      const client = this.client;
      this.total.observe(client?.count$(filter));
      this.failed.observe(client?.count$({ ...filter, status: 'failed' }));
      this.conflicts.observe(client?.count$({ ...filter, status: 'conflict' }));
      this.countsEdits = !this.lane && !this.kind;
      this.edits.observe(this.countsEdits ? client?.dirtyEntities$ : undefined);
      this.syncs.observe(client);
    }
    if (changed.has('silent') && this.silent) this.announcer.cancel(this);
    this.state = this.computeState();
  }

  protected override render() {
    if (!this.client) return this.renderNoProvider();
    if (this.ended) return this.renderEnded();
    const counts = this.counts();
    const hidden = !counts || (counts.total === 0 && !this.showZero);
    return html`<span part="base" class="base" ?hidden=${hidden}>
      <slot name="prefix"></slot>
      ${this.renderIcon()}
      <span part="count" aria-hidden="true">${counts?.total ?? nothing}</span>
      <span class="visually-hidden">${counts ? this.describe(counts) : nothing}</span>
      <slot name="suffix"></slot>
    </span>`;
  }

  /** The shape that tells failed and conflict apart from pending without colour. */
  private renderIcon() {
    if (this.state === BadgeState.Failed) {
      // An exclamation mark in a ring: needs the user.
      return html`<svg part="icon" class="icon" viewBox="0 0 16 16" aria-hidden="true" focusable="false" data-icon="failed">
        ${svg`<circle cx="8" cy="8" r="6.5" fill="none" stroke="currentColor" stroke-width="1.5"></circle>
          <rect x="7.1" y="3.8" width="1.8" height="5.4" rx="0.9" fill="currentColor"></rect>
          <circle cx="8" cy="11.6" r="1.05" fill="currentColor"></circle>`}
      </svg>`;
    }
    if (this.state === BadgeState.Conflict) {
      // Two arrows meeting: two versions of one thing.
      return html`<svg part="icon" class="icon" viewBox="0 0 16 16" aria-hidden="true" focusable="false" data-icon="conflict">
        ${svg`<path d="M2 5h9M8 2l3 3-3 3M14 11H5M8 8l-3 3 3 3" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round"></path>`}
      </svg>`;
    }
    return nothing;
  }

  /** The badge's words: failures and conflicts by name, then the rest as not yet saved. */
  private describe({ total, failed, conflict }: Counts): string {
    const text = this.text;
    if (total === 0) return text.allSaved;
    const waiting = Math.max(0, total - failed - conflict);
    const parts: string[] = [];
    if (conflict > 0) parts.push(text.conflictCount(conflict));
    if (failed > 0) parts.push(text.failedCount(failed));
    if (waiting > 0) parts.push(text.pendingCount(waiting));
    return parts.join(', ');
  }

  private counts(): Counts | undefined {
    const total = this.total.value;
    const edits = this.editCounts();
    if (total === undefined || !edits) return undefined;
    return {
      total: total + edits.total,
      failed: (this.failed.value ?? 0) + edits.failed,
      conflict: (this.conflicts.value ?? 0) + edits.conflict,
    };
  }

  /** The matching unpushed edits: all, refused for good, held by a conflict; undefined until the list is known. */
  private editCounts(): Counts | undefined {
    if (!this.countsEdits) return { total: 0, failed: 0, conflict: 0 };
    const edits = this.edits.value?.filter((edit) => editMatches(edit, this.entity));
    if (!edits) return undefined;
    const conflict = edits.filter((edit) => edit.conflictId !== null).length;
    return {
      total: edits.length,
      failed: edits.filter((edit) => edit.failed && edit.conflictId === null).length,
      conflict,
    };
  }

  private computeState(): BadgeState {
    const counts = this.counts();
    if (!this.client || !counts) return BadgeState.Saved;
    if (counts.conflict > 0) return BadgeState.Conflict;
    if (counts.failed > 0) return BadgeState.Failed;
    if (counts.total > 0) return BadgeState.Pending;
    return BadgeState.Saved;
  }

  private countsChanged(): void {
    const counts = this.counts();
    // The baseline needs every count: a failed count arriving after the total is not a new failure.
    if (!counts || this.failed.value === undefined || this.conflicts.value === undefined) return;
    if (!this.spoken || this.silent) {
      // Silence keeps the baseline current: un-silencing must not announce everything that happened meanwhile.
      this.spoken = counts;
      this.syncs.spoke(this.text);
      return;
    }
    this.announce(() => this.news());
  }

  /**
   * What the burst changed, compared with what was last said: more conflicts, more failures, more unsent
   * changes (unless the new ones are exactly the failures just named), or everything saved. Fewer unsent
   * changes short of zero (a drain under way) is not news.
   */
  private news(): string {
    const now = this.counts();
    const before = this.spoken;
    if (!now || !before) return '';
    this.spoken = now;
    const emptied = this.syncs.spoke(this.text);
    const text = this.text;
    if (now.total === 0) return before.total > 0 ? emptied : '';
    const parts: string[] = [];
    const moreConflicts = Math.max(0, now.conflict - before.conflict);
    const moreFailed = Math.max(0, now.failed - before.failed);
    if (moreConflicts > 0) parts.push(text.conflictCount(now.conflict));
    if (moreFailed > 0) parts.push(text.failedCount(now.failed));
    if (now.total - before.total > moreConflicts + moreFailed) parts.push(text.pendingAnnouncement(now.total));
    return parts.join('. ');
  }
}
