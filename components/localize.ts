// Which table of strings an element speaks: the nearest `lang` picks a registered table (English by default),
// then a provider's and the element's own `strings` override it.
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { defaultStrings, layerStrings, resolveStrings, type SynclineStrings } from './strings.ts';

/** Tables by lower-case language tag. English is the base of every table: a partial table falls back to it. */
const tables = new Map<string, Partial<SynclineStrings>>();
/** Complete tables per language tag, built on first use; cleared when a table is registered. */
const resolved = new Map<string, SynclineStrings>();
/** Bumped by every registration: cached strings made before it are stale. */
let version = 0;

type Host = ReactiveControllerHost & HTMLElement;
/** Connected elements, re-rendered when a table is registered or a `lang` attribute changes. */
const hosts = new Set<Host>();
const observed = new WeakSet<Document>();

/**
 * Registers the strings for a language (a BCP 47 tag: `fr`, `pt-BR`), page-wide, for every syncline element under
 * that `lang`. A table may be partial: what it leaves out comes from its base language's table (`pt` under
 * `pt-BR`), then English. Registering a language again replaces its table; `en` overrides the English defaults.
 * Elements already on the page re-render.
 */
export function registerStrings(lang: string, table: Partial<SynclineStrings>): void {
  tables.set(lang.toLowerCase(), table);
  resolved.clear();
  version++;
  for (const host of hosts) host.requestUpdate();
}

/** The complete table for a language tag: English, under its base language's table, under its own. */
export function stringsFor(lang: string): SynclineStrings {
  const tag = (lang || 'en').toLowerCase();
  let strings = resolved.get(tag);
  if (!strings) {
    strings = defaultStrings;
    for (const key of new Set(['en', tag.split('-')[0] ?? tag, tag]))
      strings = resolveStrings(tables.get(key), strings);
    resolved.set(tag, strings);
  }
  return strings;
}

/**
 * The language an element is in: the `lang` of the element or its nearest ancestor that has one (crossing shadow
 * roots to their hosts), else the document's, else English.
 */
export function langOf(element: Element): string {
  for (
    let node: Node | null = element;
    node;
    node = node.parentNode ?? (node instanceof ShadowRoot ? node.host : null)
  ) {
    if (node instanceof Element) {
      const lang = node.getAttribute('lang');
      if (lang) return lang;
    }
  }
  return element.ownerDocument.documentElement.lang || 'en';
}

/** Re-renders the document's syncline elements whenever a `lang` attribute in it changes (one observer per document). */
function observeLang(doc: Document): void {
  if (observed.has(doc) || typeof MutationObserver === 'undefined') return;
  observed.add(doc);
  new MutationObserver(() => {
    for (const host of hosts) if (host.ownerDocument === doc) host.requestUpdate();
  }).observe(doc.documentElement, { attributes: true, attributeFilter: ['lang'], subtree: true });
}

/**
 * Gives an element its strings: the table of its language with override layers on top. It re-renders the element
 * when a table is registered or a `lang` attribute of the document changes (a `lang` changed inside a shadow root
 * takes effect at the element's next render).
 */
export class LocalizeController implements ReactiveController {
  private cache: { lang: string; version: number; layers: readonly unknown[]; strings: SynclineStrings } | undefined;

  constructor(private readonly host: Host) {
    host.addController(this);
  }

  hostConnected(): void {
    hosts.add(this.host);
    observeLang(this.host.ownerDocument);
  }

  hostDisconnected(): void {
    hosts.delete(this.host);
  }

  /** The host's language (see `langOf`). */
  get lang(): string {
    return langOf(this.host);
  }

  /** The table of the host's language under `layers` of overrides, later layers winning. */
  strings(...layers: (Partial<SynclineStrings> | undefined)[]): SynclineStrings {
    const lang = this.lang;
    const cache = this.cache;
    if (
      cache &&
      cache.lang === lang &&
      cache.version === version &&
      cache.layers.length === layers.length &&
      cache.layers.every((l, i) => l === layers[i])
    ) {
      return cache.strings;
    }
    const overrides = layers.reduce<Partial<SynclineStrings> | undefined>(
      (lower, upper) => layerStrings(lower, upper),
      undefined,
    );
    const strings = resolveStrings(overrides, stringsFor(lang));
    this.cache = { lang, version, layers, strings };
    return strings;
  }
}
