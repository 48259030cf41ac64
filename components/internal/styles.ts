// Styles shared by the elements: the visually-hidden helper, buttons and the "no provider" note.
import { css } from 'lit';

export const sharedStyles = css`
  :host([hidden]) {
    display: none !important;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    padding: 0;
    margin: -1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
    border: 0;
  }
  .no-provider {
    display: inline-block;
    padding: 0.125em 0.5em;
    border: 1px dashed currentColor;
    border-radius: 0.25em;
    font: inherit;
    font-size: 0.875em;
    color: #8a1c00;
  }
  button {
    font: inherit;
    cursor: pointer;
    padding: 0.25em 0.75em;
    border-radius: 0.25em;
    border: 1px solid var(--_button-border, #6b6b6b);
    background: var(--_button-bg, #ffffff);
    color: var(--_button-fg, #1a1a1a);
  }
  button:focus-visible {
    outline: 2px solid var(--_focus, #0b57d0);
    outline-offset: 2px;
  }
  button:disabled {
    cursor: default;
    opacity: 0.6;
  }
  @media (prefers-color-scheme: dark) {
    .no-provider {
      color: #ffb59e;
    }
  }
`;
