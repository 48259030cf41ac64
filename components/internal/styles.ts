// Styles shared by the elements: light and dark defaults that follow the page's colour scheme, the shared --syncline-* tokens behind each element's own, buttons, focus, hiding and the "no provider" note.
import { css, unsafeCSS, type CSSResult } from 'lit';

/** A private property's default: the tokens read first (outermost first), then the light and the dark colour. */
export type SchemeDefault = readonly [tokens: readonly string[], light: string, dark: string];

/**
 * `:host` rules giving private properties (`--_error`, …) their tokens over a light and a dark default. The
 * default is `light-dark()`, which resolves against the `color-scheme` the element inherits, i.e. the page's: a
 * page that does not declare `color-scheme: dark` (or `light dark`) stays light whatever the OS prefers. Switching
 * on `prefers-color-scheme` alone gave a page with no dark theme pale warnings on white (1.7:1) and dark boxes.
 * An engine without light-dark() (Chrome < 123, Firefox < 120, Safari < 17.5) would drop every such colour,
 * so it gets the OS preference, as before, rather than none.
 */
export function schemeDefaults(defaults: Record<string, SchemeDefault>): CSSResult {
  const declarations = (colour: (light: string, dark: string) => string) =>
    Object.entries(defaults)
      .map(
        ([property, [tokens, light, dark]]) =>
          `${property}: ${tokens.reduceRight((inner, token) => `var(${token}, ${inner})`, colour(light, dark))};`,
      )
      .join('\n');
  return unsafeCSS(`
    :host { ${declarations((light, dark) => `light-dark(${light}, ${dark})`)} }
    @supports not (color: light-dark(#000, #fff)) {
      :host { ${declarations((light) => light)} }
      @media (prefers-color-scheme: dark) { :host { ${declarations((_, dark) => dark)} } }
    }
  `);
}

/**
 * The shared palette, light and dark. Every element reads `--<element>-<token>` first, then
 * `--syncline-<token>`, then these defaults: one `--syncline-*` override themes every element, and an
 * element's own token still wins for that element. Dark values keep text at 4.5:1 and the focus ring at 3:1 or
 * more on the dark backgrounds. (The badge's and marker's state fills are their own: each is paired with its text.)
 */
const sharedDefaults = {
  light: {
    color: '#1a1a1a',
    background: '#ffffff',
    'border-color': '#d0d0d0',
    'muted-color': '#595959',
    'error-color': '#b3261e',
    'conflict-color': '#6a1b9a',
    'focus-color': '#0b57d0',
    'button-background': '#ffffff',
    'button-color': '#1a1a1a',
    'button-border-color': '#6b6b6b',
  },
  dark: {
    color: '#f1f1f1',
    background: '#1e1e1e',
    'border-color': '#4a4a4a',
    'muted-color': '#bdbdbd',
    'error-color': '#ffb4ab',
    'conflict-color': '#e1b6ff',
    'focus-color': '#a8c7fa',
    'button-background': '#2b2b2b',
    'button-color': '#f1f1f1',
    'button-border-color': '#8a8a8a',
  },
} as const;

/** Private property each shared token lands in. */
const privateNames = {
  color: '--_color',
  background: '--_bg',
  'border-color': '--_border',
  'muted-color': '--_muted',
  'error-color': '--_error',
  'conflict-color': '--_conflict',
  'focus-color': '--_focus',
  'button-background': '--_button-bg',
  'button-color': '--_button-fg',
  'button-border-color': '--_button-border',
} as const;

/** A token of the shared palette: `--syncline-<token>`. */
export type PaletteToken = keyof typeof privateNames;

/** Every token of the shared palette. */
export const paletteTokens = Object.keys(privateNames) as PaletteToken[];

/** The tokens of the focus ring and buttons, which every element with controls uses. */
export const controlTokens: readonly PaletteToken[] = [
  'focus-color',
  'button-background',
  'button-color',
  'button-border-color',
];

/**
 * The `:host` rules mapping `--<element>-<token>` over `--syncline-<token>` to the private property the shared
 * and the element's own styles use (`--_color`, `--_bg`, `--_focus`, …), with light and dark defaults.
 */
export function sharedTokens(element: string, tokens: readonly PaletteToken[] = paletteTokens): CSSResult {
  return schemeDefaults(
    Object.fromEntries(
      tokens.map((token) => [
        privateNames[token],
        [[`--${element}-${token}`, `--syncline-${token}`], sharedDefaults.light[token], sharedDefaults.dark[token]],
      ]),
    ),
  );
}

export const sharedStyles = [
  schemeDefaults({ '--_note': [['--syncline-error-color'], '#8a1c00', '#ffb59e'] }),
  css`
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
    color: var(--_note);
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
`,
];
