// The base of every element that reads the client from the nearest <sync-provider>: context, announcer, strings and the "no provider" state.
import { ContextConsumer } from '@lit/context';
import { html, LitElement, type PropertyValues, type ReactiveController, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import type { SyncClient } from '../../src/index.ts';
import { announcerContext, documentAnnouncer, type Announcer } from '../announcer.ts';
import { stringsContext, syncClientContext } from '../context.ts';
import { ObservableController } from '../controllers/observable-controller.ts';
import { LocalizeController } from '../localize.ts';
import type { SynclineStrings } from '../strings.ts';
import { ensureContextRoot } from './context-root.ts';
import { documentRenderRoot, styleForDocument } from './document-styles.ts';

/**
 * How long an element waits for a `<sync-provider>` above it that is not defined yet before it warns: its code
 * may still be loading (autoload(), the no-build bundle), or it may never be (its define module not imported).
 */
const PROVIDER_DEFINE_WAIT_MS = 5000;

/** The nearest `<sync-provider>` above `element` (across shadow roots) that is not upgraded yet, if any. */
function undefinedProviderAbove(element: Element): Element | undefined {
  for (let node = element.parentNode; node; node = node instanceof ShadowRoot ? node.host : node.parentNode) {
    if (node instanceof Element && node.localName === 'sync-provider' && !node.matches(':defined')) return node;
  }
  return undefined;
}

/**
 * Consumes the client, the announcer and the strings provided by `<sync-provider>` (subscribed, so a provider
 * that changes or arrives late is followed). Without a client it renders a visible note and warns once per
 * element, except while a `<sync-provider>` above it is not defined yet (its code loads after the element's, as
 * with autoload()): that one is waited for, up to a few seconds. Without a provided announcer it uses the
 * document's. Its strings are the table of its language (nearest `lang`), under the provider's `strings`, under
 * its own. Moved to where no provider answers, it forgets the client, announcer and strings of the one it left
 * (context only says when a value changes, never that a provider has gone). Once the client's live queries end
 * (closed, or the page must reload) it stops claiming live state: `ended`, and `renderEnded()`.
 */
export abstract class SyncElement extends LitElement {
  /** Overrides of the user-visible strings, over the provider's and the table of the element's language; any subset. */
  @property({ attribute: false }) strings: Partial<SynclineStrings> = {};

  /** The client from the nearest provider, or undefined while there is none. */
  @state() protected client: SyncClient | undefined;

  private warned = false;
  /** A provider answered, even if it has no client yet (an app that hands one in later). */
  @state() private providerFound = false;
  /**
   * A `<sync-provider>` above has not upgraded yet (its code loads after the element's): the element neither warns
   * nor says there is no provider until it has, or the wait for it is over. The wait in progress, undefined when none.
   */
  @state() private providerPending: object | undefined;
  /** The strings `<sync-provider>` provides page-wide, if any. */
  @state() private providedStrings: Partial<SynclineStrings> | undefined;
  private readonly localize = new LocalizeController(this);
  private providedAnnouncer: Announcer | undefined;
  /** The live queries of the element (every ObservableController it adds). */
  private readonly streams: ObservableController<unknown>[] = [];
  /** The client the provider gave (a subclass may set `client` itself: that one is not a provider's to take away). */
  private providedClient: SyncClient | undefined;
  /** The contexts a provider answered since the element last connected. */
  private readonly answered = new Set<'client' | 'announcer' | 'strings'>();

  constructor() {
    super();
    new ContextConsumer(this, {
      context: announcerContext,
      subscribe: true,
      callback: (announcer) => {
        this.answered.add('announcer');
        if (this.providedAnnouncer && this.providedAnnouncer !== announcer) this.providedAnnouncer.cancel(this);
        this.providedAnnouncer = announcer;
      },
    });
    new ContextConsumer(this, {
      context: stringsContext,
      subscribe: true,
      callback: (strings) => {
        this.answered.add('strings');
        this.providedStrings = strings;
      },
    });
    new ContextConsumer(this, {
      context: syncClientContext,
      subscribe: true,
      callback: (client) => {
        this.answered.add('client');
        this.providerFound = true;
        this.providedClient = client;
        this.client = client;
      },
    });
    // After the consumers' requests (a provider answers them synchronously), before the element's live queries
    // subscribe again: what no provider answered now belongs to a provider the element is no longer under.
    this.addController({ hostConnected: () => this.forgetUnanswered() });
  }

  override addController(controller: ReactiveController): void {
    super.addController(controller);
    if (controller instanceof ObservableController) this.streams.push(controller as ObservableController<unknown>);
  }

  /** Its shadow root, styled for the document it is in (see `styleForDocument`). */
  protected override createRenderRoot(): HTMLElement | DocumentFragment {
    return documentRenderRoot(this);
  }

  /** Moved into another document (an iframe's, a popup's): styled for that one. */
  adoptedCallback(): void {
    if (this.shadowRoot) styleForDocument(this, this.shadowRoot);
  }

  override connectedCallback(): void {
    // Before the consumer's request (made in super.connectedCallback): the root must hear it to replay it later.
    ensureContextRoot(this.ownerDocument);
    this.answered.clear();
    super.connectedCallback();
    this.awaitPendingProvider();
  }

  /**
   * When no provider answered because the one above is not upgraded yet, waits for it: once defined, it answers
   * through the document's context root as it upgrades; its first update is awaited too before the element decides.
   */
  private awaitPendingProvider(): void {
    const pending = this.answered.has('client') ? undefined : undefinedProviderAbove(this);
    if (!pending) {
      this.providerPending = undefined;
      return;
    }
    const wait = {};
    this.providerPending = wait;
    let timer: ReturnType<typeof setTimeout> | undefined;
    void Promise.race([
      customElements
        .whenDefined('sync-provider')
        .then(() => (pending as Partial<LitElement>).updateComplete)
        .catch(() => {}),
      new Promise((resolve) => (timer = setTimeout(resolve, PROVIDER_DEFINE_WAIT_MS))),
    ]).then(() => {
      clearTimeout(timer);
      // A later connection started its own wait (or needed none): this one no longer speaks for the element.
      if (this.providerPending === wait) this.providerPending = undefined;
    });
  }

  /**
   * Drops what the provider the element was under gave it, when no provider answered this connection: an
   * element moved out of its provider must not keep reading the old client (after a logout, the previous
   * user's). A provider that arrives later answers through the document's context root as on first connect.
   */
  private forgetUnanswered(): void {
    if (!this.answered.has('client') && this.providerFound) {
      this.providerFound = false;
      if (this.client !== undefined && this.client === this.providedClient) {
        this.client = undefined;
        // Before they subscribe again in their own hostConnected: not even briefly to the old client.
        for (const stream of this.streams) stream.observe(undefined);
      }
      this.providedClient = undefined;
    }
    if (!this.answered.has('announcer') && this.providedAnnouncer) {
      this.providedAnnouncer.cancel(this);
      this.providedAnnouncer = undefined;
    }
    if (!this.answered.has('strings')) this.providedStrings = undefined;
  }

  /** Some live query of the element has ended: what it shows is the last word of a client that no longer speaks. */
  protected get ended(): boolean {
    return this.streams.some((stream) => stream.ended);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    // Nothing is said on behalf of an element that has left the page.
    this.announcer.cancel(this);
    this.providerPending = undefined;
  }

  /** The announcer in effect: the provider's, or the document's without one. */
  protected get announcer(): Announcer {
    return this.providedAnnouncer ?? documentAnnouncer(this.ownerDocument);
  }

  /**
   * Reports that something worth saying may have changed: `describe` runs once the page's burst of changes
   * has settled and returns the words ('' for nothing). One pending report per element; a later one replaces it.
   */
  protected announce(describe: () => string): void {
    this.announcer.announce(this, () => (this.isConnected ? describe() : ''));
  }

  /** The strings in effect: the table of the element's language, under the provider's strings, under `strings`. */
  protected get text(): SynclineStrings {
    return this.localize.strings(this.providedStrings, this.strings);
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    // Only a missing provider is a mistake worth a warning; a provider still without a client is a normal start-up,
    // and so is one whose code has not loaded yet.
    if (!this.client && !this.providerFound && !this.providerPending && !this.warned && this.isConnected) {
      this.warned = true;
      const why = undefinedProviderAbove(this)
        ? 'the <sync-provider> above this element is not defined (import its define module, or use autoload())'
        : 'no <sync-provider> with a client above this element';
      console.warn(`<${this.localName}>: ${why}; it shows "${this.text.noProvider}" until one arrives.`, this);
    }
  }

  /** The visible state of an element with no client to read from. */
  protected renderNoProvider(): TemplateResult {
    const words = this.providerFound || this.providerPending ? this.text.noClient : this.text.noProvider;
    // Focusable by script (not by Tab): an element whose control had focus when its client went moves focus here.
    return html`<span part="base no-provider" class="no-provider" tabindex="-1">${words}</span>`;
  }

  /** The visible state of an element whose client's live queries have ended: nothing it knew is live any more. */
  protected renderEnded(): TemplateResult {
    return html`<span part="base ended" class="no-provider">${this.text.syncStopped}</span>`;
  }
}
