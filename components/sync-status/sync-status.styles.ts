// The styles of <sync-status>: its own tokens mapped to private properties, light and dark defaults, and its parts.
import { css } from 'lit';
import { controlTokens, schemeDefaults, sharedStyles, sharedTokens } from '../internal/styles.ts';

/** `static styles` of <sync-status>. */
export const styles = [
  sharedStyles,
  sharedTokens('sync-status', controlTokens),
  // It has no background of its own: its colours must suit the page's, so they follow the page's colour scheme.
  schemeDefaults({
    '--_online': [['--sync-status-online-color'], '#2e7d32', '#81c784'],
    '--_offline': [['--sync-status-offline-color'], '#6b6b6b', '#bdbdbd'],
    '--_degraded': [['--sync-status-degraded-color'], '#b26a00', '#ffb74d'],
    '--_warning': [['--sync-status-warning-color', '--syncline-error-color'], '#b3261e', '#ffb4ab'],
  }),
  css`
    :host {
      display: block;
      --_color: var(--sync-status-color, var(--syncline-color, inherit));
    }
    .base {
      color: var(--_color);
    }
    .line {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      gap: 0.25em 0.75em;
    }
    .dot {
      width: 0.625em;
      height: 0.625em;
      border-radius: 50%;
      background: var(--_offline);
    }
    :host([state='online']) .dot,
    :host([state='syncing']) .dot {
      background: var(--_online);
    }
    :host([state='degraded']) .dot,
    :host([state='paused']) .dot {
      background: var(--_degraded);
    }
    :host([state='unavailable']) .dot,
    :host([state='update-required']) .dot {
      background: var(--_warning);
    }
    .state {
      font-weight: 600;
    }
    .reason {
      overflow-wrap: anywhere;
    }
    p {
      margin: 0.25em 0 0;
      font-size: 0.875em;
    }
    .warning {
      color: var(--_warning);
      font-weight: 600;
    }
  `,
];
