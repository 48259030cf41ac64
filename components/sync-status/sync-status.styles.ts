// The styles of <sync-status>: its own tokens mapped to private properties, light and dark defaults, and its parts.
import { css } from 'lit';
import { controlTokens, sharedStyles, sharedTokens } from '../internal/styles.ts';

/** `static styles` of <sync-status>. */
export const styles = [
  sharedStyles,
  sharedTokens('sync-status', controlTokens),
  css`
    :host {
      display: block;
      --_color: var(--sync-status-color, var(--syncline-color, inherit));
      --_online: var(--sync-status-online-color, #2e7d32);
      --_offline: var(--sync-status-offline-color, #6b6b6b);
      --_degraded: var(--sync-status-degraded-color, #b26a00);
      --_warning: var(--sync-status-warning-color, var(--syncline-error-color, #b3261e));
    }
    @media (prefers-color-scheme: dark) {
      :host {
        --_online: var(--sync-status-online-color, #81c784);
        --_offline: var(--sync-status-offline-color, #bdbdbd);
        --_degraded: var(--sync-status-degraded-color, #ffb74d);
        --_warning: var(--sync-status-warning-color, var(--syncline-error-color, #ffb4ab));
      }
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
