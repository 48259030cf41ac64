// <sync-outbox>: every unsent operation with its status, attempts, countdown and error; retry, discard, retry all; virtualized only when long.
import type { RangeChangedEvent } from '@lit-labs/virtualizer/events.js';
import { html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import type { DirtyEntity, Operation, OperationFilter, OperationWindow, SyncClient } from '../../src/index.ts';
import { ObservableController } from '../controllers/observable-controller.ts';
import { SyncsSinceSpoken } from '../internal/emptied.ts';
import { SyncDiscardEvent, SyncRetryAllEvent, SyncRetryEvent } from '../events.ts';
import { editMatches, filterOf } from '../internal/filter.ts';
import { SyncElement } from '../internal/sync-element.ts';
import type { SynclineStrings } from '../strings.ts';
import { styles } from './sync-outbox.styles.ts';

/** Rows fetched beyond each side of the rendered range, so a short scroll needs no new window. */
const OVERSCAN = 30;
/** The first window, before the list has measured itself (at least `virtualizeAfter + 1` rows). */
const INITIAL_LIMIT = 60;
/** Rows shown while the virtualizer loads: a screenful, so the first rows do not wait for the module. */
const PREVIEW_ROWS = 20;
/** `virtualize-after` when the attribute is absent or not a usable number. */
const DEFAULT_VIRTUALIZE_AFTER = 50;
/** The most rows the engine serves in one window (it caps `limit` there): a full list must fit in one. */
const ENGINE_WINDOW_MAX = 1000;

type VirtualListModule = typeof import('./virtual-list.ts');
/** The virtualizer module, fetched the first time any outbox needs it and shared by all. */
let virtualListModule: Promise<VirtualListModule> | undefined;
const loadVirtualList = () => (virtualListModule ??= import('./virtual-list.ts'));

/** Where focus was in the outbox: a control by part, in the row of an operation at a position. */
interface FocusSpot {
  id?: string;
  part: string;
  index: number;
}

/** Row controls that a neighbouring row has too. */
const ROW_PARTS = new Set(['retry', 'discard']);

/**
 * The outbox: each pending, sending, failed and conflicting operation with its label, status,
 * attempts, a live countdown to its next automatic attempt and its last error, with Retry and
 * Discard (after an inline confirmation) per row and "Retry all". With several lanes, each row names
 * its lane and a select filters by lane; a lane chosen there that empties (or leaves the select) gives way to
 * all lanes, so no other lane's failures hide behind a filter the user can no longer see. Below, "Edits not yet pushed" lists Background Sync edits the
 * server has not accepted yet (from `client.dirtyEntities$`), each with its state (pending, failed,
 * conflict) and error; a lane or kind filter hides them (edits have neither).
 *
 * Up to `virtualize-after` operations (50; a value that is not a number of 0 or more counts as 50, and
 * at most 999 are kept unvirtualized, the engine's largest window) every row is in the DOM, so assistive
 * technology finds each one wherever the page is scrolled. A longer list is virtualized (the virtualizer is loaded on first
 * need) and asks the engine only for the rows around its own viewport, so 10,000 operations cost what
 * 100 do; those rows stay rendered while the page scrolls the list out of view.
 *
 * Focus is never dropped: Retry and "Retry all" stay focusable (`aria-disabled`) while they do not
 * apply; after a discard focus moves to the next row (or the empty message); the discard confirmation
 * is a group named by its question, Keep takes focus, and Escape keeps the operation.
 *
 * Announces, through the page's announcer, new failures and conflicts ("2 changes failed to save"),
 * also when a retried operation fails again, and "All changes saved" when the list empties. `silent`
 * stops it. When Retry, "Retry all" or a confirmed discard fails (the engine unavailable, the client
 * closed, the operation gone), it says so below the heading (part `action-error`) and announces it.
 * Once the client's live queries end (closed, or the page must reload) it shows "Sync stopped" instead
 * of a list that would no longer be live (part `ended`).
 *
 * @summary List of unsent operations with retry and discard.
 *
 * @slot heading - Replaces the heading text.
 * @slot empty - Replaces the empty-state text.
 *
 * @csspart base - The whole outbox.
 * @csspart header - The heading row with the lane filter and "Retry all".
 * @csspart heading - The heading (role heading, level `heading-level`).
 * @csspart lane-filter - The lane select's label.
 * @csspart retry-all - The "Retry all" button.
 * @csspart action-error - Why the last Retry, "Retry all" or discard the user asked for failed.
 * @csspart ended - "Sync stopped", in place of the list, once the client's live queries have ended.
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
 * @csspart confirm-group - The inline discard confirmation: a group named by its question.
 * @csspart confirm - The confirmation's question.
 * @csspart confirm-discard - The confirmation's Discard button.
 * @csspart keep - The confirmation's Keep button.
 * @csspart empty - The empty state.
 * @csspart edits - The section of Background Sync edits not yet pushed (shown while there are some).
 * @csspart edits-heading - Its heading ("Edits not yet pushed", one level below the outbox heading).
 * @csspart edit-list - Its list.
 * @csspart edit - One unpushed edit (with `label`, `status` and `error` parts inside).
 *
 * @cssprop --sync-outbox-height - Height of the scrolling list.
 * @cssprop --sync-outbox-color - Text color (falls back to --syncline-color).
 * @cssprop --sync-outbox-background - Background (falls back to --syncline-background).
 * @cssprop --sync-outbox-border-color - Row separators and frame (falls back to --syncline-border-color).
 * @cssprop --sync-outbox-muted-color - Secondary text (falls back to --syncline-muted-color).
 * @cssprop --sync-outbox-error-color - Error text and the "failed" status (falls back to --syncline-error-color).
 * @cssprop --sync-outbox-conflict-color - The "conflict" status (falls back to --syncline-conflict-color).
 * @cssprop --sync-outbox-focus-color - Focus ring (falls back to --syncline-focus-color).
 * @cssprop --sync-outbox-button-background - Button background (falls back to --syncline-button-background).
 * @cssprop --sync-outbox-button-color - Button text (falls back to --syncline-button-color).
 * @cssprop --sync-outbox-button-border-color - Button border (falls back to --syncline-button-border-color).
 * @cssprop --syncline-color - Text color of every syncline element.
 * @cssprop --syncline-background - Background of every syncline element.
 * @cssprop --syncline-border-color - Frames and separators of every syncline element.
 * @cssprop --syncline-muted-color - Secondary text of every syncline element.
 * @cssprop --syncline-error-color - Error text of every syncline element.
 * @cssprop --syncline-conflict-color - Conflict text and markers of every syncline element.
 * @cssprop --syncline-focus-color - Focus ring of every syncline element.
 * @cssprop --syncline-button-background - Button background of every syncline element.
 * @cssprop --syncline-button-color - Button text of every syncline element.
 * @cssprop --syncline-button-border-color - Button border of every syncline element.
 *
 * @fires {SyncRetryEvent} sync-retry - When the user retries one operation; cancel it to skip `client.retry`.
 * @fires {SyncDiscardEvent} sync-discard - When the user asks to discard one; cancel it to skip the confirmation and the discard.
 * @fires {SyncRetryAllEvent} sync-retry-all - When the user presses "Retry all"; cancel it to skip `client.retryAll`.
 */
export class SyncOutboxElement extends SyncElement {
  static override styles = styles;

  /** Show only this lane's operations (then no lane select is offered). */
  @property() lane: string | undefined;

  /** Show only operations of this kind. */
  @property() kind: string | undefined;

  /** Show only operations on this entity, as "type/id". */
  @property() entity: string | undefined;

  /** Lanes the app uses, for the lane select; the lanes that hold operations are added from the engine. */
  @property({ attribute: false }) lanes: string[] = [];

  /**
   * Lists longer than this are virtualized; up to it, every row is in the DOM for assistive technology. Not a
   * number of 0 or more (or removed): 50. At most 999: the engine serves at most 1000 rows at once.
   */
  @property({ type: Number, attribute: 'virtualize-after' }) virtualizeAfter = DEFAULT_VIRTUALIZE_AFTER;

  /** The heading's level (1–6), to fit the page's outline. */
  @property({ type: Number, attribute: 'heading-level' }) headingLevel = 2;

  /** Announce nothing (the list still shows everything). */
  @property({ type: Boolean, reflect: true }) silent = false;

  /** The lane chosen in the lane select ("" for all). */
  @state() private selectedLane = '';
  /** The slice of the list the engine is asked for. */
  @state() private range = { offset: 0, limit: INITIAL_LIMIT };
  /** The operation whose discard awaits confirmation. */
  @state() private confirming: string | undefined;
  /**
   * Operations confirmed for discard whose removal has not arrived yet, their buttons no longer applying: by id,
   * with the seq of the operation discarded (its id may be queued again).
   */
  @state() private discarding: ReadonlyMap<string, number> = new Map();
  /** Epoch ms for countdowns; ticks every second while a countdown shows. */
  @state() private now = Date.now();
  /** The virtualizer module, once loaded. */
  @state() private virtualListLoaded: VirtualListModule | undefined;
  /** Why the last action the user asked for failed, shown until the next one (or another list). */
  @state() private actionError = '';
  /** Failures of actions not yet said, in order (two Retries refused in one burst are both said). */
  private unsaidFailures: string[] = [];

  private readonly window = new ObservableController<OperationWindow>(this, { onValue: (w) => this.windowChanged(w) });
  private readonly failed = new ObservableController<number>(this, { onValue: () => this.reportNews() });
  private readonly conflicts = new ObservableController<number>(this, { onValue: () => this.reportNews() });
  private readonly edits = new ObservableController<DirtyEntity[]>(this);
  /** Lanes that hold operations, as the engine last said. */
  @state() private engineLanes: string[] = [];
  private lanesAskedAt: number | undefined;
  /** `engineLanes` answers a question asked since the list last changed filter (or client). */
  private lanesFresh = false;
  /** Counts filter and client changes, so an answer to an older question is known as such. */
  private lanesEpoch = 0;
  private rows: (Operation | undefined)[] = [];
  /** The window `rows` was built from: rebuilt only when a new one arrives. */
  private rowsFrom: OperationWindow | undefined;
  /** The range and filter the window subscription was made for. */
  private observedRange: { offset: number; limit: number } | undefined;
  private clockTimer: ReturnType<typeof setInterval> | undefined;

  /** Where focus is (or was, until the control holding it was removed by a render). */
  private focusSpot: FocusSpot | undefined;
  /** Where focus goes after the next render (the confirmation opening or closing). */
  private focusNext: FocusSpot | undefined;

  /** What the page last heard from this outbox; undefined until the first counts, which are the baseline. */
  private spoken: { total: number; failed: number; conflict: number } | undefined;
  /** Whether the client synced since the outbox last spoke: the list emptying is "saved" only then. */
  private readonly syncs = new SyncsSinceSpoken(this);
  /** Attempts of each failed or conflicting operation when last seen so: more attempts there is a new failure. */
  private readonly failedAttempts = new Map<string, number>();
  private refailed = { failed: false, conflict: false };

  /** Operations in the list (loaded or not). */
  get total(): number | undefined {
    return this.window.value?.total;
  }

  constructor() {
    super();
    this.addEventListener('focusin', this.onFocusIn);
    this.addEventListener('focusout', this.onFocusOut);
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

  /**
   * `virtualizeAfter` made usable: an attribute that is no number (NaN, Infinity), negative or removed (null)
   * would ask the engine for a window it refuses, or virtualize every list; one past the engine's window
   * would leave the rows beyond it placeholders for good.
   */
  private get threshold(): number {
    const n = this.virtualizeAfter;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return DEFAULT_VIRTUALIZE_AFTER;
    return Math.min(Math.floor(n), ENGINE_WINDOW_MAX - 1);
  }

  /** The window that holds every row of a list short enough not to virtualize (and tells whether it is). */
  private get fullRange() {
    return { offset: 0, limit: Math.min(ENGINE_WINDOW_MAX, Math.max(INITIAL_LIMIT, this.threshold + 1)) };
  }

  /** Whether the list is long enough to virtualize. */
  private get virtual(): boolean {
    return (this.window.value?.total ?? 0) > this.threshold;
  }

  protected override willUpdate(changed: PropertyValues): void {
    if (changed.has('client')) {
      // Another client (another user, after a logout): the lanes and the lane chosen were the old queue's.
      this.selectedLane = '';
      this.engineLanes = [];
      this.actionError = '';
      this.unsaidFailures = [];
    } else if (this.selectedLane && !this.lane && !this.laneOffered(this.selectedLane)) {
      // The lane chosen has emptied, or the select is gone: a filter the user cannot see would hide the rest.
      this.selectedLane = '';
    }
    const filterChanged =
      changed.has('client') ||
      changed.has('lane') ||
      changed.has('kind') ||
      changed.has('entity') ||
      changed.has('selectedLane');
    if (filterChanged) {
      // Another list: its first counts are the baseline, not news (reset before observing: a source may emit at once).
      this.spoken = undefined;
      // The lanes are asked again for the new list; until they answer, what the select lists may be short.
      this.lanesAskedAt = undefined;
      this.lanesFresh = false;
      this.lanesEpoch++;
      this.failedAttempts.clear();
      const filter = this.filter;
      this.failed.observe(this.client?.count$({ ...filter, status: 'failed' }));
      this.conflicts.observe(this.client?.count$({ ...filter, status: 'conflict' }));
      this.edits.observe(this.client?.dirtyEntities$);
      this.syncs.observe(this.client);
      this.confirming = undefined;
      this.range = this.fullRange;
    }
    if (this.virtual) {
      if (!this.virtualListLoaded) void loadVirtualList().then((module) => (this.virtualListLoaded = module));
    } else if (this.range.offset !== 0 || this.range.limit < this.fullRange.limit) {
      // Short again (or never long): one window holds every row.
      this.range = this.fullRange;
    }
    if (filterChanged || this.range !== this.observedRange) {
      this.observedRange = this.range;
      const { offset, limit } = this.range;
      // A moved window keeps the rows it had until the new one arrives; a new filter starts afresh.
      this.window.observe(this.client?.window$(this.filter, offset, limit), !filterChanged);
    }
    if (changed.has('silent') && this.silent) {
      // What the cancelled announcement was to say is dropped with it: silence does not catch up later.
      this.announcer.cancel(this);
      this.unsaidFailures = [];
    }
    this.rows = this.buildRows();
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    this.restoreFocus();
  }

  protected override render() {
    if (!this.client) return this.renderNoProvider();
    if (this.ended) return this.renderEnded();
    const text = this.text;
    const win = this.window.value;
    const lanes = this.knownLanes();
    const showLanes = lanes.length > 1;
    const retryable = (this.failed.value ?? 0) + (this.conflicts.value ?? 0);
    const level = Math.min(6, Math.max(1, Math.round(this.headingLevel) || 2));
    const edits = this.shownEdits;
    return html`<section part="base" class="base" aria-labelledby="heading">
      <div part="header" class="header">
        <span part="heading" class="heading" id="heading" role="heading" aria-level=${level}><slot name="heading">${text.outboxTitle}</slot></span>
        ${
          showLanes && !this.lane
            ? html`<label part="lane-filter"
              >${text.laneFilter}
              <select .value=${this.selectedLane} @change=${this.onLaneChange}>
                <option value="" ?selected=${this.selectedLane === ''}>${text.allLanes}</option>
                ${lanes.map((lane) => html`<option value=${lane} ?selected=${this.selectedLane === lane}>${text.lane(lane)}</option>`)}
              </select></label
            >`
            : nothing
        }
        <button part="retry-all" type="button" aria-disabled=${retryable === 0 ? 'true' : 'false'} @click=${this.onRetryAll}>${text.retryAll}</button>
      </div>
      ${this.actionError ? html`<p part="action-error" class="action-error">${this.actionError}</p>` : nothing}
      ${
        !win
          ? html`<p class="loading" tabindex="-1">${text.loading}</p>`
          : win.total === 0
            ? html`<p part="empty" class="empty" tabindex="-1"><slot name="empty">${edits.length > 0 ? text.outboxNoOperations : text.outboxEmpty}</slot></p>`
            : this.virtual
              ? this.renderVirtualList(win.total, showLanes)
              : this.renderFullList(win.total, showLanes)
      }
      ${edits.length > 0 ? this.renderEdits(edits, Math.min(6, level + 1)) : nothing}
    </section>`;
  }

  /** Background Sync edits not yet pushed: short by nature (one per entity), so a plain list. */
  private renderEdits(edits: readonly DirtyEntity[], level: number): TemplateResult {
    const text = this.text;
    return html`<div part="edits" class="edits" role="group" aria-labelledby="edits-heading">
      <span part="edits-heading" class="heading edits-heading" id="edits-heading" role="heading" aria-level=${level}>${text.editsTitle}</span>
      <ul part="edit-list" class="edit-list" aria-labelledby="edits-heading">
        ${repeat(
          edits,
          (edit) => `${edit.collection}/${edit.id}`,
          (edit) => {
            const status = edit.conflictId ? 'conflict' : edit.failed ? 'failed' : 'pending';
            return html`<li part="edit" class="item" data-status=${status}>
            <div class="line">
              <span part="label" class="label">${text.editLabel(edit.collection, edit.id, edit.deleted)}</span>
              <span part="status" class="status status-${status}">${text.editStatus[status]}</span>
            </div>
            ${edit.lastError ? html`<div part="error" class="error">${edit.lastError.message}</div>` : nothing}
          </li>`;
          },
        )}
      </ul>
    </div>`;
  }

  /** The unpushed edits this outbox shows: none under a lane or kind filter (edits have neither). */
  private get shownEdits(): readonly DirtyEntity[] {
    if (this.lane || this.kind || this.selectedLane) return [];
    return (this.edits.value ?? []).filter((edit) => editMatches(edit, this.entity));
  }

  /** Every row in the DOM: what assistive technology reads is the whole list, wherever the page is scrolled. */
  private renderFullList(total: number, showLanes: boolean): TemplateResult {
    return html`<div part="list" class="list" role="list" aria-label=${this.text.outboxListLabel} tabindex="0">
      ${repeat(
        this.rows,
        (op, index) => op?.id ?? `row-${index}`,
        (op, index) => this.renderRow(op, index, total, showLanes),
      )}
    </div>`;
  }

  /** The rows around the list's own viewport; the first screenful as plain rows while the virtualizer loads. */
  private renderVirtualList(total: number, showLanes: boolean): TemplateResult {
    const module = this.virtualListLoaded;
    const keyFunction = (op: Operation | undefined, index: number) => op?.id ?? `row-${index}`;
    const renderItem = (op: Operation | undefined, index: number) => this.renderRow(op, index, total, showLanes);
    return html`<div part="list" class="list virtual" role="list" aria-label=${this.text.outboxListLabel} tabindex="0" @rangeChanged=${this.onRangeChanged}>
      ${
        module
          ? module.virtualList<Operation | undefined>({
              items: this.rows,
              keyFunction,
              renderItem,
              viewportElement: () => this.renderRoot.querySelector<HTMLElement>('.list.virtual') ?? undefined,
            })
          : repeat(this.rows.slice(0, PREVIEW_ROWS), keyFunction, renderItem)
      }
    </div>`;
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
    const wait =
      op.status === 'pending' && op.nextAttemptAt > this.now ? Math.ceil((op.nextAttemptAt - this.now) / 1000) : 0;
    const discarding = this.isDiscarding(op);
    // In flight: the buttons stay focusable but do nothing (a disabled button would drop focus on <body>).
    const retryBusy = discarding || op.status === 'sending';
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
        ${
          this.confirming === op.id
            ? html`<div part="confirm-group" class="confirm" role="group" aria-labelledby="confirm-question" @keydown=${(event: KeyboardEvent) => this.onConfirmKeydown(event, op, index)}>
              <span part="confirm" id="confirm-question">${text.discardConfirm(op.label)}</span>
              <button part="confirm-discard" class="confirm-discard" type="button" @click=${() => this.confirmDiscard(op, index)}>${text.discard}</button>
              <button part="keep" class="keep" type="button" @click=${() => this.keep(op, index)}>${text.keep}</button>
            </div>`
            : html`<button part="retry" class="retry" type="button" aria-label=${text.retryLabel(op.label)} aria-disabled=${retryBusy ? 'true' : 'false'} @click=${() => this.onRetry(op)}>${text.retry}</button>
              <button part="discard" class="discard" type="button" aria-label=${text.discardLabel(op.label)} aria-disabled=${discarding ? 'true' : 'false'} @click=${() => this.onDiscard(op, index)}>${text.discard}</button>`
        }
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
    // The virtualizer re-renders its rows after this event: check focus once it has.
    queueMicrotask(() => this.restoreFocus());
    const { first, last } = event;
    const { offset, limit } = this.range;
    if (first < 0 || (first >= offset && last < offset + limit)) return;
    const from = Math.max(0, first - OVERSCAN);
    this.range = { offset: from, limit: Math.min(ENGINE_WINDOW_MAX, last - from + 1 + OVERSCAN) };
  }

  private onLaneChange(event: Event): void {
    this.selectedLane = (event.target as HTMLSelectElement).value;
  }

  private onRetry(op: Operation): void {
    if (op.status === 'sending' || this.isDiscarding(op)) return;
    // Dispatched through a variable: the manifest analyzer reads `dispatchEvent(new X(arg))` as an event named by `arg`.
    const event = new SyncRetryEvent(op);
    if (!this.dispatchEvent(event)) return;
    const client = this.client;
    if (!client) return;
    this.actionError = '';
    client
      .retry(op.id)
      .catch((error: unknown) => this.actionFailed(client, (text) => text.retryFailed(op.label, messageOf(error))));
  }

  private onRetryAll(): void {
    if ((this.failed.value ?? 0) + (this.conflicts.value ?? 0) === 0) return;
    const filter = this.filter;
    const event = new SyncRetryAllEvent(Object.freeze({ ...filter }));
    if (!this.dispatchEvent(event)) return;
    const client = this.client;
    if (!client) return;
    this.actionError = '';
    client
      .retryAll(filter)
      .catch((error: unknown) => this.actionFailed(client, (text) => text.retryAllFailed(messageOf(error))));
  }

  /**
   * Tells the user that what they asked for did not happen: shown below the heading, and announced (unless
   * silent). A failure of another client's call (the provider moved on meanwhile) is no longer this list's news.
   */
  private actionFailed(client: SyncClient, words: (text: SynclineStrings) => string): void {
    if (client !== this.client) return;
    const message = words(this.text);
    this.actionError = message;
    if (this.silent) return;
    this.unsaidFailures.push(message);
    this.announce(() => this.news());
  }

  private onDiscard(op: Operation, index: number): void {
    if (this.isDiscarding(op)) return;
    const event = new SyncDiscardEvent(op);
    if (!this.dispatchEvent(event)) return;
    this.confirming = op.id;
    // The safe choice gets focus: a second Enter keeps the operation.
    this.focusNext = { id: op.id, part: 'keep', index };
  }

  private keep(op: Operation, index: number): void {
    this.confirming = undefined;
    this.focusNext = { id: op.id, part: 'discard', index };
  }

  private onConfirmKeydown(event: KeyboardEvent, op: Operation, index: number): void {
    if (event.key !== 'Escape') return;
    // Handled here: an outbox inside a dialog must not close the dialog as well.
    event.preventDefault();
    event.stopPropagation();
    this.keep(op, index);
  }

  /**
   * Whether this row's discard is under way: only for the operation discarded, not one queued again under its id
   * (the list may never be seen whole to tell that the discarded one left, when it is long).
   */
  private isDiscarding(op: Operation): boolean {
    return this.discarding.get(op.id) === op.seq;
  }

  private confirmDiscard(op: Operation, index: number): void {
    this.confirming = undefined;
    this.discarding = new Map([...this.discarding, [op.id, op.seq]]);
    // Until the row goes, focus waits on its (now inert) Discard; then it moves to the next row.
    this.focusNext = { id: op.id, part: 'discard', index };
    const undo = () => {
      const discarding = new Map(this.discarding);
      if (discarding.get(op.id) === op.seq) discarding.delete(op.id);
      this.discarding = discarding;
    };
    const client = this.client;
    if (!client) {
      undo();
      return;
    }
    this.actionError = '';
    client.discard(op.id).then(
      (discarded) => {
        if (discarded) return;
        undo();
        this.actionFailed(client, (text) => text.discardGone(op.label));
      },
      (error: unknown) => {
        undo();
        this.actionFailed(client, (text) => text.discardFailed(op.label, messageOf(error)));
      },
    );
  }

  private readonly onFocusIn = (event: FocusEvent): void => {
    const target = event.composedPath()[0];
    if (!(target instanceof HTMLElement) || target.getRootNode() !== this.shadowRoot) return;
    const row = target.closest<HTMLElement>('.item');
    const part = target.getAttribute('part')?.split(' ')[0] ?? '';
    this.focusSpot = { id: row?.dataset.id, part, index: row ? Number(row.getAttribute('aria-posinset')) - 1 : -1 };
  };

  private readonly onFocusOut = (event: FocusEvent): void => {
    const target = event.composedPath()[0];
    // After the event: a control removed by a render is disconnected by then (focus lost, to restore); one the
    // user left is still connected, and then the outbox forgets where focus was.
    queueMicrotask(() => {
      if (target instanceof Node && target.isConnected && !this.shadowRoot?.activeElement) this.focusSpot = undefined;
    });
  };

  /**
   * Puts focus back when a render removed the control that held it (or onto the control the confirmation
   * asked for): the same control of the same operation if it is still there, else the same control of the
   * row that took its place (the next one, or the previous one at the end of the list), else the list or
   * the empty message.
   */
  private restoreFocus(): void {
    const root = this.shadowRoot;
    if (!root || !this.isConnected) return;
    const next = this.focusNext;
    if (next) {
      this.focusNext = undefined;
    } else {
      if (!this.focusSpot || root.activeElement) return;
      const active = this.ownerDocument.activeElement;
      // Focus went somewhere else on the page on purpose: leave it there.
      if (active && active !== this.ownerDocument.body && active !== this) {
        this.focusSpot = undefined;
        return;
      }
    }
    const target = this.focusTargetFor((next ?? this.focusSpot)!);
    if (target && root.activeElement !== target) target.focus({ preventScroll: true });
  }

  private focusTargetFor(spot: FocusSpot): HTMLElement | null {
    const root = this.renderRoot as ShadowRoot;
    const rowOf = (id: string) => root.querySelector<HTMLElement>(`.item[data-id="${CSS.escape(id)}"]`);
    const control = (row: HTMLElement, part: string) => row.querySelector<HTMLElement>(`[part~="${part}"]`);
    if (spot.id !== undefined) {
      const row = rowOf(spot.id);
      if (row) return control(row, spot.part) ?? control(row, 'keep') ?? control(row, 'discard');
      for (const index of [spot.index, spot.index - 1]) {
        const neighbour = this.rows[index];
        const neighbourRow = neighbour && rowOf(neighbour.id);
        if (neighbourRow) return control(neighbourRow, ROW_PARTS.has(spot.part) ? spot.part : 'discard');
      }
    } else if (spot.part) {
      const same = root.querySelector<HTMLElement>(`[part~="${spot.part}"]`);
      if (same) return same;
    }
    return root.querySelector<HTMLElement>('.list') ?? root.querySelector<HTMLElement>('[part="empty"], .loading');
  }

  /**
   * Whether a lane chosen in the select still stands: it holds operations (or the app names it), and the select
   * still shows. Judged only on what is known: the lane's own list once loaded, and the engine's list of lanes
   * once it has answered since the choice (until then the select may list fewer lanes than there are).
   */
  private laneOffered(lane: string): boolean {
    const win = this.window.value;
    if (win && win.total === 0 && !this.lanes.includes(lane)) return false;
    return !this.lanesFresh || this.knownLanes().length > 1;
  }

  private knownLanes(): string[] {
    // The loaded rows' lanes count at once; the engine's list follows a round trip later.
    const lanes = new Set([
      ...this.lanes,
      ...this.engineLanes,
      ...(this.window.value?.items ?? []).map((op) => op.lane),
    ]);
    if (this.lane) lanes.add(this.lane);
    return [...lanes].sort();
  }

  private windowChanged(window: OperationWindow): void {
    this.learnLanes(window);
    // A confirmed discard is over once its operation has left the list.
    if (this.discarding.size > 0 && window.offset === 0 && window.items.length === window.total) {
      const present = new Set(window.items.map((op) => op.id));
      if ([...this.discarding.keys()].some((id) => !present.has(id)))
        this.discarding = new Map([...this.discarding].filter(([id]) => present.has(id)));
    }
    // Operations gone from a list shown whole are forgotten: a long-lived outbox must not remember every failure.
    if (this.failedAttempts.size > 0 && window.offset === 0 && window.items.length === window.total) {
      const present = new Set(window.items.map((op) => op.id));
      for (const id of this.failedAttempts.keys()) if (!present.has(id)) this.failedAttempts.delete(id);
    }
    for (const op of window.items) {
      if (op.status !== 'failed' && op.status !== 'conflict') continue;
      const before = this.failedAttempts.get(op.id);
      // More attempts than when it last showed as failed: a retry that failed again, which no count reveals.
      if (before !== undefined && op.attempts > before) this.refailed[op.status] = true;
      this.failedAttempts.set(op.id, op.attempts);
    }
    this.reportNews();
  }

  /** Asks the engine for the lanes whenever the list grows or shrinks: lanes come and go with operations. */
  private learnLanes(window: OperationWindow): void {
    const client = this.client;
    if (window.total === this.lanesAskedAt || !client) return;
    this.lanesAskedAt = window.total;
    const epoch = this.lanesEpoch;
    client.lanes().then(
      (lanes) => {
        // The answer of a client since replaced is another queue's lanes.
        if (client !== this.client) return;
        this.engineLanes = lanes;
        if (epoch === this.lanesEpoch) this.lanesFresh = true;
      },
      () => {},
    );
  }

  private counts() {
    const total = this.window.value?.total;
    const failed = this.failed.value;
    const conflict = this.conflicts.value;
    if (total === undefined || failed === undefined || conflict === undefined) return undefined;
    return { total, failed, conflict };
  }

  private reportNews(): void {
    const counts = this.counts();
    if (!counts) return;
    if (!this.spoken || this.silent) {
      // Silence keeps the baseline current: un-silencing must not announce everything that happened meanwhile.
      this.spoken = counts;
      this.syncs.spoke(this.text);
      this.refailed = { failed: false, conflict: false };
      return;
    }
    this.announce(() => this.news());
  }

  /** An action that failed; new failures and conflicts (by count, or a retry failing again), and the list emptying. */
  private news(): string {
    // One report per element and burst: a failure reported with counts that change in the same burst is said too.
    const parts = this.unsaidFailures;
    this.unsaidFailures = [];
    const now = this.counts();
    const before = this.spoken;
    if (!now || !before) return parts.join('. ');
    const refailed = this.refailed;
    this.spoken = now;
    const emptied = this.syncs.spoke(this.text);
    this.refailed = { failed: false, conflict: false };
    const text = this.text;
    if (now.total === 0) {
      // Edits still waiting to be pushed: the queue emptying is not everything saved. Nor is a lane chosen in the
      // select emptying: the outbox is about to show every lane again.
      if (before.total > 0 && this.shownEdits.length === 0 && !this.selectedLane) parts.push(emptied);
      return parts.join('. ');
    }
    if (now.conflict > 0 && (now.conflict > before.conflict || refailed.conflict))
      parts.push(text.conflictCount(now.conflict));
    if (now.failed > 0 && (now.failed > before.failed || refailed.failed)) parts.push(text.failedCount(now.failed));
    return parts.join('. ');
  }

  /** Moves the countdowns, only while one is on screen. */
  private tick(): void {
    const now = Date.now();
    if (this.window.value?.items.some((op) => op.status === 'pending' && op.nextAttemptAt > now - 1000)) this.now = now;
  }
}

/** The words of a rejected call: a SynclineError's message (it says what and why), else whatever was thrown. */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
