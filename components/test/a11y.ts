// Helpers for the accessibility tests: contrast from computed styles, the effective background, deep focus, colour scheme, and a log of what live regions say.
import { emulateMedia } from '@web/test-runner-commands';

/** An sRGB colour with alpha, 0–255 and 0–1. */
export interface Rgba {
  r: number;
  g: number;
  b: number;
  a: number;
}

/** Parses a computed colour (`rgb()`/`rgba()`, or `color(srgb …)` as Chromium gives for some values). */
export function parseColor(value: string): Rgba {
  const rgb = /rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)/.exec(value);
  if (rgb) {
    const alpha = rgb[4] === undefined ? 1 : rgb[4].endsWith('%') ? Number(rgb[4].slice(0, -1)) / 100 : Number(rgb[4]);
    return { r: Number(rgb[1]), g: Number(rgb[2]), b: Number(rgb[3]), a: alpha };
  }
  const srgb = /color\(srgb\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)(?:\s*\/\s*([\d.]+))?\)/.exec(value);
  if (srgb)
    return {
      r: Number(srgb[1]) * 255,
      g: Number(srgb[2]) * 255,
      b: Number(srgb[3]) * 255,
      a: srgb[4] === undefined ? 1 : Number(srgb[4]),
    };
  if (value === 'transparent') return { r: 0, g: 0, b: 0, a: 0 };
  throw new Error(`Unparsed colour: ${value}`);
}

/** `top` composited over an opaque `bottom`. */
function over(top: Rgba, bottom: Rgba): Rgba {
  const a = top.a;
  return {
    r: top.r * a + bottom.r * (1 - a),
    g: top.g * a + bottom.g * (1 - a),
    b: top.b * a + bottom.b * (1 - a),
    a: 1,
  };
}

function luminance({ r, g, b }: Rgba): number {
  const channel = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

/** WCAG contrast ratio of two opaque colours. */
export function contrast(a: Rgba, b: Rgba): number {
  const [la, lb] = [luminance(a), luminance(b)];
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

/** The parent across shadow roots (a slotted node's parent is its slot's parent chain; a shadow root's is its host). */
function composedParent(element: Element): Element | null {
  if (element.assignedSlot) return element.assignedSlot;
  if (element.parentElement) return element.parentElement;
  const root = element.getRootNode();
  return root instanceof ShadowRoot ? root.host : null;
}

/** The opaque colour behind `element`: its own and its ancestors' backgrounds composited, over the canvas. */
export function effectiveBackground(element: Element): Rgba {
  const layers: Rgba[] = [];
  for (let node: Element | null = element; node; node = composedParent(node)) {
    const colour = parseColor(getComputedStyle(node).backgroundColor);
    if (colour.a > 0) layers.push(colour);
    if (colour.a >= 1) break;
  }
  // The canvas below everything: what the root's used colour scheme paints.
  let result: Rgba = layers.at(-1)?.a === 1 ? layers.pop()! : canvasColour(element.ownerDocument);
  for (const layer of layers.reverse()) result = over(layer, result);
  return result;
}

function canvasColour(doc: Document): Rgba {
  const probe = doc.createElement('div');
  probe.style.cssText = 'position:absolute;width:0;height:0;background:Canvas';
  doc.documentElement.append(probe);
  const colour = parseColor(getComputedStyle(probe).backgroundColor);
  probe.remove();
  return colour;
}

/** The focused element, through shadow roots. */
export function deepActiveElement(doc: Document = document): Element | null {
  let active = doc.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active;
}

/** Every element below `root`, through open shadow roots. */
export function deepElements(root: ParentNode): Element[] {
  const found: Element[] = [];
  const visit = (node: ParentNode) => {
    for (const element of node.querySelectorAll('*')) {
      found.push(element);
      if (element.shadowRoot) visit(element.shadowRoot);
    }
  };
  visit(root);
  return found;
}

const LIVE = (element: Element) =>
  element.hasAttribute('aria-live') || ['status', 'log', 'alert'].includes(element.getAttribute('role') ?? '');

/**
 * Records what every live region of the page says, through shadow roots: each new non-empty text of a
 * region is one entry. Polls (every 10 ms), so it sees regions wherever and whenever they appear.
 */
export function liveLog(): { readonly said: string[]; regions(): Element[]; stop(): void } {
  const said: string[] = [];
  const last = new Map<Element, string>();
  const regions = () => deepElements(document).filter(LIVE);
  const poll = (record: boolean) => {
    for (const region of regions()) {
      const text = (region.textContent ?? '').replace(/\s+/g, ' ').trim();
      if (text !== (last.get(region) ?? '')) {
        last.set(region, text);
        if (text && record) said.push(text);
      }
    }
  };
  // What regions say already was said before the log started.
  poll(false);
  const timer = setInterval(() => poll(true), 10);
  return { said, regions, stop: () => clearInterval(timer) };
}

/** Waits for the next two animation frames: layout, scroll handlers and a virtualizer's reflow have run. */
export async function frames(count = 2): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((r) => requestAnimationFrame(() => r(undefined)));
}

/**
 * The text an accessible name computed from content would use: text through shadow roots and slots,
 * skipping what is aria-hidden or not rendered (display: none, visibility: hidden).
 */
export function accessibleText(root: Element): string {
  const parts: string[] = [];
  const visit = (node: Node) => {
    if (node.nodeType === Node.TEXT_NODE) {
      parts.push(node.textContent ?? '');
      return;
    }
    if (!(node instanceof Element)) return;
    if (node.getAttribute('aria-hidden') === 'true') return;
    const style = getComputedStyle(node);
    if (style.display === 'none' || style.visibility === 'hidden') return;
    if (node instanceof HTMLSlotElement) {
      const assigned = node.assignedNodes({ flatten: true });
      (assigned.length ? assigned : [...node.childNodes]).forEach(visit);
      return;
    }
    [...(node.shadowRoot ?? node).childNodes].forEach(visit);
  };
  visit(root);
  return parts.join(' ').replace(/\s+/g, ' ').trim();
}

/**
 * A readable name for where focus is: host, tag, part and label. Tests compare these rather than the nodes,
 * so a failure says where focus went (and the reporter need not serialise a DOM node).
 */
export function focusName(element: Element | null | undefined): string {
  if (!element) return '(nothing)';
  const root = element.getRootNode();
  const host = root instanceof ShadowRoot ? `${root.host.localName} › ` : '';
  const part = element.getAttribute('part');
  const label = element.getAttribute('aria-label') ?? (element.textContent ?? '').trim().slice(0, 40);
  return `${host}${element.localName}${part ? `[part="${part}"]` : ''}${label ? ` "${label}"` : ''}`;
}

/** Fails, saying where focus is instead, unless `target` has focus (through shadow roots). */
export function expectFocusOn(target: Element | null | undefined): void {
  const active = deepActiveElement();
  if (!target || active !== target) throw new Error(`Focus is on ${focusName(active)}, not on ${focusName(target)}`);
}

/**
 * Emulates a colour scheme where the driver can (CDP: Chromium). Elsewhere (WebDriver BiDi in Firefox, WebKit)
 * it says whether the page already has that scheme, so a test can skip what it cannot set up.
 */
export async function useColorScheme(scheme: 'light' | 'dark'): Promise<boolean> {
  try {
    await emulateMedia({ colorScheme: scheme });
    return true;
  } catch {
    return matchMedia(`(prefers-color-scheme: ${scheme})`).matches;
  }
}
