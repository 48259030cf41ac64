// The styles of <pending-badge>: its own tokens mapped to private properties, light and dark defaults, and its parts.
import { css } from 'lit';
import { schemeDefaults, sharedStyles } from '../internal/styles.ts';

/** `static styles` of <pending-badge>. */
export const styles = [
  sharedStyles,
  schemeDefaults({
    '--_color': [['--pending-badge-color'], '#ffffff', '#1a1a1a'],
    '--_bg': [['--pending-badge-background'], '#8a5a00', '#ffcf70'],
    '--_failed-bg': [['--pending-badge-failed-background'], '#b3261e', '#ffb4ab'],
    '--_conflict-bg': [['--pending-badge-conflict-background'], '#6a1b9a', '#e1b6ff'],
    '--_saved-bg': [['--pending-badge-saved-background', '--pending-badge-idle-background'], '#3d6b35', '#a5d6a7'],
  }),
  css`
    :host {
      display: inline-block;
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
