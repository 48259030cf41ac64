// The styles of <pending-badge>: its own tokens mapped to private properties, light and dark defaults, and its parts.
import { css } from 'lit';
import { sharedStyles } from '../internal/styles.ts';

/** `static styles` of <pending-badge>. */
export const styles = [
  sharedStyles,
  css`
    :host {
      display: inline-block;
      --_color: var(--pending-badge-color, #ffffff);
      --_bg: var(--pending-badge-background, #8a5a00);
      --_failed-bg: var(--pending-badge-failed-background, #b3261e);
      --_conflict-bg: var(--pending-badge-conflict-background, #6a1b9a);
      --_saved-bg: var(--pending-badge-saved-background, var(--pending-badge-idle-background, #3d6b35));
    }
    @media (prefers-color-scheme: dark) {
      :host {
        --_color: var(--pending-badge-color, #1a1a1a);
        --_bg: var(--pending-badge-background, #ffcf70);
        --_failed-bg: var(--pending-badge-failed-background, #ffb4ab);
        --_conflict-bg: var(--pending-badge-conflict-background, #e1b6ff);
        --_saved-bg: var(--pending-badge-saved-background, var(--pending-badge-idle-background, #a5d6a7));
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
    :host([state='saved']) .base {
      background: var(--_saved-bg);
    }
    .icon {
      width: 1em;
      height: 1em;
      flex: none;
    }
  `,
];
