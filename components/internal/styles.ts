// Styles shared by the elements: the shared --syncline-* tokens behind each element's own, buttons, focus, hiding and the "no provider" note.
import { css, unsafeCSS, type CSSResult } from 'lit';

/**
 * The defaults of the shared tokens, light and dark. Every element reads `--<element>-<token>` first, then
 * `--syncline-<token>`, then these: one `--syncline-*` override themes every element, and an element's own
 * token still wins for that element. Dark values keep the focus ring at 3:1 or more on dark backgrounds.
 */
const sharedDefaults = {
  light: { 'focus-color': '#0b57d0', 'button-background': '#ffffff', 'button-color': '#1a1a1a', 'button-border-color': '#6b6b6b' },
  dark: { 'focus-color': '#a8c7fa', 'button-background': '#2b2b2b', 'button-color': '#f1f1f1', 'button-border-color': '#8a8a8a' },
} as const;

/** Private property each shared token lands in. */
const privateNames = { 'focus-color': '--_focus', 'button-background': '--_button-bg', 'button-color': '--_button-fg', 'button-border-color': '--_button-border' } as const;

type Token = keyof typeof privateNames;

/**
 * The `:host` rules mapping `--<element>-focus-color` etc. over `--syncline-focus-color` etc. to the private
 * properties the shared button and focus styles use, with light and dark defaults.
 */
export function sharedTokens(element: string, tokens: readonly Token[] = ['focus-color', 'button-background', 'button-color', 'button-border-color']): CSSResult {
  const declarations = (scheme: 'light' | 'dark') =>
    tokens.map((token) => `${privateNames[token]}: var(--${element}-${token}, var(--syncline-${token}, ${sharedDefaults[scheme][token]}));`).join('\n');
  return unsafeCSS(`
    :host { ${declarations('light')} }
    @media (prefers-color-scheme: dark) { :host { ${declarations('dark')} } }
  `);
}

export const sharedStyles = css`
  :host([hidden]) {
    display: none !important;
  }
  /* An element's own display rules (.base { display: inline-flex }) must not bring back what [hidden] hides. */
  [hidden] {
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
    clip-path: inset(50%);
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
  button,
  select {
    font: inherit;
    border-radius: 0.25em;
    border: 1px solid var(--_button-border, #6b6b6b);
    background: var(--_button-bg, #ffffff);
    color: var(--_button-fg, #1a1a1a);
  }
  button {
    cursor: pointer;
    padding: 0.25em 0.75em;
  }
  select {
    padding: 0.125em 0.25em;
  }
  :focus-visible {
    outline: 2px solid var(--_focus, #0b57d0);
    outline-offset: 2px;
  }
  /* Unavailable for now but still focusable: focus is never dropped on <body> when a control stops applying. */
  button[aria-disabled='true'] {
    cursor: default;
    opacity: 0.6;
  }
  @media (prefers-color-scheme: dark) {
    .no-provider {
      color: #ffb59e;
    }
  }
`;
