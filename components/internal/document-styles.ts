// An element's styles in whatever document it lives in: Lit's shared stylesheets belong to the page they were made in.
import { adoptStyles, type CSSResultOrNative, type LitElement } from 'lit';

/** Each other window's copies of the styles, by the style they copy (made once per window). */
const copies = new WeakMap<Window, WeakMap<CSSResultOrNative, CSSStyleSheet>>();

/** The text of a style: a `css` result's, or a native sheet's rules. */
function cssTextOf(style: CSSResultOrNative): string {
  return style instanceof CSSStyleSheet ? [...style.cssRules].map((rule) => rule.cssText).join('\n') : style.cssText;
}

/** `style` as a stylesheet `view`'s documents may adopt: the same one in this window, a copy made there elsewhere. */
function sheetIn(view: Window & typeof globalThis, style: CSSResultOrNative): CSSStyleSheet {
  let made = copies.get(view);
  if (!made) copies.set(view, (made = new WeakMap()));
  let sheet = made.get(style);
  if (!sheet) {
    sheet = new view.CSSStyleSheet();
    sheet.replaceSync(cssTextOf(style));
    made.set(style, sheet);
  }
  return sheet;
}

/**
 * Gives `root` (the shadow root of `element`) its class's styles for the document the element is in now. In the page
 * Lit made them in, Lit's own shared sheets; in another (an iframe's, a popup's: the element was adopted into it),
 * copies made by that document's window, since a document may not adopt another's constructed sheets (Chromium
 * throws `NotAllowedError`, and the element renders nothing) and an element moved there keeps none.
 */
export function styleForDocument(element: LitElement, root: ShadowRoot): void {
  const styles = (element.constructor as typeof LitElement).elementStyles;
  const view = element.ownerDocument.defaultView as (Window & typeof globalThis) | null;
  // A document with no window (a template's content, createHTMLDocument) renders nothing: styled once it is
  // adopted where it can show (the page's sheets would throw there).
  if (!view && element.ownerDocument !== globalThis.document) return;
  if (!view || view === globalThis || !('adoptedStyleSheets' in root) || typeof view.CSSStyleSheet !== 'function') {
    adoptStyles(root, styles);
    return;
  }
  root.adoptedStyleSheets = styles.map((style) => sheetIn(view, style));
}

/**
 * What an element's `createRenderRoot` returns: its shadow root styled for the document it is in, with what the
 * root already holds kept before what is rendered (as LitElement's own does).
 */
export function documentRenderRoot(element: LitElement): ShadowRoot {
  const root = element.shadowRoot ?? element.attachShadow((element.constructor as typeof LitElement).shadowRootOptions);
  styleForDocument(element, root);
  element.renderOptions.renderBefore ??= root.firstChild;
  return root;
}
