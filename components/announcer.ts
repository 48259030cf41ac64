// The page-wide polite announcer: elements report what changed, and it says each burst once, de-duplicated, in one live region.
import { createContext } from '@lit/context';
import { langOf } from './localize.ts';

/**
 * What an element needs to tell screen-reader users what changed. `<sync-provider>` provides one through
 * `announcerContext`; an element without a provider uses `documentAnnouncer(document)`.
 */
export interface Announcer {
  /**
   * Asks for `message` to be said politely once the current burst has settled (nothing reported for the
   * announcer's delay). A function is called at that moment, so it can describe the net change of the whole
   * burst, or return '' when the burst changed nothing worth saying. Each `source` (usually the element) has
   * at most one message per burst: a later report replaces its earlier one. Identical words from several
   * sources are said once.
   */
  announce(source: object, message: string | (() => string)): void;
  /** Drops `source`'s message not said yet (an element leaving the page). */
  cancel(source: object): void;
}

/** The announcer `<sync-provider>` provides. A global symbol, so two copies of syncline on one page share it. */
export const announcerContext = createContext<Announcer | undefined>(Symbol.for('syncline-announcer'));

/** The timer functions an announcer uses; tests hand in a virtual clock. */
export interface AnnouncerTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface PageAnnouncerOptions {
  /** Where the live region is created (on the first report). Default: the document's `<body>`. */
  mount?: () => ParentNode | null | undefined;
  /** The document the region belongs to. Default: the global `document`. */
  document?: Document;
  /** Quiet time (ms) that ends a burst. Default 1000. */
  delay?: number;
  /** How long (ms) the words stay in the region once said, so reading mode does not meet stale news. Default 5000. */
  clearAfter?: number;
  /** Timer functions; default the global ones. */
  timers?: AnnouncerTimers;
}

const globalTimers: AnnouncerTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * One polite live region and the burst logic in front of it. Reports are collected until nothing new has
 * come for `delay` ms; then every message is evaluated, empty and repeated words are dropped, and the rest
 * are written to the region as one atomic text. The text is cleared `clearAfter` ms later.
 */
export class PageAnnouncer implements Announcer {
  /** Quiet time (ms) that ends a burst. */
  delay: number;
  /** How long (ms) the words stay in the region. */
  clearAfter: number;
  /** Drops every report while true. */
  silent = false;

  private readonly pending = new Map<object, string | (() => string)>();
  private readonly timers: AnnouncerTimers;
  private readonly mount: () => ParentNode | null | undefined;
  private readonly doc: Document;
  private element: HTMLElement | undefined;
  private burstTimer: unknown;
  private clearTimer: unknown;
  private writeTimer: unknown;

  constructor(options: PageAnnouncerOptions = {}) {
    this.doc = options.document ?? document;
    this.delay = options.delay ?? 1000;
    this.clearAfter = options.clearAfter ?? 5000;
    this.timers = options.timers ?? globalTimers;
    this.mount = options.mount ?? (() => this.doc.body);
  }

  /** The live region, once the first report has created it. */
  get region(): HTMLElement | undefined {
    return this.element;
  }

  announce(source: object, message: string | (() => string)): void {
    if (this.silent) return;
    // Created well before it is written to: screen readers ignore changes to a region that has only just appeared.
    this.ensureRegion();
    this.pending.delete(source);
    this.pending.set(source, message);
    if (this.burstTimer !== undefined) this.timers.clearTimeout(this.burstTimer);
    this.burstTimer = this.timers.setTimeout(() => this.flush(), this.delay);
  }

  cancel(source: object): void {
    this.pending.delete(source);
  }

  /** Ends the burst now: says what the pending reports amount to. */
  flush(): void {
    if (this.burstTimer !== undefined) this.timers.clearTimeout(this.burstTimer);
    this.burstTimer = undefined;
    const said: { words: string; lang: string }[] = [];
    for (const [source, message] of this.pending) {
      const text = (typeof message === 'function' ? message() : message).trim();
      // In the reporting element's language (a German badge on an English page is read in German).
      const lang = source instanceof Element ? langOf(source) : '';
      // Sentence by sentence: one element's report may hold several ("1 change failed to save. Back online"), and
      // a sentence another element says too is said once.
      for (const sentence of text.split(/(?<=[.!?…])\s+/)) {
        const words = sentence.replace(/[.!?…]$/, '').trim();
        if (words && !said.some((s) => s.words === words)) said.push({ words, lang });
      }
    }
    this.pending.clear();
    if (said.length === 0 || this.silent) return;
    this.write(said);
  }

  /** Removes the region and forgets every report. */
  dispose(): void {
    for (const timer of [this.burstTimer, this.clearTimer, this.writeTimer])
      if (timer !== undefined) this.timers.clearTimeout(timer);
    this.burstTimer = this.clearTimer = this.writeTimer = undefined;
    this.pending.clear();
    this.element?.remove();
    this.element = undefined;
  }

  private write(said: { words: string; lang: string }[]): void {
    const region = this.ensureRegion();
    if (!region) return;
    const text = said.map((s) => s.words).join('. ');
    if (this.clearTimer !== undefined) this.timers.clearTimeout(this.clearTimer);
    if (this.writeTimer !== undefined) this.timers.clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    const show = () => {
      // Each sentence in its own language where that is not the page's (WCAG 3.1.2).
      const pageLang = this.doc.documentElement.lang || 'en';
      region.replaceChildren(
        ...said.flatMap(({ words, lang }, i) => {
          const separator = i > 0 ? ['. '] : [];
          if (!lang || lang === pageLang) return [...separator, words];
          const span = this.doc.createElement('span');
          span.lang = lang;
          span.textContent = words;
          return [...separator, span];
        }),
      );
      this.clearTimer = this.timers.setTimeout(() => {
        this.clearTimer = undefined;
        region.textContent = '';
      }, this.clearAfter);
    };
    if (region.textContent === text) {
      // The same words again: a region whose text does not change says nothing, so empty it for a moment first.
      region.textContent = '';
      this.writeTimer = this.timers.setTimeout(() => {
        this.writeTimer = undefined;
        show();
      }, 100);
    } else {
      show();
    }
  }

  /**
   * The live region, created on first use and placed: where `mount` says, or, while a modal `<dialog>` is open
   * and that place is outside it, at the end of the topmost one. Everything outside a modal dialog is inert, and a
   * region there is never heard. Placed at the start of each burst, well before it is written to.
   */
  private ensureRegion(): HTMLElement | undefined {
    const mounted = this.mount();
    const modal = this.topModal();
    const parent = modal && !(mounted && modal.contains(mounted as Node)) ? modal : mounted;
    if (!parent) return this.element?.isConnected ? this.element : undefined;
    if (this.element?.parentNode === parent) return this.element;
    if (!this.element) {
      const region = this.doc.createElement('div');
      region.setAttribute('role', 'status');
      region.setAttribute('aria-live', 'polite');
      region.setAttribute('aria-atomic', 'true');
      region.setAttribute('data-syncline-announcer', '');
      // Visually hidden through the CSSOM, which a strict style-src policy allows (a style attribute it would not).
      Object.assign(region.style, {
        position: 'absolute',
        width: '1px',
        height: '1px',
        padding: '0',
        margin: '-1px',
        overflow: 'hidden',
        clip: 'rect(0 0 0 0)',
        clipPath: 'inset(50%)',
        whiteSpace: 'nowrap',
        border: '0',
      });
      this.element = region;
    }
    parent.append(this.element);
    return this.element;
  }

  /** The open modal dialog on top: of several (rare), the last in document order. */
  private topModal(): Element | null {
    try {
      const open = this.doc.querySelectorAll('dialog:modal');
      return open.length > 0 ? open[open.length - 1]! : null;
    } catch {
      // A browser without :modal: as before, at the mount.
      return null;
    }
  }
}

// A global key, so two copies of syncline on one page share one region.
const DOCUMENT_ANNOUNCER = Symbol.for('syncline-document-announcer');

/**
 * The document's shared announcer, its region at the end of `<body>` (outside any heading or landmark an
 * element sits in). `<sync-provider>` provides it unless handed another; elements without a provider use it.
 */
export function documentAnnouncer(doc: Document = document): PageAnnouncer {
  const holder = doc as Document & { [DOCUMENT_ANNOUNCER]?: PageAnnouncer };
  return (holder[DOCUMENT_ANNOUNCER] ??= new PageAnnouncer({ document: doc }));
}
