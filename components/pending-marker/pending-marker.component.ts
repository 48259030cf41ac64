// <pending-marker>: a small "pending" / "failed" / "conflict" pill next to the item an operation touches.
import { css, html, nothing, type PropertyValues } from 'lit';
import { property } from 'lit/decorators.js';
import type { Operation } from '../../src/index.ts';
import { ObservableController } from '../controllers/observable-controller.ts';
import { sharedStyles } from '../internal/styles.ts';
import { SyncElement } from '../internal/sync-element.ts';

/** What the marker reflects in its `state` attribute: `none` when nothing is unsent for the entity. */
export const MarkerState = {
  None: 'none',
  Pending: 'pending',
  Failed: 'failed',
  Conflict: 'conflict',
} as const;
export type MarkerState = (typeof MarkerState)[keyof typeof MarkerState];

/**
 * A pill beside an item while any operation on it has not reached the server: "pending" (queued or
 * sending), "failed" or "conflict" (worst wins). Renders nothing when the item is saved.
 *
 * @summary Pending / failed / conflict pill for one entity.
 *
 * @slot - Replaces the pill's text (the state word by default).
 *
 * @csspart base - The pill.
 *
 * @cssprop --pending-marker-color - Text color.
 * @cssprop --pending-marker-background - Background while pending.
 * @cssprop --pending-marker-failed-background - Background when failed.
 * @cssprop --pending-marker-conflict-background - Background in conflict.
 */
export class PendingMarker extends SyncElement {
  static override styles = [
    sharedStyles,
    css`
      :host {
        display: inline-block;
        vertical-align: middle;
        --_color: var(--pending-marker-color, #1a1a1a);
        --_bg: var(--pending-marker-background, #ffe3a3);
        --_failed-bg: var(--pending-marker-failed-background, #ffd8d4);
        --_conflict-bg: var(--pending-marker-conflict-background, #f0dbff);
      }
      @media (prefers-color-scheme: dark) {
        :host {
          --_color: var(--pending-marker-color, #f5f5f5);
          --_bg: var(--pending-marker-background, #5c4300);
          --_failed-bg: var(--pending-marker-failed-background, #8c1d18);
          --_conflict-bg: var(--pending-marker-conflict-background, #5b2a7a);
        }
      }
      .base {
        display: inline-block;
        padding: 0 0.5em;
        border-radius: 999px;
        font-size: 0.75em;
        line-height: 1.6;
        color: var(--_color);
        background: var(--_bg);
      }
      :host([state='failed']) .base {
        background: var(--_failed-bg);
      }
      :host([state='conflict']) .base {
        background: var(--_conflict-bg);
      }
    `,
  ];

  /** The item, as "type/id" (e.g. "tasks/42"). */
  @property() entity: string | undefined;

  /** `none | pending | failed | conflict`. Reflected for styling; read-only in effect. */
  @property({ reflect: true }) state: MarkerState = MarkerState.None;

  /** The unsent operations on the entity, oldest first. */
  get operations(): readonly Operation[] {
    return this.ops.value ?? [];
  }

  private readonly ops = new ObservableController<Operation[]>(this);

  protected override willUpdate(changed: PropertyValues): void {
    if (changed.has('client') || changed.has('entity')) {
      this.ops.observe(this.client && this.entity ? this.client.watchOperations({ entity: this.entity }) : undefined);
    }
    this.state = this.computeState();
  }

  protected override render() {
    if (!this.client) return this.renderNoProvider();
    if (this.state === MarkerState.None) return nothing;
    const text = this.state === MarkerState.Conflict ? this.text.markerConflict : this.state === MarkerState.Failed ? this.text.markerFailed : this.text.markerPending;
    const latest = this.operations[this.operations.length - 1];
    const error = this.operations.find((op) => op.lastError)?.lastError?.message;
    return html`<span part="base" class="base" title=${[latest?.label, error].filter(Boolean).join(' — ')}><slot>${text}</slot></span>`;
  }

  private computeState(): MarkerState {
    const ops = this.operations;
    if (!this.client || ops.length === 0) return MarkerState.None;
    if (ops.some((op) => op.status === 'conflict')) return MarkerState.Conflict;
    if (ops.some((op) => op.status === 'failed')) return MarkerState.Failed;
    return MarkerState.Pending;
  }
}
