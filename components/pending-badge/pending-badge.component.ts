// <pending-badge>: the live count of unsent changes, with a state for styling and a polite screen-reader announcement.
import { css, html, nothing, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import { ObservableController } from '../controllers/observable-controller.ts';
import { filterOf } from '../internal/filter.ts';
import { sharedStyles } from '../internal/styles.ts';
import { SyncElement } from '../internal/sync-element.ts';

/** What the badge reflects in its `state` attribute, worst first: conflict, failed, pending, idle. */
export const BadgeState = {
  Idle: 'idle',
  Pending: 'pending',
  Failed: 'failed',
  Conflict: 'conflict',
} as const;
export type BadgeState = (typeof BadgeState)[keyof typeof BadgeState];

/**
 * Shows how many changes have not reached the server yet, optionally for one lane, kind or entity.
 * Hidden at zero unless `show-zero`. Screen readers hear the count once it has settled (not on every
 * change), through a polite live region.
 *
 * @summary Live count of unsent changes.
 *
 * @slot prefix - Content before the count, e.g. an icon.
 * @slot suffix - Content after the count.
 *
 * @csspart base - The badge.
 * @csspart count - The number.
 * @csspart announcer - The visually hidden live region.
 *
 * @cssprop --pending-badge-color - Text color.
 * @cssprop --pending-badge-background - Background while changes are pending.
 * @cssprop --pending-badge-failed-background - Background when a change failed.
 * @cssprop --pending-badge-conflict-background - Background when a change is in conflict.
 * @cssprop --pending-badge-idle-background - Background at zero (with `show-zero`).
 */
export class PendingBadge extends SyncElement {
  static override styles = [
    sharedStyles,
    css`
      :host {
        display: inline-block;
        --_color: var(--pending-badge-color, #ffffff);
        --_bg: var(--pending-badge-background, #8a5a00);
        --_failed-bg: var(--pending-badge-failed-background, #b3261e);
        --_conflict-bg: var(--pending-badge-conflict-background, #6a1b9a);
        --_idle-bg: var(--pending-badge-idle-background, #3d6b35);
      }
      @media (prefers-color-scheme: dark) {
        :host {
          --_color: var(--pending-badge-color, #1a1a1a);
          --_bg: var(--pending-badge-background, #ffcf70);
          --_failed-bg: var(--pending-badge-failed-background, #ffb4ab);
          --_conflict-bg: var(--pending-badge-conflict-background, #e1b6ff);
          --_idle-bg: var(--pending-badge-idle-background, #a5d6a7);
        }
      }
      .base {
        display: inline-flex;
        align-items: center;
        gap: 0.25em;
        min-width: 1.5em;
        justify-content: center;
        padding: 0.0625em 0.5em;
        border-radius: 999px;
        font-size: 0.8125em;
        font-weight: 600;
        line-height: 1.5;
        color: var(--_color);
        background: var(--_bg);
      }
      :host([state='failed']) .base {
        background: var(--_failed-bg);
      }
      :host([state='conflict']) .base {
        background: var(--_conflict-bg);
      }
      :host([state='idle']) .base {
        background: var(--_idle-bg);
      }
    `,
  ];

  /** Count only this lane's operations. */
  @property() lane: string | undefined;

  /** Count only operations of this kind, e.g. "task.delete". */
  @property() kind: string | undefined;

  /** Count only operations on this entity, as "type/id". */
  @property() entity: string | undefined;

  /** Show the badge at zero too (hidden by default). */
  @property({ type: Boolean, reflect: true, attribute: 'show-zero' }) showZero = false;

  /** How long (ms) the count must stay unchanged before it is announced. */
  @property({ type: Number, attribute: 'announce-delay' }) announceDelay = 1000;

  /** Worst state of the counted operations: `idle | pending | failed | conflict`. Reflected for styling; read-only in effect. */
  @property({ reflect: true }) state: BadgeState = BadgeState.Idle;

  /** The number of unsent operations matching the filter, once known. */
  get count(): number | undefined {
    return this.total.value;
  }

  @state() private announcement = '';

  private readonly total = new ObservableController<number>(this, { onValue: () => this.scheduleAnnouncement() });
  private readonly failed = new ObservableController<number>(this);
  private readonly conflicts = new ObservableController<number>(this);
  private announceTimer: ReturnType<typeof setTimeout> | undefined;
  private announced: number | undefined;

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.announceTimer);
    this.announceTimer = undefined;
  }

  protected override willUpdate(changed: PropertyValues): void {
    if (changed.has('client') || changed.has('lane') || changed.has('kind') || changed.has('entity')) {
      // A new filter is a new count: its first value is the baseline, not news.
      this.announced = undefined;
      clearTimeout(this.announceTimer);
      const filter = filterOf(this.lane, this.kind, this.entity);
      const client = this.client;
      this.total.observe(client?.count$(filter));
      this.failed.observe(client?.count$({ ...filter, status: 'failed' }));
      this.conflicts.observe(client?.count$({ ...filter, status: 'conflict' }));
    }
    this.state = this.computeState();
  }

  protected override render() {
    if (!this.client) return this.renderNoProvider();
    const count = this.total.value;
    const hidden = count === undefined || (count === 0 && !this.showZero);
    return html`<span part="base" class="base" ?hidden=${hidden}>
        <slot name="prefix"></slot>
        <span part="count" aria-hidden="true">${count ?? nothing}</span>
        <span class="visually-hidden">${count === undefined ? nothing : count === 0 ? this.text.allSaved : this.text.pendingCount(count)}</span>
        <slot name="suffix"></slot>
      </span>
      <span part="announcer" class="visually-hidden" aria-live="polite" aria-atomic="true">${this.announcement}</span>`;
  }

  private computeState(): BadgeState {
    if (!this.client) return BadgeState.Idle;
    if ((this.conflicts.value ?? 0) > 0) return BadgeState.Conflict;
    if ((this.failed.value ?? 0) > 0) return BadgeState.Failed;
    if ((this.total.value ?? 0) > 0) return BadgeState.Pending;
    return BadgeState.Idle;
  }

  /** Announces the count after it has stayed put for `announceDelay`: a burst of changes is one announcement. */
  private scheduleAnnouncement(): void {
    clearTimeout(this.announceTimer);
    if (this.announced === undefined) {
      this.announced = this.total.value;
      return;
    }
    this.announceTimer = setTimeout(() => {
      const count = this.total.value;
      if (count === undefined || count === this.announced) return;
      this.announced = count;
      this.announcement = count === 0 ? this.text.allSaved : this.text.pendingAnnouncement(count);
    }, this.announceDelay);
  }
}
