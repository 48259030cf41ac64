// <sync-outbox>: every unsent operation with its status, attempts, countdown and error; retry, discard, retry all; virtualized.
import { virtualize } from '@lit-labs/virtualizer/virtualize.js';
import type { RangeChangedEvent } from '@lit-labs/virtualizer/events.js';
import { css, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import type { Operation, OperationFilter, OperationWindow } from '../../src/index.ts';
import { ObservableController } from '../controllers/observable-controller.ts';
import { SyncDiscardEvent, SyncRetryAllEvent, SyncRetryEvent } from '../events.ts';
import { filterOf } from '../internal/filter.ts';
import { sharedStyles } from '../internal/styles.ts';
import { SyncElement } from '../internal/sync-element.ts';

/** Rows fetched beyond each side of the rendered range, so a short scroll needs no new window. */
const OVERSCAN = 30;
/** The first window, before the list has measured itself. */
const INITIAL_LIMIT = 60;

/**
 * The outbox: each pending, sending, failed and conflicting operation with its label, status,
 * attempts, a live countdown to its next automatic attempt and its last error, with Retry and
 * Discard (after an inline confirmation) per row and "Retry all". The list is virtualized and asks
 * the engine only for the rows it shows, so 10,000 operations cost what 100 do. With several lanes,
 * each row names its lane and a select filters by lane.
 *
 * @summary List of unsent operations with retry and discard.
 *
 * @slot heading - Replaces the heading text.
 * @slot empty - Replaces the empty-state text.
 *
 * @csspart base - The whole outbox.
 * @csspart header - The heading row with the lane filter and "Retry all".
 * @csspart heading - The heading text.
 * @csspart lane-filter - The lane select's label.
 * @csspart retry-all - The "Retry all" button.
 * @csspart list - The scrolling list.
 * @csspart item - One row.
 * @csspart placeholder - A row not loaded yet.
 * @csspart label - An operation's label.
 * @csspart lane - An operation's lane (when there are several).
 * @csspart status - An operation's status.
 * @csspart attempts - Its attempt count.
 * @csspart countdown - Time to its next automatic attempt.
 * @csspart error - Its last error message.
 * @csspart retry - A row's Retry button.
 * @csspart discard - A row's Discard button.
 * @csspart confirm - The inline discard confirmation.
 * @csspart confirm-discard - The confirmation's Discard button.
 * @csspart keep - The confirmation's Keep button.
 * @csspart empty - The empty state.
 *
 * @cssprop --sync-outbox-height - Height of the scrolling list.
 * @cssprop --sync-outbox-color - Text color.
 * @cssprop --sync-outbox-background - Background.
 * @cssprop --sync-outbox-border-color - Row separators and frame.
 * @cssprop --sync-outbox-muted-color - Secondary text.
 * @cssprop --sync-outbox-error-color - Error text and the "failed" status.
 * @cssprop --sync-outbox-conflict-color - The "conflict" status.
 *
 * @fires {SyncRetryEvent} sync-retry - When the user retries one operation; cancel it to skip `client.retry`.
 * @fires {SyncDiscardEvent} sync-discard - When the user asks to discard one; cancel it to skip the confirmation and the discard.
 * @fires {SyncRetryAllEvent} sync-retry-all - When the user presses "Retry all"; cancel it to skip `client.retryAll`.
 */
export class SyncOutbox extends SyncElement {
  static override styles = [
    sharedStyles,
    css`
      :host {
        display: block;
        --_height: var(--sync-outbox-height, 20rem);
        --_color: var(--sync-outbox-color, #1a1a1a);
        --_bg: var(--sync-outbox-background, #ffffff);
        --_border: var(--sync-outbox-border-color, #d0d0d0);
        --_muted: var(--sync-outbox-muted-color, #595959);
        --_error: var(--sync-outbox-error-color, #b3261e);
        --_conflict: var(--sync-outbox-conflict-color, #6a1b9a);
      }
      @media (prefers-color-scheme: dark) {
        :host {
          --_color: var(--sync-outbox-color, #f1f1f1);
          --_bg: var(--sync-outbox-background, #1e1e1e);
          --_border: var(--sync-outbox-border-color, #4a4a4a);
          --_muted: var(--sync-outbox-muted-color, #bdbdbd);
          --_error: var(--sync-outbox-error-color, #ffb4ab);
          --_conflict: var(--sync-outbox-conflict-color, #e1b6ff);
          --_button-bg: #2b2b2b;
          --_button-fg: #f1f1f1;
          --_button-border: #8a8a8a;
        }
      }
      .base {
        color: var(--_color);
        background: var(--_bg);
        border: 1px solid var(--_border);
        border-radius: 0.375em;
      }
      .header {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5em 1em;
        padding: 0.5em 0.75em;
        border-bottom: 1px solid var(--_border);
      }
      .heading {
        font-weight: 600;
        flex: 1;
      }
      .list {
        height: var(--_height);
        overflow: auto;
        /* A scrollbar appearing must not narrow (and so re-wrap and re-measure) every row. */
        scrollbar-gutter: stable;
      }
      .item {
        box-sizing: border-box;
        width: 100%;
        padding: 0.5em 0.75em;
        border-bottom: 1px solid var(--_border);
      }
      .placeholder {
        color: var(--_muted);
      }
      .line {
        display: flex;
        flex-wrap: wrap;
        align-items: baseline;
        gap: 0.25em 0.75em;
      }
      .label {
        font-weight: 600;
        overflow-wrap: anywhere;
      }
      .meta,
      .lane {
        color: var(--_muted);
        font-size: 0.875em;
      }
      .status-failed,
      .error {
        color: var(--_error);
      }
      .status-conflict {
        color: var(--_conflict);
      }
      .error {
        font-size: 0.875em;
        margin-top: 0.25em;
        overflow-wrap: anywhere;
      }
      .actions {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5em;
        margin-top: 0.375em;
      }
      .button-space {
        display: inline-block;
        padding: 0.25em 0;
        border: 1px solid transparent;
      }
      .empty,
      .loading {
        margin: 0;
        padding: 1em 0.75em;
        color: var(--_muted);
      }
    `,
  ];

  /** Show only this lane's operations (then no lane select is offered). */
  @property() lane: string | undefined;

  /** Show only operations of this kind. */
  @property() kind: string | undefined;

  /** Show only operations on this entity, as "type/id". */
  @property() entity: string | undefined;

  /** Lanes the app uses, for the lane select; the lanes that hold operations are added from the engine. */
  @property({ attribute: false }) lanes: string[] = [];

  /** The lane chosen in the lane select ("" for all). */
  @state() private selectedLane = '';
  /** The slice of the list the engine is asked for. */
  @state() private range = { offset: 0, limit: INITIAL_LIMIT };
  /** The operation whose discard awaits confirmation. */
  @state() private confirming: string | undefined;
  /** Epoch ms for countdowns; ticks every second while a countdown shows. */
  @state() private now = Date.now();

  private readonly window = new ObservableController<OperationWindow>(this, { onValue: (w) => this.learnLanes(w) });
  private readonly failed = new ObservableController<number>(this);
  private readonly conflicts = new ObservableController<number>(this);
  /** Lanes that hold operations, as the engine last said. */
  @state() private engineLanes: string[] = [];
  private lanesAskedAt: number | undefined;
  private rows: (Operation | undefined)[] = [];
  /** The window `rows` was built from: rebuilt only when a new one arrives. */
  private rowsFrom: OperationWindow | undefined;
  private clockTimer: ReturnType<typeof setInterval> | undefined;

  /** Operations in the list (loaded or not). */
  get total(): number | undefined {
    return this.window.value?.total;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.clockTimer = setInterval(() => this.tick(), 1000);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearInterval(this.clockTimer);
    this.clockTimer = undefined;
  }

  private get filter(): OperationFilter {
    return filterOf(this.lane || this.selectedLane || undefined, this.kind, this.entity);
  }

  protected override willUpdate(changed: PropertyValues): void {
    const filterChanged = changed.has('client') || changed.has('lane') || changed.has('kind') || changed.has('entity') || changed.has('selectedLane');
    if (filterChanged) {
      const filter = this.filter;
      this.failed.observe(this.client?.count$({ ...filter, status: 'failed' }));
      this.conflicts.observe(this.client?.count$({ ...filter, status: 'conflict' }));
      this.confirming = undefined;
    }
    if (filterChanged || changed.has('range')) {
      const { offset, limit } = this.range;
      // A moved window keeps the rows it had until the new one arrives; a new filter starts afresh.
      this.window.observe(this.client?.window$(this.filter, offset, limit), !filterChanged);
    }
    this.rows = this.buildRows();
  }

  protected override render() {
    if (!this.client) return this.renderNoProvider();
    const text = this.text;
    const win = this.window.value;
    const lanes = this.knownLanes();
    const showLanes = lanes.length > 1;
    const retryable = (this.failed.value ?? 0) + (this.conflicts.value ?? 0);
    return html`<section part="base" class="base" aria-labelledby="heading">
      <div part="header" class="header">
        <span part="heading" class="heading" id="heading"><slot name="heading">${text.outboxTitle}</slot></span>
        ${showLanes && !this.lane
          ? html`<label part="lane-filter"
              >${text.laneFilter}
              <select .value=${this.selectedLane} @change=${this.onLaneChange}>
                <option value="" ?selected=${this.selectedLane === ''}>${text.allLanes}</option>
                ${lanes.map((lane) => html`<option value=${lane} ?selected=${this.selectedLane === lane}>${text.lane(lane)}</option>`)}
              </select></label
            >`
          : nothing}
        <button part="retry-all" type="button" ?disabled=${retryable === 0} @click=${this.onRetryAll}>${text.retryAll}</button>
      </div>
      ${!win
        ? html`<p class="loading">${text.loading}</p>`
        : win.total === 0
          ? html`<p part="empty" class="empty"><slot name="empty">${text.outboxEmpty}</slot></p>`
          : html`<div part="list" class="list" role="list" aria-label=${text.outboxListLabel} tabindex="0" @rangeChanged=${this.onRangeChanged}>
              ${virtualize<Operation | undefined>({
                scroller: true,
                items: this.rows,
                keyFunction: (op, index) => op?.id ?? `row-${index}`,
                renderItem: (op, index) => this.renderRow(op, index, win.total, showLanes),
              })}
            </div>`}
    </section>`;
  }

  private renderRow(op: Operation | undefined, index: number, total: number, showLane: boolean): TemplateResult {
    const text = this.text;
    if (!op) {
      // As tall as a loaded row, so rows arriving do not shift the list under the user's eyes.
      return html`<div part="item placeholder" class="item placeholder" role="listitem" aria-setsize=${total} aria-posinset=${index + 1}>
        <div class="line"><span class="label">${text.loading}</span></div>
        <div class="actions" aria-hidden="true"><span class="button-space">&nbsp;</span></div>
      </div>`;
    }
    const wait = op.status === 'pending' && op.nextAttemptAt > this.now ? Math.ceil((op.nextAttemptAt - this.now) / 1000) : 0;
    return html`<div part="item" class="item" role="listitem" aria-setsize=${total} aria-posinset=${index + 1} data-id=${op.id} data-status=${op.status}>
      <div class="line">
        <span part="label" class="label">${op.label}</span>
        ${showLane ? html`<span part="lane" class="lane">${text.lane(op.lane)}</span>` : nothing}
        <span part="status" class="status status-${op.status}">${text.status[op.status]}</span>
        <span part="attempts" class="meta">${text.attempts(op.attempts)}</span>
        ${wait > 0 ? html`<span part="countdown" class="meta">${text.retryIn(wait)}</span>` : nothing}
      </div>
      ${op.lastError ? html`<div part="error" class="error">${op.lastError.message}</div>` : nothing}
      <div class="actions">
        ${this.confirming === op.id
          ? html`<span part="confirm">${text.discardConfirm(op.label)}</span>
              <button part="confirm-discard" class="confirm-discard" type="button" @click=${() => this.confirmDiscard(op)}>${text.discard}</button>
              <button part="keep" class="keep" type="button" @click=${() => this.keep(op)}>${text.keep}</button>`
          : html`<button part="retry" class="retry" type="button" aria-label=${text.retryLabel(op.label)} ?disabled=${op.status === 'sending'} @click=${() => this.onRetry(op)}>${text.retry}</button>
              <button part="discard" class="discard" type="button" aria-label=${text.discardLabel(op.label)} @click=${() => this.onDiscard(op)}>${text.discard}</button>`}
      </div>
    </div>`;
  }

  /** Rows for the whole list: the loaded window in place, placeholders elsewhere. */
  private buildRows(): (Operation | undefined)[] {
    const win = this.window.value;
    if (!win) return [];
    if (this.rows.length === win.total && this.rowsFrom === win) return this.rows;
    const rows = new Array<Operation | undefined>(win.total).fill(undefined);
    win.items.forEach((op, i) => {
      if (win.offset + i < rows.length) rows[win.offset + i] = op;
    });
    this.rowsFrom = win;
    return rows;
  }

  private onRangeChanged(event: RangeChangedEvent): void {
    const { first, last } = event;
    const { offset, limit } = this.range;
    if (first >= offset && last < offset + limit) return;
    const from = Math.max(0, first - OVERSCAN);
    this.range = { offset: from, limit: last - from + 1 + OVERSCAN };
  }

  private onLaneChange(event: Event): void {
    this.selectedLane = (event.target as HTMLSelectElement).value;
    this.range = { offset: 0, limit: INITIAL_LIMIT };
  }

  private onRetry(op: Operation): void {
    // Dispatched through a variable: the manifest analyzer reads `dispatchEvent(new X(arg))` as an event named by `arg`.
    const event = new SyncRetryEvent(op);
    if (!this.dispatchEvent(event)) return;
    this.client?.retry(op.id).catch((error: unknown) => console.error('<sync-outbox>: retry failed', error));
  }

  private onRetryAll(): void {
    const lane = this.lane || this.selectedLane || undefined;
    const event = new SyncRetryAllEvent(lane);
    if (!this.dispatchEvent(event)) return;
    this.client?.retryAll(this.filter).catch((error: unknown) => console.error('<sync-outbox>: retry all failed', error));
  }

  private async onDiscard(op: Operation): Promise<void> {
    const event = new SyncDiscardEvent(op);
    if (!this.dispatchEvent(event)) return;
    this.confirming = op.id;
    await this.updateComplete;
    // The safe choice gets focus: a second Enter keeps the operation.
    this.rowOf(op.id)?.querySelector<HTMLButtonElement>('.keep')?.focus();
  }

  private async keep(op: Operation): Promise<void> {
    this.confirming = undefined;
    await this.updateComplete;
    this.rowOf(op.id)?.querySelector<HTMLButtonElement>('.discard')?.focus();
  }

  private confirmDiscard(op: Operation): void {
    this.confirming = undefined;
    // The row goes away: keep focus in the list rather than losing it to <body>.
    this.renderRoot.querySelector<HTMLElement>('.list')?.focus();
    this.client?.discard(op.id).catch((error: unknown) => console.error('<sync-outbox>: discard failed', error));
  }

  private rowOf(id: string): HTMLElement | null {
    return this.renderRoot.querySelector<HTMLElement>(`.item[data-id="${CSS.escape(id)}"]`);
  }

  private knownLanes(): string[] {
    // The loaded rows' lanes count at once; the engine's list follows a round trip later.
    const lanes = new Set([...this.lanes, ...this.engineLanes, ...(this.window.value?.items ?? []).map((op) => op.lane)]);
    if (this.lane) lanes.add(this.lane);
    return [...lanes].sort();
  }

  /** Asks the engine for the lanes whenever the list grows or shrinks: lanes come and go with operations. */
  private learnLanes(window: OperationWindow): void {
    if (window.total === this.lanesAskedAt || !this.client) return;
    this.lanesAskedAt = window.total;
    this.client.lanes().then((lanes) => (this.engineLanes = lanes), () => {});
  }

  /** Moves the countdowns, only while one is on screen. */
  private tick(): void {
    const now = Date.now();
    if (this.window.value?.items.some((op) => op.status === 'pending' && op.nextAttemptAt > now - 1000)) this.now = now;
  }
}
