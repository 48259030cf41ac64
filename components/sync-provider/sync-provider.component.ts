// <sync-provider>: creates or takes a SyncClient and provides it, with the page's announcer, by @lit/context to every syncline element below it.
import { ContextConsumer, ContextProvider } from '@lit/context';
import { html, LitElement, nothing, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import { createSyncClient, type AuthorizeHook, type SyncClient, type SyncMode } from '../../src/index.ts';
import { announcerContext, documentAnnouncer, type Announcer } from '../announcer.ts';
import { stringsContext, syncClientContext } from '../context.ts';
import { SyncClientChangedEvent } from '../events.ts';
import { ensureContextRoot } from '../internal/context-root.ts';
import { LocalizeController } from '../localize.ts';
import { layerStrings, type SynclineStrings } from '../strings.ts';
import { styles } from './sync-provider.styles.ts';
import { documentRenderRoot, styleForDocument } from '../internal/document-styles.ts';

/**
 * Provides a sync client to the syncline elements inside it, through shadow roots: one provider on
 * `<body>` serves every micro-frontend of the page. It creates the client from its attributes, or
 * provides the one handed to `.client`. A client it created is closed when it leaves the document; a
 * client handed in is the caller's to close.
 *
 * It also provides the announcer the elements speak through: by default the document's single polite live
 * region (at the end of `<body>`), so several providers and elements on one page never say the same thing
 * twice. Hand in your own through `.announcer` to route the words elsewhere; `silent` silences every
 * element below as its own `silent` would: un-silenced, they do not catch up on what happened meanwhile.
 *
 * It provides strings page-wide too: its `strings` (over those of any provider above it) override the table of
 * each element's language, and each element's own `strings` override them.
 *
 * When it cannot create its client (bad attributes, or a `namespace` without an `endpoint`), it logs the error
 * and shows it in words, before its content, as an alert: the elements below say "Sync is not connected". It
 * judges its attributes at its first update, not as each arrives; with neither `namespace` nor `endpoint` it
 * waits for a client handed in, and with an `endpoint` alone for a `namespace`, without an alert.
 *
 * @summary Provides a syncline client to the elements below it.
 *
 * @slot - The content that uses the client.
 *
 * @csspart error - Why the client could not be created (role alert).
 *
 * @cssprop --sync-provider-error-color - Color of the error (falls back to --syncline-error-color).
 * @cssprop --syncline-error-color - Error text of every syncline element.
 *
 * @fires {SyncClientChangedEvent} sync-client-changed - When the provided client changes (created, handed in, closed).
 */
export class SyncProviderElement extends LitElement {
  static override styles = styles;

  /** Base URL of the sync API, e.g. "/api". With `namespace`, the provider creates its own client. */
  @property() endpoint: string | undefined;

  /** The user's namespace: separates users' queues on one device. */
  @property() namespace: string | undefined;

  /** Where the engine runs: `auto` (default), `shared-worker`, `leader-tab` or `in-page`. */
  @property() mode: SyncMode | undefined;

  /** URL of the worker script, for apps that serve it themselves. */
  @property({ attribute: 'worker-url' }) workerUrl: string | undefined;

  /**
   * Fresh credentials for each request, asked just before it is sent (see the client's `authorize` option). Set
   * or change it at any time: another function is used from the next request on; going from none to a function,
   * or back, replaces the client the provider created (`sync-client-changed` fires). Not used for a client handed
   * in through `.client`: give that one its own.
   */
  @property({ attribute: false }) authorize: AuthorizeHook | undefined;

  /** The provided client. Set it to provide your own (the provider will not close it); read it to use the one the provider created. */
  @property({ attribute: false }) client: SyncClient | undefined;

  /** Where the elements below say what changed: the document's announcer unless you set your own. */
  @property({ attribute: false }) announcer: Announcer | undefined;

  /** Silences the announcements of every element below (each element also has its own `silent`). */
  @property({ type: Boolean, reflect: true }) silent = false;

  /** Strings for every element below (and this provider's error), over the table of each one's language; any subset. */
  @property({ attribute: false }) strings: Partial<SynclineStrings> | undefined;

  /** Why the client could not be created from the attributes; undefined when it could (or was handed in). */
  @state() private clientError: string | undefined;
  /** The strings a provider above this one provides. */
  @state() private outerStrings: Partial<SynclineStrings> | undefined;
  /** The announcer a provider above this one provides (its `silent` and its `announcer` apply below this one too). */
  private outerAnnouncer: Announcer | undefined;
  private readonly stringsProvider = new ContextProvider(this, { context: stringsContext });
  private readonly localize = new LocalizeController(this);

  private readonly provider = new ContextProvider(this, { context: syncClientContext });
  /**
   * What the elements receive: a stable facade, so handing in another announcer or toggling `silent` takes
   * effect without re-providing (and without elements re-subscribing).
   */
  private readonly announcerFacade: Announcer = {
    announce: (source, message) => {
      if (!this.silent) return this.currentAnnouncer.announce(source, message);
      // Silenced here, as an element's own `silent`: its words are worked out (which moves its baseline on to
      // what it would have said) and dropped, so un-silencing does not announce everything that happened meanwhile.
      if (typeof message === 'function') message();
    },
    cancel: (source) => this.currentAnnouncer.cancel(source),
  };
  /** The client this provider created: `key` its attributes, `authorized` whether it was given the `authorize` hook. */
  private owned: { client: SyncClient; key: string; authorized: boolean } | undefined;
  private failedKey: string | undefined;
  /** A namespace came without an endpoint as it connected: judged at the next update, once a framework set them all. */
  private judgeLater = false;
  /** The first update, run as the element connects: `connectedCallback` reconciles after it. */
  private connecting = false;

  constructor() {
    super();
    new ContextProvider(this, { context: announcerContext, initialValue: this.announcerFacade });
    // A provider ignores its own requests, so this one reaches the provider above, if any.
    new ContextConsumer(this, {
      context: stringsContext,
      subscribe: true,
      callback: (strings) => {
        this.outerStrings = strings;
        this.publishStrings();
      },
    });
    new ContextConsumer(this, {
      context: announcerContext,
      subscribe: true,
      callback: (announcer) => (this.outerAnnouncer = announcer),
    });
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
    ensureContextRoot(this.ownerDocument);
    super.connectedCallback();
    // Properties set before this element's code loaded (`authorize`, `strings`, a `client`) are applied only by the
    // first update: run it now, or the client below would be made without them, and replaced a moment later.
    if (!this.hasUpdated) {
      this.connecting = true;
      try {
        this.performUpdate();
      } finally {
        this.connecting = false;
      }
    }
    // Synchronously, so children connecting right after see the client and the strings at once (no flash of "no provider").
    this.publishStrings();
    this.reconcile(true);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    // Asked again on reconnecting: moved out from under the provider above, this one no longer speaks through it.
    this.outerAnnouncer = undefined;
    if (this.owned) {
      this.owned.client.close();
      this.owned = undefined;
      this.client = undefined;
      this.publish();
    }
  }

  private get currentAnnouncer(): Announcer {
    return this.announcer ?? this.outerAnnouncer ?? documentAnnouncer(this.ownerDocument);
  }

  protected override willUpdate(changed: PropertyValues): void {
    if (changed.has('strings')) this.publishStrings();
    if (
      this.isConnected &&
      !this.connecting &&
      (this.judgeLater ||
        changed.has('client') ||
        changed.has('endpoint') ||
        changed.has('namespace') ||
        changed.has('mode') ||
        changed.has('workerUrl') ||
        changed.has('authorize'))
    ) {
      this.reconcile();
    }
  }

  protected override render() {
    const error =
      this.clientError === undefined
        ? nothing
        : html`<p part="error" class="error" role="alert">${this.localize.strings(this.outerStrings, this.strings).clientError(this.clientError)}</p>`;
    return html`${error}<slot></slot>`;
  }

  /** Provides this provider's strings over those from above. */
  private publishStrings(): void {
    this.stringsProvider.setValue(layerStrings(this.outerStrings, this.strings));
  }

  /**
   * Brings the provided client in line with `.client` and the attributes. `connecting`: called as the element
   * connects, when a framework may not have set every attribute yet; a namespace without an endpoint is then
   * left to the next update rather than reported at once.
   */
  private reconcile(connecting = false): void {
    this.judgeLater = false;
    if (this.client && this.client !== this.owned?.client) {
      // Handed in: drop the one we made (and any error making it).
      this.clientError = undefined;
      this.owned?.client.close();
      this.owned = undefined;
    } else {
      const key = this.configKey();
      const authorized = !!this.authorize;
      // Whether the client has a hook is fixed when it is made (the engine asks only tabs that have one, and
      // asking costs a round trip per request): going from none to a function or back needs a new client.
      if (this.owned && (this.owned.key !== key || this.owned.authorized !== authorized)) {
        this.owned.client.close();
        this.owned = undefined;
        this.client = undefined;
      }
      if (!key || key !== this.failedKey) this.clientError = undefined;
      if (!this.owned && key && key !== this.failedKey && connecting && !this.endpoint?.trim()) {
        this.judgeLater = true;
        this.requestUpdate();
      } else if (!this.owned && key && key !== this.failedKey) {
        try {
          // A missing endpoint is the client's to refuse: its error is what the alert says.
          const client = createSyncClient({
            endpoint: this.endpoint as string,
            namespace: this.namespace!,
            ...(this.mode ? { mode: this.mode } : {}),
            ...(this.workerUrl ? { workerUrl: this.workerUrl } : {}),
            // Forwards to the current `authorize`, so setting another function needs no new client.
            ...(authorized ? { authorize: (request) => this.currentAuthorize(request) } : {}),
          });
          this.owned = { client, key, authorized };
          this.client = client;
        } catch (error) {
          // Once per configuration: a re-render must not log the same error again.
          this.failedKey = key;
          this.clientError = error instanceof Error ? error.message : String(error);
          console.error('<sync-provider>: could not create the sync client', error);
          this.client = undefined;
        }
      }
    }
    this.publish();
  }

  /**
   * The configuration the client is made from, '' for none. A namespace names a user's queue: with it the
   * attributes are meant to make a client, so a missing endpoint is an error to show. An endpoint alone is a
   * provider waiting for the user (the namespace is set once they sign in), or for a client handed in.
   */
  private configKey(): string {
    if (!this.namespace) return '';
    return JSON.stringify([this.endpoint ?? null, this.namespace, this.mode ?? '', this.workerUrl ?? '']);
  }

  /**
   * What the created client's hook answers: the provider's `authorize` now. None (it was just unset, and the
   * client is replaced at the next update) answers as a client without a hook would: no credentials.
   */
  private async currentAuthorize(request: Parameters<AuthorizeHook>[0]): Promise<Awaited<ReturnType<AuthorizeHook>>> {
    return this.authorize ? this.authorize(request) : null;
  }

  private publish(): void {
    if (this.provider.value === this.client) return;
    this.provider.setValue(this.client);
    // Dispatched through a variable: the manifest analyzer reads `dispatchEvent(new X(arg))` as an event named by `arg`.
    const event = new SyncClientChangedEvent(this.client);
    this.dispatchEvent(event);
  }
}
