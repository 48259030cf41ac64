// A tab's side of the RPC: calls and live queries that survive a restarted worker or a new leader.
import { BehaviorSubject, Observable } from 'rxjs';
import { deserializeError, SynclineError, SynclineErrorCode } from '../errors.ts';
import type { EngineConfig, Runtime } from '../types.ts';
import { parseEngineMessage, type CallMethod, type ClientMessage, type EngineCalls, type Link, type Topic, type TopicEvent } from './protocol.ts';
import type { AuthorizeHook } from '../engine/engine.ts';

export interface ConnectionOptions {
  client: string;
  config: EngineConfig;
  /** Opens a fresh link to the engine (a new SharedWorker port, a BroadcastChannel slice...). */
  connect(): Link;
  authorize?: AuthorizeHook;
  heartbeatMs: number;
  /** Silence after which the engine is taken for dead and the link is reopened. */
  deadAfterMs: number;
  environment(): { online: boolean; visible: boolean };
  onMalformed?(data: unknown): void;
}

interface PendingCall {
  method: CallMethod;
  args: unknown[];
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export class EngineConnection {
  private link: Link | null = null;
  private nextId = 1;
  private readonly calls = new Map<number, PendingCall>();
  private readonly subs = new Map<number, { query: Topic; emit(event: TopicEvent): void }>();
  private lastHeard = 0;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private closed = false;
  private readonly connectedSubject = new BehaviorSubject(false);
  /** Whether the engine has welcomed this tab (false while it reconnects). */
  readonly connected$ = this.connectedSubject.asObservable();
  /** Where the engine said it runs; set by its welcome. */
  runtime: Runtime | null = null;
  /** Identity of the engine instance; changes when a worker restarts or a leader hands over. */
  engineId: string | null = null;

  constructor(private readonly options: ConnectionOptions) {}

  start(): void {
    if (this.closed) return;
    this.open();
    this.heartbeat = setInterval(() => this.beat(), this.options.heartbeatMs);
  }

  /** Resolves when the engine has welcomed this tab, or rejects after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void> {
    if (this.connectedSubject.value) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.unsubscribe();
        reject(new SynclineError(SynclineErrorCode.Unavailable, `The sync engine did not answer within ${timeoutMs} ms.`));
      }, timeoutMs);
      const sub = this.connectedSubject.subscribe((connected) => {
        if (!connected) return;
        clearTimeout(timer);
        queueMicrotask(() => sub.unsubscribe());
        resolve();
      });
    });
  }

  call<M extends CallMethod>(method: M, ...args: EngineCalls[M]['args']): Promise<EngineCalls[M]['result']> {
    if (this.closed) return Promise.reject(new SynclineError(SynclineErrorCode.Closed, 'The sync client is closed.'));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.calls.set(id, { method, args, resolve: resolve as (v: unknown) => void, reject });
      if (this.connectedSubject.value) this.send({ t: 'call', id, method, args });
    });
  }

  /** A live query; each subscriber gets its own engine-side subscription, released on unsubscribe. */
  watch(query: Topic): Observable<TopicEvent> {
    return new Observable<TopicEvent>((subscriber) => {
      const id = this.nextId++;
      this.subs.set(id, { query, emit: (event) => subscriber.next(event) });
      if (this.connectedSubject.value) this.send({ t: 'sub', id, query });
      return () => {
        this.subs.delete(id);
        if (this.connectedSubject.value) this.send({ t: 'unsub', id });
      };
    });
  }

  /** Drops the current link and opens a new one (a runtime change); queries and calls carry over. */
  reconnect(): void {
    if (this.closed) return;
    if (this.connectedSubject.value) this.connectedSubject.next(false);
    this.open();
  }

  /** Tells the engine about this tab's network and visibility. */
  sendEnvironment(): void {
    if (this.connectedSubject.value) this.send({ t: 'env', ...this.options.environment() });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.send({ t: 'bye' });
    this.link?.close();
    this.link = null;
    this.connectedSubject.next(false);
    this.connectedSubject.complete();
    for (const call of this.calls.values()) call.reject(new SynclineError(SynclineErrorCode.Closed, 'The sync client is closed.'));
    this.calls.clear();
  }

  private open(): void {
    this.link?.close();
    const link = this.options.connect();
    this.link = link;
    this.lastHeard = Date.now();
    link.onMessage((data) => {
      if (link === this.link) this.receive(data);
    });
    this.hello();
  }

  private hello(): void {
    const { online, visible } = this.options.environment();
    this.send({ t: 'hello', client: this.options.client, config: this.options.config, online, visible, canAuthorize: !!this.options.authorize });
  }

  private beat(): void {
    if (this.closed) return;
    if (Date.now() - this.lastHeard > this.options.deadAfterMs) {
      // The worker was killed or the leader left without a word: open a fresh link; subscriptions follow.
      if (this.connectedSubject.value) this.connectedSubject.next(false);
      this.open();
      return;
    }
    if (this.connectedSubject.value) this.send({ t: 'ping' });
    else this.hello();
  }

  private send(message: ClientMessage): void {
    try {
      this.link?.send(message);
    } catch (error) {
      console.error('syncline: could not post to the engine', error);
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
        // Re-establish everything this tab had: live queries, and calls not yet answered (enqueue is idempotent by id).
        for (const [id, { query }] of this.subs) this.send({ t: 'sub', id, query });
        for (const [id, call] of this.calls) this.send({ t: 'call', id, method: call.method, args: call.args });
        this.connectedSubject.next(true);
        return;
      }
      case 'reset':
        if (this.connectedSubject.value) this.connectedSubject.next(false);
        this.hello();
        return;
      case 'pong':
        return;
      case 'result': {
        const call = this.calls.get(message.id);
        if (!call) return;
        this.calls.delete(message.id);
        if (message.ok) call.resolve(message.value);
        else call.reject(deserializeError(message.error));
        return;
      }
      case 'event':
        this.subs.get(message.id)?.emit(message.event);
        return;
      case 'authorize': {
        const hook = this.options.authorize;
        const reply = (headers: Record<string, string> | null, error?: string) =>
          this.send({ t: 'auth-result', id: message.id, headers, ...(error !== undefined ? { error } : {}) });
        if (!hook) return reply(null);
        hook(message.request).then((h) => reply(h ?? null), (e: unknown) => reply(null, e instanceof Error ? e.message : String(e)));
        return;
      }
    }
  }
}
