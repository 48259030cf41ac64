// <sync-status>: connectivity, activity and last sync of the engine, honest copy about what happens when this tab closes, and connectivity changes announced.
import { html, nothing, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import type { SyncStatus as EngineSyncStatus } from '../../src/index.ts';
import { ObservableController } from '../controllers/observable-controller.ts';
import { SyncNowEvent, SyncReloadEvent } from '../events.ts';
import { SyncElement } from '../internal/sync-element.ts';
import type { SynclineStrings } from '../strings.ts';
import { styles } from './sync-status.styles.ts';

/** What `<sync-status>` reflects in its `state` attribute. */
export const StatusState = {
  Connecting: 'connecting',
  Online: 'online',
  Offline: 'offline',
  Degraded: 'degraded',
  Syncing: 'syncing',
  Paused: 'paused',
  /** The engine cannot run on this device (no IndexedDB, the database failed to open): `unavailable` says why. */
  Unavailable: 'unavailable',
  /** A newer version of the app runs the engine: this page must reload. */
  UpdateRequired: 'update-required',
  /** The client's status stream has ended (the client closed): nothing shown is live any more. */
  Stopped: 'stopped',
} as const;
export type StatusState = (typeof StatusState)[keyof typeof StatusState];

/**
 * Says whether changes reach the server: online, offline, degraded, syncing or waiting for sign-in;
 * that sync cannot run on this device (with the engine's reason), that the page must reload for a new
 * version (with a Reload button), or that sync has stopped (the client closed); the engine's last error
 * until a later sync succeeds; when it last synced; how many changes and edits are unsent ("3 changes and 2 edits not yet sent"), how
 * many changes the server refused ("1 change failed to save") and how many conflicts, queued changes' and edits',
 * need a decision ("1 conflict needs your decision"); a storage warning; and, honestly, whether unsent
 * changes keep being sent after this tab closes. With `warn-on-unload`, closing the last tab that
 * sends them asks the user first.
 *
 * Announces, through the page's announcer, when the connection is lost ("Offline: changes are kept on this
 * device"), when it comes back ("Back online: sending 2 changes") and when sending waits for sign-in; a
 * connection that drops and returns within one burst says nothing; also when sync becomes unavailable or
 * an update is required, and when "Sync now" fails (shown too, part `action-error`). `silent` stops it.
 * When "Sync now" goes away while it has focus (everything sent), focus moves to the state words.
 *
 * @summary Connectivity and sync state, with honest copy about closing the tab.
 *
 * @slot - Extra content after the status line, e.g. a link to the outbox.
 *
 * @csspart base - The whole status block.
 * @csspart indicator - The colored dot.
 * @csspart state - The state words.
 * @csspart last-sync - "Last synced …".
 * @csspart unsent - The unsent count: queued changes waiting or out, and Background Sync edits not yet pushed.
 * @csspart failed - How many queued changes the server refused (they wait in the outbox for a retry or a discard).
 * @csspart conflicts - How many conflicts need the user's decision (queued changes' and edits').
 * @csspart runtime - The copy about closing the tab.
 * @csspart warning - The storage warning.
 * @csspart sync-now - The "Sync now" button.
 * @csspart reason - Why sync cannot run on this device (state `unavailable`).
 * @csspart reload - The "Reload" button (states `update-required` and `stopped`).
 * @csspart engine-error - The sync engine's last error, until a later sync succeeds.
 * @csspart action-error - Why "Sync now" failed.
 *
 * @cssprop --sync-status-color - Text color (falls back to --syncline-color, then the text around it).
 * @cssprop --sync-status-online-color - Dot color online.
 * @cssprop --sync-status-offline-color - Dot color offline.
 * @cssprop --sync-status-degraded-color - Dot color when degraded or paused.
 * @cssprop --sync-status-warning-color - Storage warning color (falls back to --syncline-error-color).
 * @cssprop --sync-status-focus-color - Focus ring (falls back to --syncline-focus-color).
 * @cssprop --sync-status-button-background - "Sync now" background (falls back to --syncline-button-background).
 * @cssprop --sync-status-button-color - "Sync now" text (falls back to --syncline-button-color).
 * @cssprop --sync-status-button-border-color - "Sync now" border (falls back to --syncline-button-border-color).
 * @cssprop --syncline-color - Text color of every syncline element.
 * @cssprop --syncline-error-color - Error text of every syncline element.
 * @cssprop --syncline-focus-color - Focus ring of every syncline element.
 * @cssprop --syncline-button-background - Button background of every syncline element.
 * @cssprop --syncline-button-color - Button text of every syncline element.
 * @cssprop --syncline-button-border-color - Button border of every syncline element.
 *
 * @fires {SyncNowEvent} sync-now - When the user presses "Sync now"; cancel it to skip `client.syncNow()`.
 * @fires {SyncReloadEvent} sync-reload - When the user presses "Reload"; cancel it to reload the page your own way.
 */
export class SyncStatusElement extends SyncElement {
  static override styles = styles;

  /** Ask before the page closes while unsent changes would stop being sent (no other tab keeps the engine). */
  @property({ type: Boolean, reflect: true, attribute: 'warn-on-unload' }) warnOnUnload = false;

  /** Announce nothing (the status still shows). */
  @property({ type: Boolean, reflect: true }) silent = false;

  /**
   * `connecting | online | offline | degraded | syncing | paused | unavailable | update-required | stopped`.
   * Reflected for styling; read-only in effect.
   */
  @property({ reflect: true }) state: StatusState = StatusState.Connecting;

  /** The latest status from the engine. */
  get status(): EngineSyncStatus | undefined {
    return this.statusController.value;
  }

  /** Epoch ms used for "last synced … ago"; moves every 15 s while connected. */
  @state() private now = Date.now();

  private readonly statusController = new ObservableController<EngineSyncStatus>(this, {
    onValue: (status) => this.connectionSeen(status),
  });
  private clockTimer: ReturnType<typeof setInterval> | undefined;
  private listening: Window | null = null;
  /** The connection as the page last heard it, and as last seen; undefined until the first connected status. */
  private spoken: Connection | undefined;
  private seen: Connection | undefined;
  /** "Sync now" had focus before this update. */
  private syncNowHadFocus = false;
  /** Why the last "Sync now" failed, shown until the next one (or another client). */
  @state() private actionError = '';
  /** That failure, until the announcer has said it. */
  private unsaidFailure = '';
  /** The storage health as the page last heard it, and as last seen; undefined until the first status. */
  private storageSpoken: EngineSyncStatus['storage'] | undefined;
  private storageSeen: EngineSyncStatus['storage'] | undefined;

  override connectedCallback(): void {
    super.connectedCallback();
    this.now = Date.now();
    this.clockTimer = setInterval(() => (this.now = Date.now()), 15_000);
    this.listenForUnload();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearInterval(this.clockTimer);
    this.clockTimer = undefined;
    this.listenForUnload();
  }

  /** Whether leaving now would strand unsent changes: the `beforeunload` check, usable by apps too. */
  get unloadWouldStrandChanges(): boolean {
    const status = this.status;
    if (!status || status.continuesAfterClose) return false;
    // Refused changes and conflicts count too: no tab left open means no one sees them until the app is opened again.
    return unsentOf(status) + status.counts.failed + status.counts.conflict + (status.entities?.dirty ?? 0) > 0;
  }

  protected override willUpdate(changed: PropertyValues): void {
    if (changed.has('client')) {
      // Before observing: a source that emits at once sets the new baseline.
      this.spoken = this.seen = undefined;
      this.storageSpoken = this.storageSeen = undefined;
      this.actionError = this.unsaidFailure = '';
      this.statusController.observe(this.client?.status$);
    }
    if (changed.has('silent') && this.silent) {
      // What the cancelled announcement was to say is dropped with it: silence does not catch up later.
      this.announcer.cancel(this);
      this.unsaidFailure = '';
    }
    this.state = this.computeState();
    this.syncNowHadFocus = !!this.shadowRoot?.activeElement?.matches('[part="sync-now"]');
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    if (changed.has('warnOnUnload')) this.listenForUnload();
    if (this.syncNowHadFocus && !this.shadowRoot!.activeElement) {
      // "Sync now" left with focus on it (nothing left to send, or another client while its first status comes):
      // the state words are its closest neighbour and the news (or the note that no client is provided).
      this.shadowRoot!.querySelector<HTMLElement>('[part="state"], [part~="no-provider"]')?.focus();
    }
  }

  protected override render() {
    if (!this.client) return this.renderNoProvider();
    const status = this.status;
    const text = this.text;
    const state = this.state;
    const words: Record<StatusState, string> = {
      connecting: text.connecting,
      online: text.online,
      offline: text.offline,
      degraded: text.degraded,
      syncing: text.syncing,
      paused: text.waitingForSignIn,
      unavailable: text.unavailable,
      'update-required': text.updateRequired,
      stopped: text.syncStopped,
    };
    if (state === StatusState.Stopped || state === StatusState.UpdateRequired || state === StatusState.Unavailable) {
      // Nothing here is live or being sent any more: no counts, no "Sync now", no copy about what keeps sending.
      return html`<div part="base" class="base">
        <div class="line">
          <span part="indicator" class="dot"></span>
          <span part="state" class="state" tabindex="-1">${words[state]}</span>
          ${state === StatusState.Unavailable && status?.unavailable ? html`<span part="reason" class="reason">${status.unavailable}</span>` : nothing}
          ${state === StatusState.Unavailable ? nothing : html`<button part="reload" type="button" @click=${this.onReload}>${text.reload}</button>`}
        </div>
        <slot></slot>
      </div>`;
    }
    if (!status) {
      return html`<div part="base" class="base"><div class="line"><span part="indicator" class="dot"></span><span part="state" class="state" tabindex="-1">${text.connecting}</span></div></div>`;
    }
    const unsent = unsentOf(status);
    const { edits, conflicts: editConflicts, failed: editsFailed } = editsOf(status);
    // Sent and refused is not "not yet sent": those wait for the user, and are said apart (changes and edits alike).
    const failed = status.counts.failed + editsFailed;
    const conflicts = status.counts.conflict + editConflicts;
    const storage = storageWords(status.storage, text);
    // Kept by the engine until replaced; a sync accepted since shows the engine got past it.
    const engineError =
      status.engineError && !(status.lastSyncAt !== null && status.lastSyncAt > status.engineError.at)
        ? status.engineError.message
        : '';
    return html`<div part="base" class="base">
      <div class="line">
        <span part="indicator" class="dot"></span>
        <span part="state" class="state" tabindex="-1">${words[this.state]}</span>
        <span part="last-sync">${status.lastSyncAt === null ? text.neverSynced : text.lastSynced(Math.max(0, this.now - status.lastSyncAt))}</span>
        ${edits > 0 ? html`<span part="unsent">${text.unsentWithEdits(unsent, edits)}</span>` : unsent > 0 ? html`<span part="unsent">${text.unsent(unsent)}</span>` : nothing}
        ${failed > 0 ? html`<span part="failed">${text.failedCount(failed)}</span>` : nothing}
        ${conflicts > 0 ? html`<span part="conflicts">${text.conflictsNeedDecision(conflicts)}</span>` : nothing}
        ${
          unsent > 0 || edits > 0 || status.connectivity !== 'online' || status.paused
            ? html`<button part="sync-now" type="button" @click=${this.onSyncNow}>${text.syncNow}</button>`
            : nothing
        }
      </div>
      ${this.actionError ? html`<p part="action-error" class="warning">${this.actionError}</p>` : nothing}
      ${storage ? html`<p part="warning" class="warning">${storage}</p>` : nothing}
      ${engineError ? html`<p part="engine-error" class="warning">${text.engineError(engineError)}</p>` : nothing}
      <p part="runtime">${status.continuesAfterClose ? text.continuesAfterClose : text.sentWhileOpen}</p>
      <slot></slot>
    </div>`;
  }

  private computeState(): StatusState {
    const status = this.status;
    if (this.client && this.ended) return StatusState.Stopped;
    if (status?.updateRequired) return StatusState.UpdateRequired;
    if (status && !status.connected && status.unavailable !== null) return StatusState.Unavailable;
    if (!this.client || !status || !status.connected) return StatusState.Connecting;
    if (status.paused === 'auth') return StatusState.Paused;
    if (status.connectivity === 'offline') return StatusState.Offline;
    if (status.syncing) return StatusState.Syncing;
    return status.connectivity === 'degraded' ? StatusState.Degraded : StatusState.Online;
  }

  /** Reports a connection change to the announcer; status updates that leave the connection as it was are not news. */
  private connectionSeen(status: EngineSyncStatus): void {
    // A full (or failing) disk is said through the page's one region like the rest, and silenced with it.
    if (status.storage !== this.storageSeen) {
      this.storageSeen = status.storage;
      if (this.storageSpoken === undefined || this.silent) this.storageSpoken = status.storage;
      else this.announce(() => this.news());
    }
    const connection = connectionOf(status);
    // Reconnecting (to a restarted worker, a new leader) is not news: what follows it is.
    if (connection === undefined || connection === this.seen) return;
    this.seen = connection;
    if (this.spoken === undefined || this.silent) {
      this.spoken = connection;
      return;
    }
    this.announce(() => this.news());
  }

  /** A "Sync now" that failed, and the connection as it stands now if it is not what the page last heard. */
  private news(): string {
    // One report per element and burst: a failure and a connection change in the same burst are both said.
    const parts = this.unsaidFailure ? [this.unsaidFailure] : [];
    this.unsaidFailure = '';
    const status = this.status;
    if (status && this.storageSpoken !== undefined && status.storage !== this.storageSpoken) {
      this.storageSpoken = status.storage;
      const storage = storageWords(status.storage, this.text);
      if (storage) parts.push(storage);
    }
    const connection = status && connectionOf(status);
    if (!status || connection === undefined || this.spoken === undefined || connection === this.spoken)
      return parts.join('. ');
    this.spoken = connection;
    const text = this.text;
    const words = {
      offline: () => text.offlineAnnouncement,
      paused: () => text.pausedAnnouncement,
      unavailable: () => text.unavailable,
      'update-required': () => text.updateRequired,
      online: () => text.onlineAnnouncement(unsentOf(status)),
    };
    parts.push(words[connection]());
    return parts.join('. ');
  }

  private onSyncNow(): void {
    // Dispatched through a variable: the manifest analyzer reads `dispatchEvent(new X(arg))` as an event named by `arg`.
    const event = new SyncNowEvent();
    if (!this.dispatchEvent(event)) return;
    const client = this.client;
    if (!client) return;
    this.actionError = '';
    client.syncNow().catch((error: unknown) => {
      // A failure of a client since replaced is not this status's news.
      if (client !== this.client) return;
      this.actionError = this.text.syncNowFailed(error instanceof Error ? error.message : String(error));
      if (this.silent) return;
      this.unsaidFailure = this.actionError;
      this.announce(() => this.news());
    });
  }

  private onReload(): void {
    const event = new SyncReloadEvent();
    if (!this.dispatchEvent(event)) return;
    this.ownerDocument.defaultView?.location.reload();
  }

  private listenForUnload(): void {
    const view = this.isConnected && this.warnOnUnload ? this.ownerDocument.defaultView : null;
    if (view === this.listening) return;
    // Removed from the window it was added to: moved to another document (an iframe, a popup), the element's
    // ownerDocument is already the new one when it disconnects.
    this.listening?.removeEventListener('beforeunload', this.onBeforeUnload);
    view?.addEventListener('beforeunload', this.onBeforeUnload);
    this.listening = view;
  }

  private readonly onBeforeUnload = (event: BeforeUnloadEvent): void => {
    if (!this.unloadWouldStrandChanges) return;
    event.preventDefault();
    // Older browsers only ask when returnValue is set.
    event.returnValue = '';
  };
}

/**
 * What the announcements distinguish: reaching the server, not reaching it, waiting for sign-in, sync unable to
 * run here, or a reload required.
 */
type Connection = 'online' | 'offline' | 'paused' | 'unavailable' | 'update-required';

/** The connection a status shows; undefined while the tab reconnects to its engine (no news either way yet). */
function connectionOf(status: EngineSyncStatus): Connection | undefined {
  if (status.updateRequired) return 'update-required';
  if (!status.connected) return status.unavailable !== null ? 'unavailable' : undefined;
  if (status.paused === 'auth') return 'paused';
  return status.connectivity === 'offline' ? 'offline' : 'online';
}

/** Queued changes that are waiting to go or are out: the ones the engine still sends by itself. */
function unsentOf(status: EngineSyncStatus): number {
  return status.counts.pending + status.counts.sending;
}

/**
 * Background Sync: edits waiting to be pushed, and apart from them (they wait for the user) open conflicts and edits
 * the server refused.
 */
function editsOf(status: EngineSyncStatus): { edits: number; conflicts: number; failed: number } {
  const { dirty = 0, conflicts = 0, failed = 0 } = status.entities ?? {};
  return { edits: Math.max(0, dirty - conflicts - failed), conflicts, failed };
}

/** What a storage health says (a full or failing disk), or nothing when it is fine. */
function storageWords(storage: EngineSyncStatus['storage'], text: SynclineStrings): string {
  return storage === 'quota-exceeded' ? text.storageFull : storage === 'error' ? text.storageError : '';
}
