// <pending-marker>: a small "pending" / "failed" / "conflict" pill next to the item an operation touches, its details shown on focus or hover.
import { html, nothing, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import type { DirtyEntity, Operation } from '../../src/index.ts';
import { ObservableController } from '../controllers/observable-controller.ts';
import { editMatches } from '../internal/filter.ts';
import { SyncElement } from '../internal/sync-element.ts';
import { styles } from './pending-marker.styles.ts';

/** What the marker reflects in its `state` attribute: `saved` when nothing is unsent for the entity (the badge's word too). */
export const MarkerState = {
  Saved: 'saved',
  Pending: 'pending',
  Failed: 'failed',
  Conflict: 'conflict',
} as const;
export type MarkerState = (typeof MarkerState)[keyof typeof MarkerState];

/**
 * Whether shown details go to the top layer (the Popover API): there no ancestor's `overflow` clips them and no
 * stacking context covers them. Read at each render, so an engine without it keeps the in-flow placement.
 */
const topLayer = (): boolean => typeof HTMLElement.prototype.showPopover === 'function';

/** Space kept between shown details and the viewport's edges, in CSS pixels. */
const VIEWPORT_MARGIN = 4;

/**
 * A pill beside an item while any operation on it has not reached the server, or while its Background
 * Sync edit is not pushed yet (the entity "type/id" is the collection and the entity id): "pending"
 * (queued, sending or not yet pushed), "failed" or "conflict" (worst wins). Renders nothing when the item is saved (a pill that has
 * focus then says "saved" until focus leaves it). The pill can be
 * focused: its details (the latest change's label and the error, if any) are its accessible description
 * and show beside it on focus or hover; Escape hides them again. Where the engine has the Popover API, shown
 * details are in the top layer, placed under the pill: a scrolling list or a card the marker sits in does not
 * clip them.
 *
 * @summary Pending / failed / conflict pill for one entity.
 *
 * @slot - Replaces the pill's text (the state word by default).
 *
 * @csspart base - The pill.
 * @csspart details - The label and error shown on focus or hover; a `popover` in the top layer while shown where
 *   the engine has the Popover API (`position: fixed`, its `left` and `top` set by the element).
 * @csspart ended - "Sync stopped: reload the page", in place of a pending, failed or conflict pill once the
 *   client's live queries have ended (the client closed, or the page must reload): that state is no longer live.
 *
 * @cssprop --pending-marker-color - Text color.
 * @cssprop --pending-marker-background - Background while pending.
 * @cssprop --pending-marker-failed-background - Background when failed.
 * @cssprop --pending-marker-conflict-background - Background in conflict.
 * @cssprop --pending-marker-details-color - Text color of the details.
 * @cssprop --pending-marker-details-background - Background of the details.
 * @cssprop --pending-marker-focus-color - Focus ring (falls back to --syncline-focus-color).
 * @cssprop --syncline-focus-color - Focus ring of every syncline element.
 */
export class PendingMarkerElement extends SyncElement {
  static override styles = styles;

  /** The item, as "type/id" (e.g. "tasks/42"). */
  @property() entity: string | undefined;

  /** `saved | pending | failed | conflict`. Reflected for styling; read-only in effect. */
  @property({ reflect: true }) state: MarkerState = MarkerState.Saved;

  /** The unsent operations on the entity, oldest first. */
  get operations(): readonly Operation[] {
    return this.ops.value ?? [];
  }

  /** The entity's unpushed Background Sync edit, if any. */
  get edit(): DirtyEntity | undefined {
    return this.edits.value?.find((edit) => editMatches(edit, this.entity));
  }

  private readonly ops = new ObservableController<Operation[]>(this);
  private readonly edits = new ObservableController<DirtyEntity[]>(this);
  /** The pill has focus, or the pointer is over the marker. */
  @state() private engaged = { focus: false, hover: false };
  /** Escape hid the details until focus or pointer leave. */
  @state() private dismissed = false;
  /** The document listening for Escape for this marker, if any. */
  private escapeOn: Document | null = null;
  /** Where this marker listens, while its details are shown, for what moves or narrows the space around the pill. */
  private layoutOn: EventTarget[] = [];

  constructor() {
    super();
    this.addEventListener('pointerenter', () => this.engage({ hover: true }));
    this.addEventListener('pointerleave', () => this.engage({ hover: false }));
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.listenForEscape(false);
    this.followLayout(false);
    // Moved (a list re-sorting) or removed: no pointerleave or blur reaches it on the way, so it forgets here that
    // it was hovered or focused. Otherwise its details would show again on reconnecting, with no Escape to hide them.
    this.engaged = { focus: false, hover: false };
    this.dismissed = false;
  }

  protected override willUpdate(changed: PropertyValues): void {
    if (changed.has('client') || changed.has('entity')) {
      this.ops.observe(this.client && this.entity ? this.client.watchOperations({ entity: this.entity }) : undefined);
      // One list shared by every marker on the page (the client shares it), filtered here.
      this.edits.observe(this.client && this.entity ? this.client.dirtyEntities$ : undefined);
    }
    this.state = this.computeState();
  }

  protected override render() {
    if (!this.client) return this.renderNoProvider();
    // Something was unsent when the client's live queries ended: its fate is unknown here now, so not "pending".
    if (this.ended && this.state !== MarkerState.Saved) return this.renderEnded();
    // A pill that holds focus stays (saying "saved") until focus leaves it: focus is never dropped on <body>.
    if (this.state === MarkerState.Saved && !this.engaged.focus) return nothing;
    const words = {
      saved: this.text.markerSaved,
      pending: this.text.markerPending,
      failed: this.text.markerFailed,
      conflict: this.text.markerConflict,
    };
    const text = words[this.state];
    const latest = this.operations[this.operations.length - 1];
    const edit = this.edit;
    const error = this.operations.find((op) => op.lastError)?.lastError?.message ?? edit?.lastError?.message;
    // An operation queued with an empty label is named by its kind: its error must still be reachable.
    const label =
      (latest?.label || latest?.kind) ??
      (edit ? this.text.editLabel(edit.collection, edit.id, edit.deleted) : undefined);
    const details = label ? this.text.markerDetails(label, error) : '';
    const shown = (this.engaged.focus || this.engaged.hover) && !this.dismissed;
    // A popover only while shown: a closed popover is display: none, and hidden the details must stay readable as
    // the pill's description. Removing the attribute hides an open popover (HTML's popover attribute change steps).
    const popover = shown && topLayer() ? 'manual' : nothing;
    return html`<span
        part="base"
        class="base"
        tabindex=${details || this.engaged.focus ? '0' : nothing}
        aria-describedby=${details ? 'details' : nothing}
        @focus=${() => this.engage({ focus: true })}
        @blur=${() => this.engage({ focus: false })}
        ><slot>${text}</slot></span
      >${
        details
          ? // Hidden visually, never from assistive technology: it is the pill's description whether shown or not.
            // eslint-disable-next-line lit-a11y/accessible-name -- a tooltip is named by its contents (ARIA 1.2), which the rule does not read
            html`<span part="details" id="details" role="tooltip" popover=${popover} class=${shown ? 'details shown' : 'details visually-hidden'}>${details}</span>`
          : nothing
      }`;
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    this.placeDetails();
  }

  /** Shows the details in the top layer when they are a popover, and places them; see `keepDetailsInView`. */
  private placeDetails(): void {
    const details = this.isConnected ? this.renderRoot.querySelector<HTMLElement>('[part="details"]') : null;
    const shown = !!details?.classList.contains('shown');
    // While shown, whatever moves the pill (a scrolling ancestor) or narrows the viewport (zoom, a phone turned) is followed.
    this.followLayout(shown);
    if (!details) return;
    if (!shown) {
      // Viewport coordinates left on the hidden details would offset their 1 px box and could widen a scroller.
      for (const name of ['left', 'top', 'translate', 'visibility']) details.style.removeProperty(name);
      details.removeAttribute('data-above');
      return;
    }
    if (!details.hasAttribute('popover')) {
      this.keepDetailsInView(details);
      return;
    }
    if (!details.matches(':popover-open')) details.showPopover();
    this.placeInTopLayer(details);
  }

  /**
   * Top-layer details are `position: fixed`: placed from the host's box, under the pill at its start edge (its
   * right edge in a right-to-left line), kept inside the viewport (WCAG 1.4.10), above the pill when there is no
   * room below it and there is room above.
   */
  private placeInTopLayer(details: HTMLElement): void {
    const root = this.ownerDocument.documentElement;
    const [width, height] = [root.clientWidth, root.clientHeight];
    const host = this.getBoundingClientRect();
    // The gap between the pill and the details is their transparent border, on the side facing the pill.
    details.removeAttribute('data-above');
    const box = details.getBoundingClientRect();
    const rtl = getComputedStyle(this).direction === 'rtl';
    let left = rtl ? host.right - box.width : host.left;
    left = Math.max(VIEWPORT_MARGIN, Math.min(left, width - VIEWPORT_MARGIN - box.width));
    let top = host.bottom;
    if (top + box.height > height && host.top - box.height >= 0) {
      details.setAttribute('data-above', '');
      top = host.top - box.height;
    } else top = Math.max(0, Math.min(top, height - box.height));
    details.style.left = `${Math.round(left)}px`;
    details.style.top = `${Math.round(top)}px`;
    // A pill scrolled out of its list's view (still focused) would leave its details floating over the page.
    details.style.visibility = clippedAway(this, host) ? 'hidden' : '';
  }

  /**
   * Where there is no top layer, shown details start at the pill's start edge; a pill near the viewport's other
   * edge (the end of a right-aligned line, a narrow phone) would put part of them off screen (WCAG 1.4.10): they are
   * moved back into view.
   */
  private keepDetailsInView(details: HTMLElement): void {
    details.style.removeProperty('translate');
    const width = this.ownerDocument.documentElement.clientWidth;
    const box = details.getBoundingClientRect();
    let shift = Math.min(0, width - VIEWPORT_MARGIN - box.right);
    shift = Math.max(shift, VIEWPORT_MARGIN - box.left);
    if (Math.abs(shift) >= 1) details.style.translate = `${Math.round(shift)}px 0`;
  }

  /**
   * Listens for resizes of the window the marker is in and for scrolls of any of its scrolling ancestors, or stops.
   * A scroll event neither bubbles nor leaves its shadow root: it is caught on its way down (capture) at the
   * window, and at each shadow root the marker is rendered through (a scrolling list inside another element).
   */
  private followLayout(on: boolean): void {
    const listening = this.layoutOn.length > 0;
    if (on === listening) return;
    for (const target of this.layoutOn) {
      target.removeEventListener('resize', this.onLayout);
      target.removeEventListener('scroll', this.onLayout, { capture: true });
    }
    this.layoutOn = [];
    const view = on ? this.ownerDocument.defaultView : null;
    if (!view) return;
    view.addEventListener('resize', this.onLayout);
    this.layoutOn.push(view);
    for (const root of shadowRootsAbove(this)) this.layoutOn.push(root);
    for (const target of this.layoutOn)
      target.addEventListener('scroll', this.onLayout, { capture: true, passive: true });
  }

  private readonly onLayout = (): void => this.placeDetails();

  private engage(change: Partial<{ focus: boolean; hover: boolean }>): void {
    this.engaged = { ...this.engaged, ...change };
    const engaged = this.engaged.focus || this.engaged.hover;
    if (!engaged) this.dismissed = false;
    // Escape must hide the details whether they came with focus or with the pointer (WCAG 1.4.13).
    this.listenForEscape(engaged);
  }

  /**
   * Listens for Escape on the document, or stops; removed from the document it was added to (moved to another
   * one, an iframe's, the element's ownerDocument is already the new one when it disconnects).
   */
  private listenForEscape(on: boolean): void {
    const doc = on ? this.ownerDocument : null;
    if (doc === this.escapeOn) return;
    this.escapeOn?.removeEventListener('keydown', this.onDocumentKeydown);
    doc?.addEventListener('keydown', this.onDocumentKeydown);
    this.escapeOn = doc;
  }

  private readonly onDocumentKeydown = (event: KeyboardEvent): void => {
    if (event.key !== 'Escape' || this.dismissed) return;
    this.dismissed = true;
  };

  private computeState(): MarkerState {
    const ops = this.operations;
    const edit = this.edit;
    if (!this.client || (ops.length === 0 && !edit)) return MarkerState.Saved;
    if (edit?.conflictId || ops.some((op) => op.status === 'conflict')) return MarkerState.Conflict;
    if (edit?.failed || ops.some((op) => op.status === 'failed')) return MarkerState.Failed;
    return MarkerState.Pending;
  }
}

/** The shadow roots `node` is rendered through, nearest first: its own tree's, and those of the slots it is assigned to. */
function shadowRootsAbove(node: Node): ShadowRoot[] {
  const roots: ShadowRoot[] = [];
  for (let at: Node | null = node; at; at = parentInFlatTree(at)) {
    // Not `instanceof`: a marker moved into an iframe's document is under nodes of another realm.
    if (at.nodeType === Node.DOCUMENT_FRAGMENT_NODE && (at as ShadowRoot).host) roots.push(at as ShadowRoot);
  }
  return roots;
}

/**
 * Whether `box` (the host's) lies wholly outside the visible area of an ancestor that clips its content (any
 * `overflow` but `visible`), up the flat tree: the clipping the top layer lifts from the details, checked for the pill.
 */
function clippedAway(node: Element, box: DOMRect): boolean {
  for (let at = parentInFlatTree(node); at; at = parentInFlatTree(at)) {
    if (at.nodeType !== Node.ELEMENT_NODE) continue;
    const style = getComputedStyle(at as Element);
    if (style.overflowX === 'visible' && style.overflowY === 'visible') continue;
    const view = (at as Element).getBoundingClientRect();
    if (box.right <= view.left || box.left >= view.right || box.bottom <= view.top || box.top >= view.bottom)
      return true;
  }
  return false;
}

/** The node `node` is rendered in: the slot it is assigned to, its parent, or a shadow root's host. */
function parentInFlatTree(node: Node): Node | null {
  if (node.nodeType === Node.DOCUMENT_FRAGMENT_NODE) return (node as ShadowRoot).host ?? null;
  return (node as Element).assignedSlot ?? node.parentNode;
}
