// The styles of <sync-provider>: it takes no room of its own; only its error, when it cannot create its client, shows.
import { css } from 'lit';
import { sharedTokens } from '../internal/styles.ts';

/** `static styles` of <sync-provider>. */
export const styles = [
  sharedTokens('sync-provider', ['error-color']),
  css`
    :host {
      display: contents;
    }
    .error {
      margin: 0.25em 0;
      padding: 0.25em 0.5em;
      border: 1px solid currentColor;
      border-radius: 0.25em;
      color: var(--_error);
      font-size: 0.875em;
      overflow-wrap: anywhere;
    }
  `,
];
