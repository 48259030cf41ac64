// A tab's side of the RPC: calls and live queries that survive a replaced engine, bounded in time, never sent twice.
import { BehaviorSubject, Observable } from 'rxjs';
import { deserializeError, SynclineError, SynclineErrorCode } from '../errors.ts';
import { DB_VERSION } from '../runtime/names.ts';
import type { AuthorizeHook } from '../engine/engine.ts';
import { MAX_TIMER_MS, type EngineConfig, type Runtime } from '../types.ts';
import {
  PROTOCOL_VERSION,
  parseEngineMessage,
  type CallMethod,
  type ClientMessage,
  type EngineCalls,
  type Link,
  type Topic,
  type TopicEvent,
} from './protocol.ts';

/** The page's `authorize`: the engine's hook, or one that answers at once (a plain value, or a throw). */
export type PageAuthorizeHook =
  AuthorizeHook | ((request: Parameters<AuthorizeHook>[0]) => Awaited<ReturnType<AuthorizeHook>>);

export interface ConnectionOptions {
  client: string;
  /** The page the client lives in (several clients may share one): what the engine counts as a tab. */
  page?: string;
  config: EngineConfig;
  /** Opens a link to this tab's own runtime: a SharedWorker port, or the engine host in this page. */
  connectPrimary(): Link;
  /** Opens a link to whichever engine serves the namespace's BroadcastChannel; null where there is none. */
  connectBroadcast: ((onAnnounce: () => void) => Link) | null;
  /** Web Locks: the engine's instance lock tells this tab the moment the engine is gone. Null: heartbeats. */
  locks: LockManager | null;
  authorize?: PageAuthorizeHook;
  /** Without Web Locks: how often to ping the engine, and the silence after which it is taken for dead. */
  heartbeatMs: number;
  deadAfterMs: number;
  /** A call not answered within this is rejected with `unavailable`. */
  callTimeoutMs: number;
  environment(): { online: boolean; visible: boolean };
  onMalformed?(data: unknown): void;
  /** A welcome said the engine runs with other values of these options than this tab's config. */
  onConfigDiffers?(names: string[]): void;
  /** Versions this tab speaks (tests play another deploy with them). */
  versions?: { protocol: number; schema: number };
}

/** Where the tab stands with its engine. */
export interface ConnectionState {
  /** Welcomed by an engine, and it is alive. */
  connected: boolean;
  /** Set when a newer version runs the engine: this page must reload. */
  updateRequired: string | null;
  /** Set while the engine cannot start. */
  unavailable: string | null;
}

interface PendingCall {
  method: CallMethod;
  args: unknown[];
  /** Posted to an engine at least once (a re-send says so). */
  sent: boolean;
  /** When this tab stops waiting for the answer (ms since the epoch): until then it may send the call again. */
  until: number;
  timer: ReturnType<typeof setTimeout>;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** While not welcomed, hello is repeated this often (a hello over a BroadcastChannel nobody serves yet is lost). */
const HELLO_RETRY_MS = 1_000;
/** After `unavailable`, the tab asks again this much later. */
const UNAVAILABLE_RETRY_MS = 3_000;
/** A call's rejection at its time bound (`ms`): whether it was `sent` says whether it may have taken effect. */
export function callTimedOut(method: string, ms: number, sent: boolean): SynclineError {
  return new SynclineError(
    SynclineErrorCode.Unavailable,
    sent
      ? `No answer from the sync engine within ${ms} ms; ${method} may still have taken effect.`
      : `The sync engine could not be reached within ${ms} ms; ${method} was not sent.`,
    { method, sent },
  );
}

/** Silence on a link the tab has not been welcomed on, before it opens a fresh one. */
const SILENT_LINK_MS = 3_000;
/** `close()` waits this long for answers to calls already posted (they may have taken effect). */
const CLOSE_GRACE_MS = 3_000;

export class EngineConnection {
  private link: Link | null = null;
  /** Counts the links opened (see the hello's `epoch`). */
  private epoch = 0;
  private via: 'primary' | 'broadcast' = 'primary';
  private nextId = 1;
  private readonly calls = new Map<number, PendingCall>();
  private readonly subs = new Map<
    number,
    { query: Topic; emit(event: TopicEvent): void; end(): void; fail(error: Error): void }
  >();
  private lastHeard = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private closed = false;
  private welcomed = false;
  private enginePage: string | null = null;
  private watchedEngine: string | null = null;
  /** Aborts the lock requests watching engines (one per welcome) when the tab closes. */
  private readonly watching = new AbortController();
  private readonly stateSubject = new BehaviorSubject<ConnectionState>({
    connected: false,
    updateRequired: null,
    unavailable: null,
  });
  /** The tab's standing with its engine. */
  readonly state$ = this.stateSubject.asObservable();
  /** Where the engine said it runs; set by its welcome. */
  runtime: Runtime | null = null;
  /** Identity of the engine instance; changes when a worker restarts or another tab takes over. */
  engineId: string | null = null;
  private readonly versions: { protocol: number; schema: number };

  constructor(private readonly options: ConnectionOptions) {
    this.versions = options.versions ?? { protocol: PROTOCOL_VERSION, schema: DB_VERSION };
  }

  get connected(): boolean {
    return this.stateSubject.value.connected;
  }

  /** Whether an engine has welcomed this tab at some point (it may be between engines now). */
  get welcomedOnce(): boolean {
    return this.welcomed;
  }

  /**
   * Whether the engine runs in this page: its welcome names this page (another client of the page may host it, met
   * over the channel), or, from a host that names none, it welcomed us over the primary link and is not a worker.
   */
  get hostedHere(): boolean {
    if (!this.connected || this.runtime === 'shared-worker') return false;
    return this.enginePage !== null && this.options.page !== undefined
      ? this.enginePage === this.options.page
      : this.via === 'primary';
  }

  start(): void {
    if (this.closed) return;
    this.open('primary');
    this.timer = setInterval(() => this.tick(), Math.min(this.options.heartbeatMs, HELLO_RETRY_MS));
  }

  /** Resolves when an engine has welcomed this tab; rejects after `timeoutMs`, or at once if it cannot be reached. */
  ready(timeoutMs: number): Promise<void> {
    if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0)
      return Promise.reject(
        new SynclineError(SynclineErrorCode.InvalidConfig, `ready() takes a time in ms from 0; it was ${timeoutMs}.`),
      );
    if (this.connected) return Promise.resolve();
    // Closed (or told to reload): no engine will welcome this tab, so say why now rather than at the timeout.
    const ended = this.endReason();
    if (ended) return Promise.reject(ended);
    return new Promise((resolve, reject) => {
      // Longer than a timer holds (Infinity, 2^31 ms and up): no time limit, rather than a timer firing at once.
      const timer =
        timeoutMs > MAX_TIMER_MS
          ? undefined
          : setTimeout(() => {
              sub.unsubscribe();
              // An engine that said it cannot start may yet (the tab goes on asking, and a passing failure clears): this
              // waits its whole time, and then says why, if an engine said.
              const { unavailable } = this.stateSubject.value;
              reject(
                new SynclineError(
                  SynclineErrorCode.Unavailable,
                  `The sync engine did not answer within ${timeoutMs} ms${unavailable ? `: ${unavailable}` : '.'}`,
                ),
              );
            }, timeoutMs);
      const sub = this.stateSubject.subscribe({
        next: (state) => {
          if (!state.connected && !state.updateRequired) return;
          clearTimeout(timer);
          queueMicrotask(() => sub.unsubscribe());
          if (state.updateRequired) reject(new SynclineError(SynclineErrorCode.UpdateRequired, state.updateRequired));
          else resolve();
        },
        // The state ends when the client closes while this waits.
        complete: () => {
          clearTimeout(timer);
          reject(this.endReason() ?? new SynclineError(SynclineErrorCode.Closed, 'The sync client is closed.'));
        },
      });
    });
  }

  call<M extends CallMethod>(method: M, ...args: EngineCalls[M]['args']): Promise<EngineCalls[M]['result']> {
    return this.callBy(Date.now() + this.options.callTimeoutMs, method, ...args);
  }

  /** How long a call may take before it rejects `unavailable`. */
  get callTimeoutMs(): number {
    return this.options.callTimeoutMs;
  }

  /**
   * A call that settles by `deadline` (ms since the epoch): a step of something that must end within one
   * `callTimeoutMs` (a collection's call after its registration).
   */
  callBy<M extends CallMethod>(
    deadline: number,
    method: M,
    ...args: EngineCalls[M]['args']
  ): Promise<EngineCalls[M]['result']> {
    if (this.closed) return Promise.reject(new SynclineError(SynclineErrorCode.Closed, 'The sync client is closed.'));
    const { updateRequired, unavailable, connected } = this.stateSubject.value;
    if (updateRequired) return Promise.reject(new SynclineError(SynclineErrorCode.UpdateRequired, updateRequired));
    // The engine said it cannot start (the tab asks again every few seconds): fail fast with its reason rather
    // than after callTimeoutMs with none.
    if (!connected && unavailable) return Promise.reject(new SynclineError(SynclineErrorCode.Unavailable, unavailable));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const timer = setTimeout(
        () => {
          const call = this.calls.get(id);
          if (!call) return;
          this.calls.delete(id);
          call.reject(callTimedOut(method, this.options.callTimeoutMs, call.sent));
        },
        Math.max(0, deadline - Date.now()),
      );
      const call: PendingCall = {
        method,
        args,
        sent: false,
        until: deadline,
        timer,
        resolve: resolve as (v: unknown) => void,
        reject,
      };
      this.calls.set(id, call);
      if (this.connected) this.post(id, call);
    });
  }

  /**
   * A live query; each subscriber gets its own engine-side subscription, released on unsubscribe. It completes
   * when no engine will ever answer it again (`close()`, `update-required`; `endReason()` says which), so nothing
   * waiting on it hangs, and a page that subscribed without an error handler sees no error for a normal close.
   */
  watch(query: Topic): Observable<TopicEvent> {
    return new Observable<TopicEvent>((subscriber) => {
      if (this.endReason()) {
        subscriber.complete();
        return;
      }
      // A query that cannot cross to the engine (a Proxy, as a Vue reactive object is; a function in it) would never
      // be answered: refused here, at once.
      const unsendable = cloneError(query);
      if (unsendable) {
        subscriber.error(
          new SynclineError(
            SynclineErrorCode.InvalidOperation,
            `The filter cannot be sent to the engine (${unsendable}); pass plain data (Vue: toRaw(filter)).`,
          ),
        );
        return;
      }
      const id = this.nextId++;
      this.subs.set(id, {
        query,
        emit: (event) => subscriber.next(event),
        end: () => subscriber.complete(),
        fail: (error) => subscriber.error(error),
      });
      if (this.connected) this.sendQuietly({ t: 'sub', id, query });
      return () => {
        this.subs.delete(id);
        if (this.connected) this.sendQuietly({ t: 'unsub', id });
      };
    });
  }

  /** Drops the current link and opens a new one to this tab's runtime (which may have changed). */
  reconnect(): void {
    if (this.closed) return;
    this.setState({ connected: false });
    this.open('primary');
  }

  /** Tells the engine about this tab's network and visibility. */
  sendEnvironment(): void {
    if (this.connected) this.sendQuietly({ t: 'env', ...this.options.environment() });
  }

  /**
   * Stops. Calls not yet posted are refused (`closed`: they never reached an engine); calls already posted are
   * given a moment to be answered, since they may have taken effect. Resolves when the link is closed.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.endStreams();
    for (const [id, call] of this.calls) {
      if (call.sent) continue;
      clearTimeout(call.timer);
      this.calls.delete(id);
      call.reject(new SynclineError(SynclineErrorCode.Closed, 'The sync client is closed; the call was not sent.'));
    }
    if (this.calls.size > 0 && this.connected) {
      await new Promise<void>((resolve) => {
        const deadline = setTimeout(resolve, CLOSE_GRACE_MS);
        const check = setInterval(() => {
          if (this.calls.size === 0) {
            clearTimeout(deadline);
            clearInterval(check);
            resolve();
          }
        }, 10);
        setTimeout(() => clearInterval(check), CLOSE_GRACE_MS);
      });
    }
    for (const call of this.calls.values()) {
      clearTimeout(call.timer);
      call.reject(
        new SynclineError(
          SynclineErrorCode.Unavailable,
          `The sync client closed before the engine answered; ${call.method} may still have taken effect.`,
        ),
      );
    }
    this.calls.clear();
    if (this.timer) clearInterval(this.timer);
    this.watching.abort();
    this.sendQuietly({ t: 'bye' });
    this.link?.close();
    this.link = null;
    this.setState({ connected: false });
    this.stateSubject.complete();
  }

  // ---- links ------------------------------------------------------------------------------

  private open(via: 'primary' | 'broadcast'): void {
    this.link?.close();
    this.epoch++;
    this.via = via;
    const link =
      via === 'primary'
        ? this.options.connectPrimary()
        : this.options.connectBroadcast!(() => {
            // An engine has just started serving the channel: say hello now rather than at the next retry.
            if (!this.connected && this.link === link) this.hello();
          });
    this.link = link;
    this.lastHeard = Date.now();
    link.onMessage((data) => {
      if (link === this.link) this.receive(data);
    });
    this.hello();
  }

  private hello(): void {
    const { online, visible } = this.options.environment();
    this.sendQuietly({
      t: 'hello',
      client: this.options.client,
      ...(this.options.page ? { page: this.options.page } : {}),
      config: this.options.config,
      online,
      visible,
      canAuthorize: !!this.options.authorize,
      ...this.versions,
      epoch: this.epoch,
    });
  }

  /** The engine this tab was talking to is gone (its lock was released, or it fell silent): find the next one. */
  private engineLost(): void {
    if (this.closed) return;
    this.engineId = null;
    this.setState({ connected: false });
    this.open('primary');
  }

  private tick(): void {
    if (this.closed) return;
    const state = this.stateSubject.value;
    if (state.updateRequired) return;
    if (!state.connected) {
      if (state.unavailable && Date.now() - this.lastHeard <= UNAVAILABLE_RETRY_MS) return;
      // A link whose hellos go unanswered may lead nowhere (a port to a worker that was being killed as it was
      // made): after a few, open a fresh one. Only while not welcomed; a welcomed tab trusts the engine's lock.
      // A silent channel goes back to the tab's own runtime: the engine it was sent to may be gone before it
      // answered, and the runtime that took the lock after it may have failed to start, serving no channel; only
      // a hello to that runtime makes it try again (or sends the tab elsewhere once more).
      if (Date.now() - this.lastHeard > SILENT_LINK_MS) this.open('primary');
      else this.hello();
      return;
    }
    // With Web Locks the engine's lock says when it is gone; heartbeats are only the fallback without them.
    if (this.options.locks) return;
    if (Date.now() - this.lastHeard > this.options.deadAfterMs) {
      this.engineLost();
      return;
    }
    this.sendQuietly({ t: 'ping' });
  }

  private post(id: number, call: PendingCall): void {
    const resent = call.sent;
    try {
      this.link?.send({
        t: 'call',
        id,
        method: call.method,
        args: call.args,
        until: call.until,
        ...(resent ? { resent: true } : {}),
      } satisfies ClientMessage);
      call.sent = true;
    } catch (error) {
      // A value the browser cannot clone (a function, a Symbol, a DOM node, a getter that throws): refused like any
      // bad input. Only a link that failed with arguments that clone is the engine out of reach.
      clearTimeout(call.timer);
      this.calls.delete(id);
      const unsendable = (error as Error)?.name === 'DataCloneError' || cloneError(call.args) !== null;
      call.reject(
        unsendable
          ? new SynclineError(
              SynclineErrorCode.InvalidOperation,
              `The ${call.method} arguments cannot be sent to the engine: ${(error as Error)?.message ?? error}`,
            )
          : new SynclineError(
              SynclineErrorCode.Unavailable,
              `Could not reach the sync engine: ${(error as Error)?.message ?? error}`,
            ),
      );
    }
  }

  private sendQuietly(message: ClientMessage): void {
    try {
      this.link?.send(message);
    } catch (error) {
      console.error('syncline: could not post to the engine', error);
    }
  }

  private setState(patch: Partial<ConnectionState>): void {
    if (this.stateSubject.closed) return;
    const next = { ...this.stateSubject.value, ...patch };
    const prev = this.stateSubject.value;
    if (
      next.connected !== prev.connected ||
      next.updateRequired !== prev.updateRequired ||
      next.unavailable !== prev.unavailable
    )
      this.stateSubject.next(next);
  }

  private watchEngine(lock: string, engineId: string): void {
    const locks = this.options.locks;
    // Welcomed again by the same engine (a new link to it): its lock is watched already.
    if (!locks || this.watchedEngine === engineId) return;
    this.watchedEngine = engineId;
    // Granted the moment the engine's instance lock is released: crash, kill, close or hand-over alike.
    locks
      .request(lock, { mode: 'shared', signal: this.watching.signal }, async () => {
        if (this.engineId === engineId) this.engineLost();
      })
      .catch(() => {});
  }

  /** Why no engine will answer this tab again (it closed, or must reload), or null while one may. */
  endReason(): SynclineError | null {
    if (this.closed) return new SynclineError(SynclineErrorCode.Closed, 'The sync client is closed.');
    const { updateRequired } = this.stateSubject.value;
    return updateRequired ? new SynclineError(SynclineErrorCode.UpdateRequired, updateRequired) : null;
  }

  /** Completes every live query: a stream that would otherwise wait forever (`settled()`) ends. */
  private endStreams(): void {
    const subs = [...this.subs.values()];
    this.subs.clear();
    for (const sub of subs) sub.end();
  }

  /**
   * Rejects the calls waiting on an engine. A call already posted may have taken effect (stored, then its engine
   * went before answering): with `keepSent` it stays, to be re-sent (marked) to the next engine, which answers it
   * without doing it twice, or to end at its own time bound; otherwise its error says it may have taken effect.
   */
  private rejectAll(error: SynclineError, keepSent = false): void {
    for (const [id, call] of this.calls) {
      if (call.sent && keepSent) continue;
      clearTimeout(call.timer);
      this.calls.delete(id);
      call.reject(
        call.sent
          ? new SynclineError(error.code, `${error.message} (${call.method} may still have taken effect)`, {
              method: call.method,
              sent: true,
            })
          : error,
      );
    }
  }

  private receive(data: unknown): void {
    const message = parseEngineMessage(data);
    if (!message) {
      this.options.onMalformed?.(data);
      return;
    }
    this.lastHeard = Date.now();
    switch (message.t) {
      case 'welcome': {
        this.runtime = message.runtime;
        this.engineId = message.engine;
        this.enginePage = message.page ?? null;
        if (message.differs) this.options.onConfigDiffers?.(message.differs);
        if (message.lock) this.watchEngine(message.lock, message.engine);
        // Re-establish everything this tab had: live queries, and calls not yet answered (marked if re-sent).
        for (const [id, { query }] of this.subs) this.sendQuietly({ t: 'sub', id, query });
        for (const [id, call] of this.calls) this.post(id, call);
        this.welcomed = true;
        this.setState({ connected: true, unavailable: null });
        return;
      }
      case 'elsewhere':
        if (this.options.connectBroadcast) {
          this.open('broadcast');
        } else {
          this.setState({
            connected: false,
            unavailable: 'Another engine runs this namespace and this browser cannot reach it (no BroadcastChannel).',
          });
        }
        return;
      case 'update-required':
        this.setState({ connected: false, updateRequired: message.reason });
        this.rejectAll(new SynclineError(SynclineErrorCode.UpdateRequired, message.reason));
        this.endStreams();
        return;
      case 'unavailable': {
        const error = deserializeError(message.error);
        this.setState({ connected: false, unavailable: error.message });
        // The tab asks again in a few seconds: a call already posted waits for that engine (or its own time bound).
        this.rejectAll(
          error instanceof SynclineError ? error : new SynclineError(SynclineErrorCode.Unavailable, error.message),
          true,
        );
        return;
      }
      case 'reset':
        this.setState({ connected: false });
        this.hello();
        return;
      case 'pong':
        return;
      case 'result': {
        const call = this.calls.get(message.id);
        if (!call) return;
        this.calls.delete(message.id);
        clearTimeout(call.timer);
        if (message.ok) call.resolve(message.value);
        else call.reject(deserializeError(message.error));
        return;
      }
      case 'event': {
        const sub = this.subs.get(message.id);
        if (message.event.type !== 'error') {
          sub?.emit(message.event);
          return;
        }
        // The engine refused the query (a bad filter): it is over, and never sent again to a later engine.
        this.subs.delete(message.id);
        sub?.fail(deserializeError(message.event.error));
        return;
      }
      case 'authorize': {
        const hook = this.options.authorize;
        // The answer goes back only on the link, and to the engine, that asked: if the tab has moved on meanwhile
        // (the engine died, another took over), a new engine may have asked a question under the same id, and a
        // late answer for another request must not settle it. The old engine has given up on it anyway.
        const link = this.link;
        const engine = this.engineId;
        const reply = (headers: Record<string, string> | null, extra: { signedOut?: boolean; error?: string } = {}) => {
          if (this.link !== link || this.engineId !== engine) return;
          this.sendQuietly({ t: 'auth-result', id: message.id, headers, ...extra });
        };
        if (!hook) return reply(null);
        // A hook that is not async still gets an answer sent: a plain value is its answer, a throw an error.
        Promise.resolve()
          .then(() => hook(message.request))
          .then(
            (h) => (h === false ? reply(null, { signedOut: true }) : reply(h ?? null)),
            (e: unknown) => reply(null, { error: e instanceof Error ? e.message : String(e) }),
          );
        return;
      }
    }
  }
}

/** Why `value` cannot be cloned for postMessage (the browser's message), or null when it can. */
function cloneError(value: unknown): string | null {
  try {
    structuredClone(value);
    return null;
  } catch (error) {
    return (error as Error)?.message ?? String(error);
  }
}
