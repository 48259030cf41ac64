// The styles of <sync-outbox>: its own tokens mapped to private properties, light and dark defaults, and its parts.
import { css } from 'lit';
import { sharedStyles, sharedTokens } from '../internal/styles.ts';

/** `static styles` of <sync-outbox>. */
export const styles = [
  sharedStyles,
  sharedTokens('sync-outbox'),
  css`
    :host {
      display: block;
      --_height: var(--sync-outbox-height, 20rem);
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
    .confirm {
      display: contents;
    }
    .edits {
      border-top: 1px solid var(--_border);
    }
    .edits-heading {
      display: block;
      padding: 0.5em 0.75em 0;
    }
    .edit-list {
      list-style: none;
      margin: 0;
      padding: 0;
    }
    .edit-list .item:last-child {
      border-bottom: 0;
    }
    .action-error {
      margin: 0;
      padding: 0.5em 0.75em;
      color: var(--_error);
      font-weight: 600;
      overflow-wrap: anywhere;
    }
    .empty,
    .loading {
      margin: 0;
      padding: 1em 0.75em;
      color: var(--_muted);
    }
  `,
];
