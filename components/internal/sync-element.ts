// The base of every element that reads the client from the nearest <sync-provider>: context, announcer, strings and the "no provider" state.
import { ContextConsumer } from '@lit/context';
import { html, LitElement, type PropertyValues, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import type { SyncClient } from '../../src/index.ts';
import { announcerContext, documentAnnouncer, type Announcer } from '../announcer.ts';
import { stringsContext, syncClientContext } from '../context.ts';
import { LocalizeController } from '../localize.ts';
import type { SynclineStrings } from '../strings.ts';
import { ensureContextRoot } from './context-root.ts';

/**
 * Consumes the client, the announcer and the strings provided by `<sync-provider>` (subscribed, so a provider
 * that changes or arrives late is followed). Without a client it renders a visible note and warns once per
 * element; without a provided announcer it uses the document's. Its strings are the table of its language
 * (nearest `lang`), under the provider's `strings`, under its own.
 */
export abstract class SyncElement extends LitElement {
  /** Overrides of the user-visible strings, over the provider's and the table of the element's language; any subset. */
  @property({ attribute: false }) strings: Partial<SynclineStrings> = {};

  /** The client from the nearest provider, or undefined while there is none. */
  @state() protected client: SyncClient | undefined;

  private warned = false;
  /** A provider answered, even if it has no client yet (an app that hands one in later). */
  @state() private providerFound = false;
  /** The strings `<sync-provider>` provides page-wide, if any. */
  @state() private providedStrings: Partial<SynclineStrings> | undefined;
  private readonly localize = new LocalizeController(this);
  private providedAnnouncer: Announcer | undefined;

  constructor() {
    super();
    new ContextConsumer(this, {
      context: announcerContext,
      subscribe: true,
      callback: (announcer) => {
        if (this.providedAnnouncer && this.providedAnnouncer !== announcer) this.providedAnnouncer.cancel(this);
        this.providedAnnouncer = announcer;
      },
    });
    new ContextConsumer(this, {
      context: stringsContext,
      subscribe: true,
      callback: (strings) => (this.providedStrings = strings),
    });
    new ContextConsumer(this, {
      context: syncClientContext,
      subscribe: true,
      callback: (client) => {
        this.providerFound = true;
        this.client = client;
      },
    });
  }

  override connectedCallback(): void {
    // Before the consumer's request (made in super.connectedCallback): the root must hear it to replay it later.
    ensureContextRoot(this.ownerDocument);
    super.connectedCallback();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    // Nothing is said on behalf of an element that has left the page.
    this.announcer.cancel(this);
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
    // Only a missing provider is a mistake worth a warning; a provider still without a client is a normal start-up.
    if (!this.client && !this.providerFound && !this.warned && this.isConnected) {
      this.warned = true;
      console.warn(
        `<${this.localName}>: no <sync-provider> with a client above this element; it shows "${this.text.noProvider}" until one arrives.`,
        this,
      );
    }
  }

  /** The visible state of an element with no client to read from. */
  protected renderNoProvider(): TemplateResult {
    return html`<span part="base no-provider" class="no-provider">${this.providerFound ? this.text.noClient : this.text.noProvider}</span>`;
  }
}
