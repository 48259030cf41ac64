// <conflict-resolver>: open Background Sync conflicts side by side (before, yours, server), a choice per field or for all, edited values, and Apply through client.resolve.
import { html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import type { Conflict, Resolution } from '../../src/index.ts';
import { ObservableController } from '../controllers/observable-controller.ts';
import { ConflictCancelEvent, ConflictResolvedEvent, ConflictResolveEvent } from '../events.ts';
import { SyncElement } from '../internal/sync-element.ts';
import { styles } from './conflict-resolver.styles.ts';

/** Which version a value comes from: the last common one, this device's, or the server's. */
export type ConflictSide = 'base' | 'mine' | 'theirs';

/**
 * Renders one value in place of the default text: return a template or a string, or undefined for the default.
 * Whatever it returns goes through Lit bindings, so strings are shown as text, never parsed as HTML.
 */
export type ConflictValueRenderer = (
  value: unknown,
  field: string,
  side: ConflictSide,
) => TemplateResult | string | undefined;

/** A field's choice. */
type Choice = 'mine' | 'theirs' | 'edit';

/** What the user has chosen for one conflict so far. */
interface Draft {
  /** The conflict version the draft was made for: a conflict detected again starts afresh. */
  detectedAt: number;
  /** The server copy the choices were made against (a pull may bring a newer one into the open conflict). */
  theirs: Data | null;
  theirsVersion: number | null;
  /** This device's copy the choices were made against (an edit made meanwhile replaces it in the conflict). */
  mine: Data | null;
  mineRev: number | undefined;
  /** The server copy moved under the draft: the fields it changed were set again, and the user is told. */
  moved: boolean;
  choices: Record<string, Choice>;
  /** Text typed for edited fields. */
  edits: Record<string, string>;
  /** Fields whose edited text is not a valid value, after Apply. */
  invalid: string[];
  /** The whole-item choice when one side deleted it. */
  whole: 'mine' | 'theirs';
  busy: boolean;
  error: string;
}

type Data = Record<string, unknown>;

const own = (data: Data | null, field: string) =>
  data !== null && Object.hasOwn(data, field) ? data[field] : undefined;

/** A field's own entry: `record[field]` reads `Object.prototype` for a field named `__proto__` that it lacks. */
function ownEntry<T>(record: Record<string, T>, field: string): T | undefined {
  return Object.hasOwn(record, field) ? record[field] : undefined;
}

/**
 * Sets a field as an own property, also one named `__proto__`: an assignment would go through the `__proto__`
 * setter instead, and the field would be lost from the choices and from the data sent back.
 */
function setEntry<T>(record: Record<string, T>, field: string, value: T): void {
  Object.defineProperty(record, field, { value, enumerable: true, writable: true, configurable: true });
}

/** Structural equality of JSON-like values (key order ignored), as the engine compares them. */
function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (
    typeof a !== 'object' ||
    typeof b !== 'object' ||
    a === null ||
    b === null ||
    Array.isArray(a) !== Array.isArray(b)
  )
    return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && same((a as Data)[k], (b as Data)[k]));
}

/** A value as plain text: strings as they are, everything else as JSON. */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}

/**
 * The open Background Sync conflicts (`client.conflicts$`), or only those of one item (`entity`, optionally
 * with `collection`). For each: every field with its value before, yours and the server's, side by side;
 * a value that differs from before says "changed" in words, and fields changed on both sides come first,
 * marked "changed on both sides". Each field is a radio group: yours, the server's, or an edited value (text,
 * read as JSON when the original value was not text, with an inline error when it is not valid). "Keep all
 * of yours" and "Keep all of the server's" set every field. When one side deleted the item, the choice is
 * for the whole item. Apply calls `client.resolve` with `{ choose }` when the result is one side whole, else
 * with `{ data }`; Cancel puts the choices back.
 *
 * Values are always rendered as text; `renderValue` can show them another way. After Apply, focus moves to
 * the next conflict's heading (or the previous one's, or the empty message), never to `<body>`.
 *
 * Announces, through the page's announcer, more open conflicts ("2 conflicts need your decision") and a
 * conflict resolved here ("Conflict resolved"). `silent` stops it.
 *
 * @summary Side-by-side conflict resolution, field by field.
 *
 * @slot empty - Replaces the empty-state text.
 *
 * @csspart base - The whole resolver.
 * @csspart list - The list of conflicts.
 * @csspart conflict - One conflict.
 * @csspart heading - A conflict's heading (role heading, level `heading-level`).
 * @csspart notice - What a delete on one side means.
 * @csspart all-mine - The "Keep all of yours" button.
 * @csspart all-theirs - The "Keep all of the server's" button.
 * @csspart fields - The grid of fields.
 * @csspart columns - The column headings.
 * @csspart field - One field's row (a radio group).
 * @csspart field-name - A field's name.
 * @csspart marker - A text marker: "changed", "changed on both sides".
 * @csspart value - One value (before, yours or the server's).
 * @csspart choice - One radio choice with its label.
 * @csspart edit-input - The text field of an edited value.
 * @csspart field-error - The error under an invalid edited value.
 * @csspart whole - The whole-item choice when one side deleted the item.
 * @csspart moved - Said when the server's copy changed while the user was choosing (the fields it changed are set again).
 * @csspart error - Why applying failed.
 * @csspart apply - The Apply button.
 * @csspart cancel - The Cancel button.
 * @csspart empty - The empty state.
 * @csspart ended - "Sync stopped: reload the page", in place of the conflicts once the client's live queries
 *   have ended (the client closed, or the page must reload): they can no longer be resolved from here.
 *
 * @cssprop --conflict-resolver-color - Text color (falls back to --syncline-color).
 * @cssprop --conflict-resolver-background - Background (falls back to --syncline-background).
 * @cssprop --conflict-resolver-border-color - Frame and separators (falls back to --syncline-border-color).
 * @cssprop --conflict-resolver-muted-color - Column headings and absent values (falls back to --syncline-muted-color).
 * @cssprop --conflict-resolver-changed-background - Background of a changed value (always with the "changed" marker).
 * @cssprop --conflict-resolver-conflict-color - The "changed on both sides" marker (falls back to --syncline-conflict-color).
 * @cssprop --conflict-resolver-error-color - Error text (falls back to --syncline-error-color).
 * @cssprop --conflict-resolver-focus-color - Focus ring (falls back to --syncline-focus-color).
 * @cssprop --conflict-resolver-button-background - Button background (falls back to --syncline-button-background).
 * @cssprop --conflict-resolver-button-color - Button text (falls back to --syncline-button-color).
 * @cssprop --conflict-resolver-button-border-color - Button border (falls back to --syncline-button-border-color).
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
 * @fires {ConflictResolveEvent} conflict-resolve - When the user applies a resolution; cancel it to skip `client.resolve`.
 * @fires {ConflictResolvedEvent} conflict-resolved - After `client.resolve` succeeded, with the entity as it now stands.
 * @fires {ConflictCancelEvent} conflict-cancel - When the user presses Cancel (the choices go back to their defaults).
 */
export class ConflictResolverElement extends SyncElement {
  static override styles = styles;

  /** Show only the conflict of this entity id. */
  @property() entity: string | undefined;

  /** Show only conflicts of this collection (with `entity`: that entity of this collection). */
  @property() collection: string | undefined;

  /** The level (1–6) of each conflict's heading, to fit the page's outline. */
  @property({ type: Number, attribute: 'heading-level' }) headingLevel = 3;

  /** Announce nothing (the conflicts still show). */
  @property({ type: Boolean, reflect: true }) silent = false;

  /** Shows a value another way (a colour swatch, a date); undefined falls back to the text. */
  @property({ attribute: false }) renderValue: ConflictValueRenderer | undefined;

  /** The conflicts shown (after the `entity` and `collection` filters), oldest first; undefined until known. */
  get conflicts(): readonly Conflict[] | undefined {
    const all = this.all.value;
    return all?.filter(
      (c) => (!this.entity || c.entityId === this.entity) && (!this.collection || c.collection === this.collection),
    );
  }

  private readonly all = new ObservableController<Conflict[]>(this, { onValue: () => this.conflictsChanged() });
  /** Choices per conflict id. */
  @state() private drafts: ReadonlyMap<string, Draft> = new Map();
  /** The count last announced; undefined until the first list, which is the baseline. */
  private spoken: number | undefined;
  /** A resolution was applied here since the last announcement. */
  private resolvedHere = false;
  /** What the user must hear besides the counts (a refused resolve, a copy that moved), until the announcer says it. */
  private unsaid: string[] = [];
  /** The conflict that held focus before this update, and its place in the list. */
  private focusBefore: { id: string; index: number } | undefined;
  /** Fields whose edit input must take focus after this render. */
  private focusEdit: string | undefined;

  protected override willUpdate(changed: PropertyValues): void {
    if (changed.has('client')) {
      this.spoken = undefined;
      this.all.observe(this.client?.conflicts$);
    }
    if (changed.has('entity') || changed.has('collection')) this.spoken = undefined;
    if (changed.has('silent') && this.silent) {
      // What the cancelled announcement was to say is dropped with it: silence does not catch up later.
      this.announcer.cancel(this);
      this.unsaid = [];
      this.resolvedHere = false;
    }
    const active = this.shadowRoot?.activeElement?.closest<HTMLElement>('[data-conflict]');
    this.focusBefore = active ? { id: active.dataset.conflict!, index: Number(active.dataset.index) } : undefined;
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    const root = this.shadowRoot!;
    if (this.focusEdit) {
      root.querySelector<HTMLInputElement>(`input[data-edit="${CSS.escape(this.focusEdit)}"]`)?.focus();
      this.focusEdit = undefined;
    }
    const before = this.focusBefore;
    this.focusBefore = undefined;
    if (!before || root.activeElement || root.querySelector(`[data-conflict="${CSS.escape(before.id)}"]`)) return;
    const active = this.ownerDocument.activeElement;
    // Focus went somewhere else on the page on purpose: leave it there.
    if (active && active !== this.ownerDocument.body && active !== this) return;
    // The conflict that held focus has gone (resolved here or elsewhere): the next one, the previous one, or the empty message.
    const headings = [...root.querySelectorAll<HTMLElement>('[part="heading"]')];
    const target =
      headings[before.index] ?? headings[before.index - 1] ?? root.querySelector<HTMLElement>('[part="empty"]');
    target?.focus();
  }

  protected override render() {
    if (!this.client) return this.renderNoProvider();
    if (this.ended) return this.renderEnded();
    const conflicts = this.conflicts;
    if (!conflicts)
      return html`<div part="base" class="base"><p class="empty" tabindex="-1">${this.text.loading}</p></div>`;
    return html`<div part="base" class="base">
      ${
        conflicts.length === 0
          ? html`<p part="empty" class="empty" tabindex="-1"><slot name="empty">${this.text.conflictsEmpty}</slot></p>`
          : html`<div part="list" class="list">${repeat(
              conflicts,
              (c) => c.id,
              (c, index) => this.renderConflict(c, index),
            )}</div>`
      }
    </div>`;
  }

  private renderConflict(conflict: Conflict, index: number): TemplateResult {
    const text = this.text;
    const draft = this.draftOf(conflict);
    const level = Math.min(6, Math.max(1, Math.round(this.headingLevel) || 3));
    const id = `c${index}`;
    const deleted = conflict.mine === null || conflict.theirs === null;
    return html`<section part="conflict" class="conflict" aria-labelledby="${id}-heading" data-conflict=${conflict.id} data-index=${index}>
      <span part="heading" class="heading" id="${id}-heading" role="heading" aria-level=${level} tabindex="-1"
        >${text.conflictHeading(conflict.collection, conflict.entityId)}</span
      >
      ${
        deleted
          ? html`<p part="notice" class="notice">${conflict.theirs === null ? text.deletedOnServer : text.deletedHere}</p>`
          : html`<div class="toolbar">
            <button part="all-mine" type="button" @click=${() => this.setAll(conflict, 'mine')}>${text.allMine}</button>
            <button part="all-theirs" type="button" @click=${() => this.setAll(conflict, 'theirs')}>${text.allTheirs}</button>
          </div>`
      }
      <div part="fields" class="fields">
        <div part="columns" class="row columns" aria-hidden="true">
          <span></span><span>${text.sideBase}</span><span>${text.sideMine}</span><span>${text.sideTheirs}</span>
        </div>
        ${this.fieldsOf(conflict).map((field, n) => this.renderField(conflict, draft, field, `${id}-f${n}`, deleted))}
      </div>
      ${deleted ? this.renderWhole(conflict, draft, id) : nothing}
      ${draft.moved ? html`<p part="moved">${text.conflictMoved}</p>` : nothing}
      ${draft.error ? html`<p part="error" class="error">${draft.error}</p>` : nothing}
      <div class="actions">
        <button part="apply" type="button" aria-disabled=${draft.busy ? 'true' : 'false'} @click=${() => this.apply(conflict)}>${text.apply}</button>
        <button part="cancel" type="button" @click=${() => this.cancel(conflict)}>${text.cancel}</button>
      </div>
    </section>`;
  }

  /** One field: its name and markers, the value before, and yours and the server's as radio choices (or plain, after a delete). */
  private renderField(conflict: Conflict, draft: Draft, field: string, id: string, deleted: boolean): TemplateResult {
    const text = this.text;
    const both = conflict.fields.includes(field);
    const base = own(conflict.base, field);
    const mine = own(conflict.mine, field);
    const theirs = own(conflict.theirs, field);
    const mineChanged = conflict.mine !== null && !same(mine, base);
    const theirsChanged = conflict.theirs !== null && !same(theirs, base);
    const name = html`<span part="field-name" class="name" id="${id}-name"
      >${field}${both ? html` <span part="marker" class="marker both">${text.conflictMarker}</span>` : nothing}</span
    >`;
    const baseCell = html`<div class="cell"><span class="visually-hidden">${text.sideBase}: </span>${this.renderSide(conflict.base, field, 'base')}</div>`;
    if (deleted) {
      return html`<div part="field" class="row" role="group" aria-labelledby="${id}-name">
        ${name} ${baseCell}
        <div class="cell ${mineChanged ? 'changed' : ''}"><span class="visually-hidden">${text.sideMine}: </span>${this.renderSide(conflict.mine, field, 'mine')}${this.changed(mineChanged)}</div>
        <div class="cell ${theirsChanged ? 'changed' : ''}"><span class="visually-hidden">${text.sideTheirs}: </span>${this.renderSide(conflict.theirs, field, 'theirs')}${this.changed(theirsChanged)}</div>
      </div>`;
    }
    const choice = ownEntry(draft.choices, field);
    const group = `${conflict.id}:${field}`;
    const invalid = draft.invalid.includes(field);
    const radio = (
      value: Choice,
      label: string,
      content: unknown,
      changed: boolean,
    ) => html`<label part="choice" class="choice cell ${changed ? 'changed' : ''}">
      <input type="radio" name=${group} .value=${value} .checked=${choice === value} @change=${() => this.choose(conflict, field, value)} />
      <span><span class="visually-hidden">${label}: </span>${content}${this.changed(changed)}</span>
    </label>`;
    return html`<div part="field" class="row" role="radiogroup" aria-labelledby="${id}-name">
      ${name} ${baseCell}
      ${radio('mine', text.chooseMine, this.renderSide(conflict.mine, field, 'mine'), mineChanged)}
      ${radio('theirs', text.chooseTheirs, this.renderSide(conflict.theirs, field, 'theirs'), theirsChanged)}
      <div class="edit">
        <label part="choice" class="choice"
          ><input type="radio" name=${group} .value=${'edit'} .checked=${choice === 'edit'} @change=${() => this.choose(conflict, field, 'edit')} />${text.chooseEdit}</label
        >
        ${
          choice === 'edit'
            ? html`<input
                part="edit-input"
                type="text"
                data-edit=${group}
                aria-label=${text.editValueLabel(field)}
                aria-invalid=${invalid ? 'true' : 'false'}
                aria-describedby=${invalid ? `${id}-error` : nothing}
                .value=${ownEntry(draft.edits, field) ?? ''}
                @input=${(event: Event) => this.typed(conflict, field, (event.target as HTMLInputElement).value)}
              />
              ${invalid ? html`<p part="field-error" class="field-error" id="${id}-error">${text.invalidValue(field)}</p>` : nothing}`
            : nothing
        }
      </div>
    </div>`;
  }

  /** The whole-item choice when one side deleted it. */
  private renderWhole(conflict: Conflict, draft: Draft, id: string): TemplateResult {
    const text = this.text;
    const [mineLabel, theirsLabel] =
      conflict.theirs === null ? [text.keepMyEdit, text.acceptDelete] : [text.keepMyDelete, text.keepServerCopy];
    const name = `${conflict.id}:whole`;
    return html`<div part="whole" class="whole" role="radiogroup" aria-labelledby="${id}-whole">
      <span id="${id}-whole" class="name">${text.wholeChoices}</span>
      <label part="choice" class="choice"
        ><input type="radio" name=${name} .checked=${draft.whole === 'mine'} @change=${() => this.revise(conflict, { whole: 'mine' })} />${mineLabel}</label
      >
      <label part="choice" class="choice"
        ><input type="radio" name=${name} .checked=${draft.whole === 'theirs'} @change=${() => this.revise(conflict, { whole: 'theirs' })} />${theirsLabel}</label
      >
    </div>`;
  }

  /** A side's value of a field: deleted, absent, the app's rendering, or the value as text. */
  private renderSide(data: Data | null, field: string, side: ConflictSide): unknown {
    const text = this.text;
    if (data === null)
      return html`<span part="value" class="value absent">${side === 'base' ? text.valueAbsent : text.valueDeleted}</span>`;
    if (!Object.hasOwn(data, field)) return html`<span part="value" class="value absent">${text.valueAbsent}</span>`;
    const value = data[field];
    const custom = this.renderValue?.(value, field, side);
    return html`<span part="value" class="value">${custom ?? asText(value)}</span>`;
  }

  private changed(changed: boolean) {
    return changed ? html` <span part="marker" class="marker">${this.text.changedMarker}</span>` : nothing;
  }

  /** Fields changed on both sides first (in the conflict's order), then the rest in the order they appear. */
  private fieldsOf(conflict: Conflict): string[] {
    const fields = new Set(conflict.fields);
    for (const data of [conflict.mine, conflict.theirs, conflict.base])
      if (data) for (const key of Object.keys(data)) fields.add(key);
    return [...fields];
  }

  /** The draft of a conflict, or its defaults: the changed side for fields changed on one side, yours where both changed. */
  private draftOf(conflict: Conflict): Draft {
    const existing = this.drafts.get(conflict.id);
    if (
      existing &&
      existing.detectedAt === conflict.detectedAt &&
      existing.theirsVersion === conflict.theirsVersion &&
      existing.mineRev === conflict.mineRev
    )
      return existing;
    const choices: Record<string, Choice> = {};
    const edits: Record<string, string> = {};
    // The same conflict with a newer server copy, or a newer edit of this device's: what the user chose stands for
    // the fields both copies left as they were; the others start again from their defaults.
    const kept = existing?.detectedAt === conflict.detectedAt ? existing : undefined;
    let moved = false;
    for (const field of this.fieldsOf(conflict)) {
      const theirsKept = kept && same(own(kept.theirs, field), own(conflict.theirs, field));
      const unchanged = theirsKept && same(own(kept.mine, field), own(conflict.mine, field));
      const chosen = unchanged ? ownEntry(kept.choices, field) : undefined;
      if (chosen !== undefined) {
        setEntry(choices, field, chosen);
        const typed = ownEntry(kept!.edits, field);
        if (typed !== undefined) setEntry(edits, field, typed);
        continue;
      }
      // Only the server's change is news: the user made their own edit.
      if (kept && !theirsKept) moved = true;
      const base = own(conflict.base, field);
      const mineChanged = !same(own(conflict.mine, field), base);
      const theirsChanged = !same(own(conflict.theirs, field), base);
      setEntry(choices, field, theirsChanged && !mineChanged ? 'theirs' : 'mine');
    }
    return {
      detectedAt: conflict.detectedAt,
      theirs: conflict.theirs,
      theirsVersion: conflict.theirsVersion,
      mine: conflict.mine,
      mineRev: conflict.mineRev,
      moved: moved || (kept?.moved ?? false),
      choices,
      edits,
      invalid: [],
      whole: kept?.whole ?? 'mine',
      busy: kept?.busy ?? false,
      error: '',
    };
  }

  private revise(conflict: Conflict, change: Partial<Draft>): void {
    const drafts = new Map(this.drafts);
    drafts.set(conflict.id, { ...this.draftOf(conflict), ...change });
    this.drafts = drafts;
  }

  private choose(conflict: Conflict, field: string, choice: Choice): void {
    const draft = this.draftOf(conflict);
    const edits = { ...draft.edits };
    // The edit starts from the value chosen so far, as the user would type it.
    if (choice === 'edit' && ownEntry(edits, field) === undefined) {
      const from = own(ownEntry(draft.choices, field) === 'theirs' ? conflict.theirs : conflict.mine, field);
      setEntry(edits, field, from === undefined ? '' : asText(from));
    }
    this.revise(conflict, {
      choices: { ...draft.choices, [field]: choice },
      edits,
      invalid: draft.invalid.filter((f) => f !== field),
      error: '',
    });
  }

  private typed(conflict: Conflict, field: string, value: string): void {
    const draft = this.draftOf(conflict);
    this.revise(conflict, {
      edits: { ...draft.edits, [field]: value },
      invalid: draft.invalid.filter((f) => f !== field),
    });
  }

  private setAll(conflict: Conflict, side: 'mine' | 'theirs'): void {
    const draft = this.draftOf(conflict);
    const choices = Object.fromEntries(Object.keys(draft.choices).map((field) => [field, side]));
    this.revise(conflict, { choices, invalid: [], error: '' });
  }

  private cancel(conflict: Conflict): void {
    const drafts = new Map(this.drafts);
    drafts.delete(conflict.id);
    this.drafts = drafts;
    const event = new ConflictCancelEvent(conflict);
    this.dispatchEvent(event);
  }

  /**
   * The resolution the draft amounts to: one side whole when the result equals it, else the data field by field.
   * Undefined (with the invalid fields marked) while an edited value does not parse.
   */
  private resolutionOf(conflict: Conflict, draft: Draft): Resolution | undefined {
    if (conflict.mine === null || conflict.theirs === null) return { choose: draft.whole };
    const data: Data = {};
    const invalid: string[] = [];
    for (const [field, choice] of Object.entries(draft.choices)) {
      if (choice === 'edit') {
        const typed = ownEntry(draft.edits, field) ?? '';
        const original = own(conflict.mine, field) ?? own(conflict.theirs, field);
        // Text stays text; any other value is read back as JSON (a number, a flag, a list).
        if (typeof original === 'string') setEntry<unknown>(data, field, typed);
        else {
          try {
            setEntry(data, field, JSON.parse(typed));
          } catch {
            invalid.push(field);
          }
        }
        continue;
      }
      const source = choice === 'mine' ? conflict.mine : conflict.theirs;
      if (Object.hasOwn(source, field)) setEntry(data, field, source[field]);
    }
    if (invalid.length > 0) {
      this.revise(conflict, { invalid });
      this.focusEdit = `${conflict.id}:${invalid[0]}`;
      return undefined;
    }
    if (same(data, conflict.mine)) return { choose: 'mine' };
    if (same(data, conflict.theirs)) return { choose: 'theirs' };
    return { data };
  }

  private async apply(conflict: Conflict): Promise<void> {
    const draft = this.draftOf(conflict);
    const client = this.client;
    if (draft.busy || !client) return;
    const resolution = this.resolutionOf(conflict, draft);
    if (!resolution) return;
    // Dispatched through a variable: the manifest analyzer reads `dispatchEvent(new X(arg))` as an event named by `arg`.
    const event = new ConflictResolveEvent(conflict, resolution);
    if (!this.dispatchEvent(event)) return;
    this.revise(conflict, { busy: true, error: '', invalid: [] });
    try {
      // On the copies shown: if a newer one came in meanwhile (a pull, an edit), the engine refuses, and it is shown.
      const on = { theirsVersion: conflict.theirsVersion, mineRev: conflict.mineRev };
      const result = await client.resolve(conflict.id, { ...resolution, ...on });
      this.resolvedHere = true;
      this.reportNews(true);
      const done = new ConflictResolvedEvent(conflict, result);
      this.dispatchEvent(done);
    } catch (error) {
      const message = this.text.resolveFailed((error as Error)?.message ?? String(error));
      this.revise(conflict, { busy: false, error: message });
      // Said through the page's one live region, like every other news (and silenced with it).
      this.unsaid.push(message);
      this.reportNews(true);
    }
  }

  private conflictsChanged(): void {
    // Drafts of conflicts that are gone are dropped.
    const ids = new Set((this.all.value ?? []).map((c) => c.id));
    if ([...this.drafts.keys()].some((id) => !ids.has(id)))
      this.drafts = new Map([...this.drafts].filter(([id]) => ids.has(id)));
    // A draft whose server copy changed under the user's choices: said once (its draft is kept as moved), as the
    // notice beside it shows.
    const moved = (this.all.value ?? []).flatMap((c) => {
      const draft = this.drafts.get(c.id);
      const now = draft && !draft.moved ? this.draftOf(c) : undefined;
      return now?.moved ? [[c.id, now] as const] : [];
    });
    if (moved.length > 0) {
      this.drafts = new Map([...this.drafts, ...moved]);
      this.unsaid.push(this.text.conflictMoved);
    }
    this.reportNews(moved.length > 0);
  }

  private reportNews(force: boolean): void {
    const count = this.conflicts?.length;
    if (count === undefined) return;
    if (this.spoken === undefined || this.silent) {
      // Silence keeps the baseline current: un-silencing must not announce what happened meanwhile.
      this.spoken = count;
      this.resolvedHere = false;
      this.unsaid = [];
      return;
    }
    if (force || count > this.spoken) this.announce(() => this.news());
    else this.spoken = Math.min(this.spoken, count);
  }

  /** A resolution applied here, and more conflicts than were last announced. */
  private news(): string {
    const count = this.conflicts?.length ?? 0;
    const parts = this.unsaid;
    this.unsaid = [];
    if (this.resolvedHere) parts.push(this.text.conflictResolved);
    if (count > (this.spoken ?? 0)) parts.push(this.text.conflictsNeedDecision(count));
    this.resolvedHere = false;
    this.spoken = count;
    return parts.join('. ');
  }
}
