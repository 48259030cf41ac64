// Serves one engine to many tabs: answers calls, keeps each tab's live queries up to date with changes, tracks tab liveness.
import { Subscription, auditTime, filter as rxFilter } from 'rxjs';
import { SynclineError, SynclineErrorCode, serializeError } from '../errors.ts';
import type { ChangeBatch, SyncEngine } from '../engine/engine.ts';
import { isEmptyFilter, matchesFilter } from '../engine/filter.ts';
import type { EngineConfig, Operation, OperationFilter, Runtime } from '../types.ts';
import { tabLockName } from '../runtime/names.ts';
import { parseClientMessage, type ClientMessage, type EngineMessage, type Link, type Topic, type TopicEvent } from './protocol.ts';

export interface EngineHostOptions {
  runtime: Runtime;
  /** Builds the engine on the first hello, from that tab's configuration. */
  createEngine(config: EngineConfig): Promise<SyncEngine>;
  /** Rejects a hello whose namespace does not belong here (a worker is named after its namespace). */
  acceptsNamespace?(namespace: string): boolean;
  locks?: LockManager | null;
  /** Without Web Locks, a tab silent for this long is taken for closed. */
  silenceTimeoutMs?: number;
  onMalformed?(data: unknown): void;
}

interface Connection {
  client: string;
  link: Link;
  online: boolean;
  visible: boolean;
  canAuthorize: boolean;
  lastSeen: number;
  subs: Map<number, Subscription>;
  closed: boolean;
}

let hostCounter = 0;

export class EngineHost {
  private engine: Promise<SyncEngine> | null = null;
  private readonly connections = new Set<Connection>();
  private readonly authWaiters = new Map<number, { resolve(h: Record<string, string> | null): void; reject(e: Error): void; connection: Connection }>();
  private nextAuthId = 1;
  private readonly id = `${Date.now().toString(36)}-${(hostCounter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  private silenceTimer: ReturnType<typeof setInterval> | null = null;
  private closed = false;

  constructor(private readonly options: EngineHostOptions) {
    if (!this.locks) {
      const timeout = options.silenceTimeoutMs ?? 60_000;
      this.silenceTimer = setInterval(() => {
        for (const c of this.connections) if (Date.now() - c.lastSeen > timeout) this.drop(c);
      }, Math.min(timeout, 10_000));
    }
  }

  private get locks(): LockManager | null {
    return this.options.locks === undefined ? (globalThis.navigator?.locks ?? null) : this.options.locks;
  }

  /** Serves a new tab on this link; it becomes a connection once it says hello. */
  accept(link: Link): void {
    let connection: Connection | null = null;
    link.onMessage((data) => {
      const message = parseClientMessage(data);
      if (!message) {
        this.options.onMalformed?.(data);
        return;
      }
      if (message.t === 'hello') {
        // A second hello on the same link starts the tab over; the link itself stays.
        if (connection) this.drop(connection, false);
        connection = this.open(link, message);
        return;
      }
      if (!connection || connection.closed) {
        // Not introduced (this engine is new to the tab): ask it to start over.
        link.send({ t: 'reset' } satisfies EngineMessage);
        return;
      }
      void this.handle(connection, message);
    });
  }

  get clientCount(): number {
    return this.connections.size;
  }

  /** Ends every connection and closes the engine. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.silenceTimer) clearInterval(this.silenceTimer);
    for (const c of [...this.connections]) this.drop(c);
    const engine = await this.engine?.catch(() => null);
    engine?.close();
  }

  private open(link: Link, hello: Extract<ClientMessage, { t: 'hello' }>): Connection | null {
    if (this.closed) return null;
    if (this.options.acceptsNamespace && !this.options.acceptsNamespace(hello.config.namespace)) {
      this.options.onMalformed?.(hello);
      return null;
    }
    // The same tab on a new link (it took the old one for dead): the old connection is gone for good.
    for (const old of this.connections) if (old.client === hello.client) this.drop(old);
    const connection: Connection = {
      client: hello.client,
      link,
      online: hello.online,
      visible: hello.visible,
      canAuthorize: hello.canAuthorize,
      lastSeen: Date.now(),
      subs: new Map(),
      closed: false,
    };
    this.connections.add(connection);
    const engine = this.ensureEngine(hello.config);
    void engine.then((e) => {
      if (connection.closed) return;
      e.setClientCount(this.connections.size);
      e.setNetwork(hello.online);
      link.send({ t: 'welcome', runtime: this.options.runtime, engine: this.id } satisfies EngineMessage);
    }, (error) => {
      console.error('syncline: engine failed to start', error);
    });
    // The tab holds a lock named after itself for its whole life; we get it when the tab is gone.
    this.locks?.request(tabLockName(hello.config.namespace, hello.client), async () => this.drop(connection)).catch(() => {});
    return connection;
  }

  private ensureEngine(config: EngineConfig): Promise<SyncEngine> {
    if (!this.engine) {
      this.engine = this.options.createEngine(config).then((engine) => {
        engine.authorize = (request) => this.authorize(request, engine.config.authorizeTimeoutMs);
        return engine;
      });
      this.engine.catch(() => { this.engine = null; });
    }
    return this.engine;
  }

  private drop(connection: Connection, closeLink = true): void {
    if (connection.closed) return;
    connection.closed = true;
    this.connections.delete(connection);
    if (closeLink) connection.link.close();
    for (const sub of connection.subs.values()) sub.unsubscribe();
    connection.subs.clear();
    for (const [id, waiter] of this.authWaiters) {
      if (waiter.connection === connection) {
        this.authWaiters.delete(id);
        waiter.reject(new Error('The tab that was asked for credentials closed.'));
      }
    }
    void this.engine?.then((e) => e.setClientCount(this.connections.size), () => {});
  }

  private async handle(connection: Connection, message: Exclude<ClientMessage, { t: 'hello' }>): Promise<void> {
    connection.lastSeen = Date.now();
    const send = (m: EngineMessage) => {
      if (!connection.closed) connection.link.send(m);
    };
    switch (message.t) {
      case 'ping':
        send({ t: 'pong' });
        return;
      case 'bye':
        this.drop(connection);
        return;
      case 'env': {
        connection.online = message.online;
        connection.visible = message.visible;
        (await this.engine)?.setNetwork(message.online);
        return;
      }
      case 'auth-result': {
        const waiter = this.authWaiters.get(message.id);
        this.authWaiters.delete(message.id);
        if (message.error !== undefined) waiter?.reject(new Error(message.error));
        else waiter?.resolve(message.headers);
        return;
      }
      case 'unsub':
        connection.subs.get(message.id)?.unsubscribe();
        connection.subs.delete(message.id);
        return;
      case 'sub': {
        const engine = await this.engine;
        if (!engine || connection.closed) return;
        connection.subs.get(message.id)?.unsubscribe();
        connection.subs.set(message.id, this.subscribe(engine, message.query, (event) => send({ t: 'event', id: message.id, event })));
        return;
      }
      case 'call': {
        try {
          const engine = await this.engine;
          if (!engine) throw new SynclineError(SynclineErrorCode.Unavailable, 'The sync engine did not start.');
          const fn = engine[message.method] as (...args: unknown[]) => unknown;
          const value = await fn.apply(engine, message.args);
          send({ t: 'result', id: message.id, ok: true, value });
        } catch (error) {
          send({ t: 'result', id: message.id, ok: false, error: serializeError(error) });
        }
        return;
      }
    }
  }

  /** Starts a live query: a snapshot lined up with the change stream, then only what changed. */
  private subscribe(engine: SyncEngine, query: Topic, emit: (event: TopicEvent) => void): Subscription {
    const subscription = new Subscription();
    if (query.topic === 'status') {
      // Status moves on every settled request; a frame's worth of updates is plenty for a widget.
      subscription.add(engine.status$.pipe(auditTime(16)).subscribe((status) => emit({ type: 'status', status })));
      emit({ type: 'status', status: engine.status });
      return subscription;
    }
    const filter: OperationFilter = query.filter;
    const relevant = (batch: ChangeBatch) => batch.changes.some((c) => (c.prev && matchesFilter(c.prev, filter)) || (c.next && matchesFilter(c.next, filter)));

    if (query.topic === 'window') {
      // Refreshes can overlap; only the newest one's answer may reach the tab.
      let latest = 0;
      const refresh = () => {
        const ticket = ++latest;
        return engine.window(filter, query.offset, query.limit).then((window) => {
          if (ticket === latest) emit({ type: 'window', window });
        }, () => {});
      };
      subscription.add(engine.changes$.pipe(rxFilter(relevant), auditTime(30)).subscribe(() => void refresh()));
      void refresh();
      return subscription;
    }

    if (query.topic === 'count' && countableFromStatus(filter)) {
      // The engine's status counts already include every batch emitted so far: no read, no buffering.
      let count = countFromStatus(engine, filter);
      emit({ type: 'count', value: count });
      subscription.add(engine.changes$.subscribe((batch) => {
        const next = count + countDelta(batch, filter);
        if (next !== count) emit({ type: 'count', value: (count = next) });
      }));
      return subscription;
    }

    // Batches committed after the snapshot's read transaction was created still need applying.
    let buffer: ChangeBatch[] | null = [];
    let mark = 0;
    const apply = (batch: ChangeBatch) => {
      if (query.topic === 'count') {
        const delta = countDelta(batch, filter);
        if (delta !== 0) emit({ type: 'count', value: (count += delta) });
      } else {
        const upserts = new Map<string, Operation>();
        const removes = new Set<string>();
        for (const { prev, next } of batch.changes) {
          if (next && matchesFilter(next, filter)) { upserts.set(next.id, next); removes.delete(next.id); }
          else if (prev && matchesFilter(prev, filter)) { removes.add(prev.id); upserts.delete(prev.id); }
        }
        if (upserts.size || removes.size) emit({ type: 'ops-changes', upserts: [...upserts.values()], removes: [...removes] });
      }
    };
    let count = 0;
    subscription.add(engine.changes$.subscribe((batch) => (buffer ? buffer.push(batch) : apply(batch))));
    mark = engine.writeSeq;
    const snapshot = query.topic === 'count'
      ? engine.count(filter).then((value) => { count = value; emit({ type: 'count', value }); })
      : engine.list(isEmptyFilter(filter) ? {} : filter).then((ops) => emit({ type: 'ops-reset', ops }));
    snapshot.then(
      () => {
        const pending = buffer ?? [];
        buffer = null;
        for (const batch of pending) if (batch.seq > mark) apply(batch);
      },
      () => subscription.unsubscribe(),
    );
    return subscription;
  }

  /** Asks a tab that has an `authorize` hook (a visible one first) for fresh headers. */
  private authorize(request: { method: string; url: string }, timeoutMs: number): Promise<Record<string, string> | null> {
    const candidates = [...this.connections].filter((c) => c.canAuthorize);
    if (candidates.length === 0) return Promise.resolve(null);
    const connection = candidates.find((c) => c.visible) ?? candidates[0]!;
    const id = this.nextAuthId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.authWaiters.delete(id);
        reject(new Error(`No credentials from the page within ${timeoutMs} ms.`));
      }, timeoutMs);
      this.authWaiters.set(id, {
        resolve: (h) => { clearTimeout(timer); resolve(h); },
        reject: (e) => { clearTimeout(timer); reject(e); },
        connection,
      });
      connection.link.send({ t: 'authorize', id, request } satisfies EngineMessage);
    });
  }
}

/** How a batch moves the number of operations matching `filter`. */
function countDelta(batch: ChangeBatch, filter: OperationFilter): number {
  let delta = 0;
  for (const { prev, next } of batch.changes) delta += Number(!!next && matchesFilter(next, filter)) - Number(!!prev && matchesFilter(prev, filter));
  return delta;
}

/** Filters on status alone (or nothing) are answered by the engine's own counts. */
function countableFromStatus(filter: OperationFilter): boolean {
  return isEmptyFilter({ ...filter, status: undefined });
}

function countFromStatus(engine: SyncEngine, filter: OperationFilter): number {
  const counts = engine.status.counts;
  const statuses = filter.status === undefined ? (Object.keys(counts) as (keyof typeof counts)[]) : ([] as (keyof typeof counts)[]).concat(filter.status);
  return statuses.reduce((sum, status) => sum + (counts[status] ?? 0), 0);
}
