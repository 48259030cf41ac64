// The styles of <conflict-resolver>: its own tokens mapped to private properties, light and dark defaults, and its parts.
import { css } from 'lit';
import { schemeDefaults, sharedStyles, sharedTokens } from '../internal/styles.ts';

/** `static styles` of <conflict-resolver>. */
export const styles = [
  sharedStyles,
  sharedTokens('conflict-resolver'),
  schemeDefaults({ '--_changed-bg': [['--conflict-resolver-changed-background'], '#fff4d6', '#3d3000'] }),
  css`
    :host {
      display: block;
    }
    .base {
      color: var(--_color);
      background: var(--_bg);
    }
    .list {
      display: grid;
      gap: 1em;
    }
    .conflict {
      border: 1px solid var(--_border);
      border-radius: 0.375em;
      padding: 0.75em;
    }
    .heading {
      display: block;
      font-weight: 600;
      margin-bottom: 0.5em;
      overflow-wrap: anywhere;
    }
    .notice {
      margin: 0 0 0.5em;
    }
    .toolbar,
    .actions {
      display: flex;
      flex-wrap: wrap;
      gap: 0.5em;
      margin: 0.5em 0;
    }
    .fields {
      display: grid;
      grid-template-columns: minmax(6em, auto) repeat(3, minmax(0, 1fr));
      gap: 0.25em 0.75em;
      align-items: start;
    }
    .row {
      display: contents;
    }
    .columns > span {
      color: var(--_muted);
      font-size: 0.875em;
    }
    .name {
      font-weight: 600;
      overflow-wrap: anywhere;
    }
    .marker {
      display: inline-block;
      margin-inline-start: 0.25em;
      padding: 0 0.375em;
      border: 1px solid currentColor;
      border-radius: 999px;
      font-size: 0.75em;
      font-weight: 400;
    }
    .marker.both {
      color: var(--_conflict);
    }
    .cell {
      min-width: 0;
      padding: 0.125em 0.25em;
      border-radius: 0.25em;
    }
    .cell.changed {
      background: var(--_changed-bg);
    }
    .value {
      white-space: pre-wrap;
      overflow-wrap: anywhere;
    }
    .value.absent {
      color: var(--_muted);
      font-style: italic;
    }
    label.choice {
      display: flex;
      align-items: baseline;
      gap: 0.375em;
      cursor: pointer;
    }
    .edit {
      grid-column: 2 / -1;
      display: flex;
      flex-wrap: wrap;
      align-items: baseline;
      gap: 0.375em 0.75em;
    }
    input[type='text'] {
      font: inherit;
      min-width: 12em;
      flex: 1;
      color: inherit;
      background: transparent;
      border: 1px solid var(--_button-border, #6b6b6b);
      border-radius: 0.25em;
      padding: 0.125em 0.375em;
    }
    input[aria-invalid='true'] {
      border-color: var(--_error);
      border-width: 2px;
    }
    .field-error,
    .error {
      color: var(--_error);
      flex-basis: 100%;
      margin: 0;
      overflow-wrap: anywhere;
    }
    .whole {
      display: flex;
      flex-wrap: wrap;
      gap: 0.25em 1em;
      margin: 0.5em 0;
      padding: 0;
      border: 0;
    }
    .empty {
      margin: 0;
      padding: 1em 0.75em;
      color: var(--_muted);
    }
    @media (max-width: 30em) {
      .fields {
        grid-template-columns: minmax(0, 1fr);
      }
      .columns {
        display: none;
      }
      .edit {
        grid-column: auto;
      }
    }
  `,
];
