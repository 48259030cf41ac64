// Serves one engine to many tabs: holds the namespace's engine lock, answers calls and live queries, tracks tab liveness.
import type { Subscription } from 'rxjs';
import { SynclineError, SynclineErrorCode, serializeError } from '../errors.ts';
import type { SyncEngine } from '../engine/engine.ts';
import type { TabCall } from '../engine/background.ts';
import { subscribeLive } from '../engine/live-queries.ts';
import { DB_VERSION } from '../runtime/names.ts';
import type { EngineConfig, Runtime } from '../types.ts';
import {
  compareVersions,
  engineLockName,
  instanceLockName,
  parseInstanceLock,
  queuedLockName,
  tabLockName,
  channelName,
} from '../runtime/names.ts';
import { serveOverBroadcast } from '../runtime/broadcast.ts';
import { PROTOCOL_VERSION, parseClientMessage, type ClientMessage, type EngineMessage, type Link } from './protocol.ts';

export interface EngineHostOptions {
  runtime: Runtime;
  /**
   * Opens the database and the engine. Called only while this host holds the namespace's engine lock;
   * `onVersionChange` runs if a newer version of syncline upgrades the database under it (`newVersion` is a
   * number), or if the database is deleted (null: a logout).
   */
  startEngine(config: EngineConfig, onVersionChange: (newVersion: number | null) => void): Promise<SyncEngine>;
  /** Rejects a hello whose namespace does not belong here (a worker is named after its namespace). */
  acceptsNamespace?(namespace: string): boolean;
  locks?: LockManager | null;
  /** Serve the namespace's BroadcastChannel while running the engine, for tabs whose own runtime does not (default true). */
  broadcast?: boolean;
  /** Without Web Locks, a tab silent for this long is taken for closed. */
  silenceTimeoutMs?: number;
  onMalformed?(data: unknown): void;
  /** The versions this host speaks (tests play an older or newer deploy with them). */
  versions?: { protocol: number; schema: number };
  /**
   * The page this host runs in (in-page and leader-tab runtimes), told in its welcome: every client of that page
   * is hosted here, whichever link reached it (a second client of the page may come over the channel).
   */
  page?: string;
}

interface Connection {
  client: string;
  /** The page it lives in: one tab may hold several clients. */
  page: string;
  link: Link;
  online: boolean;
  visible: boolean;
  canAuthorize: boolean;
  /** The config its tab asked for (the engine runs with the one it started with). */
  config: EngineConfig;
  lastSeen: number;
  subs: Map<number, Subscription>;
  /** Welcomed: counted as a client and served. */
  welcomed: boolean;
  closed: boolean;
}

type State =
  | { kind: 'idle' }
  /** Asking for the engine lock; whether another engine holds it is not known yet. */
  | { kind: 'acquiring' }
  /** Another engine holds the lock: tabs that reach this host are sent there. */
  | { kind: 'waiting' }
  | { kind: 'starting' }
  | { kind: 'running'; engine: SyncEngine }
  | { kind: 'failed'; error: unknown; at: number }
  /** A newer version took over the namespace: this host's tabs must reload. */
  | { kind: 'superseded' }
  | { kind: 'closed' };

/** A call a tab made, as the host remembers it for a re-send: its answer, when, and whether it succeeded. */
interface RecentCall {
  answer: Promise<unknown>;
  at: number;
  ok: boolean;
}
/**
 * Calls given the `TabCall` (after as many arguments as said here) that names them. Those that change the replica
 * keep their answer (or, for an edit, its key in the row it wrote), so a re-send to the next engine is answered, not
 * applied again; a clear re-sent removes only what was created before it was first sent.
 */
const KEYED_CALLS = { entityPut: 3, entityPatch: 3, entityDelete: 2, entityRevert: 2, resolve: 2, clear: 1 } as const;
/** Resolves once the lock `name` is held (or could not be asked for); it is held until `life` settles. */
function holdLock(locks: LockManager, name: string, life: Promise<void>): Promise<void> {
  return new Promise((held) => {
    locks
      .request(name, () => {
        held();
        return life;
      })
      .catch(() => held());
  });
}

/** Results of recent calls per tab: a call re-sent after a reconnect gets the first answer, not a second effect. */
const CALL_MEMORY_MS = 60_000;
const CALL_MEMORY_LIMIT = 500;
/** After a failed start, a new hello tries again once this long has passed. */
const RETRY_START_AFTER_MS = 3_000;

const SUPERSEDED = 'A newer version of syncline has taken over this namespace.';

let hostCounter = 0;

export class EngineHost {
  private state: State = { kind: 'idle' };
  private config: EngineConfig | null = null;
  private readonly connections = new Set<Connection>();
  private readonly watchedTabs = new Set<string>();
  /** The newest link (epoch) each tab has said hello on. */
  private readonly epochs = new Map<string, number>();
  private readonly recentCalls = new Map<string, Map<number, RecentCall>>();
  private readonly authWaiters = new Map<
    number,
    { resolve(h: Record<string, string> | null | false): void; reject(e: Error): void; connection: Connection }
  >();
  /**
   * Starts at a random point, so two hosts (a worker and the one after it) do not hand out the same ids: a tab's
   * late answer to the first can then never match a question of the second.
   */
  private nextAuthId = 1 + Math.floor(Math.random() * 2 ** 40);
  /** A tab with an `authorize` hook has connected: from then on requests wait for one rather than go without. */
  private authorizingSeen = false;
  private readonly id = `${Date.now().toString(36)}-${(hostCounter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  /** The running engine's identity (welcome, instance lock): a new one for each engine this host starts. */
  private engineId = this.id;
  private starts = 0;
  private silenceTimer: ReturnType<typeof setInterval> | null = null;
  private releaseHold: (() => void) | null = null;
  private stopBroadcast: (() => void) | null = null;
  private instanceLock: string | null = null;
  /** Ends a takeover of an older engine (its lock released) once this host's instance lock is held. */
  private onInstanceHeld: (() => void) | null = null;
  /** Releases this host's queued lock (it stops queueing for the engine lock). */
  private leaveQueue: (() => void) | null = null;
  private readonly versions: { protocol: number; schema: number };

  constructor(private readonly options: EngineHostOptions) {
    this.versions = options.versions ?? { protocol: PROTOCOL_VERSION, schema: DB_VERSION };
    if (!this.locks) {
      const timeout = options.silenceTimeoutMs ?? 60_000;
      this.silenceTimer = setInterval(
        () => {
          for (const c of this.connections) if (Date.now() - c.lastSeen > timeout) this.drop(c);
        },
        Math.min(timeout, 10_000),
      );
    }
  }

  private get locks(): LockManager | null {
    return this.options.locks === undefined ? (globalThis.navigator?.locks ?? null) : this.options.locks;
  }

  /** What the host is doing, for tests and diagnostics. */
  get stateKind(): State['kind'] {
    return this.state.kind;
  }

  /** The engine, while this host runs it. */
  get engine(): SyncEngine | null {
    return this.state.kind === 'running' ? this.state.engine : null;
  }

  /** Tabs served: pages, however many clients each holds. */
  get clientCount(): number {
    return new Set([...this.connections].filter((c) => c.welcomed).map((c) => c.page)).size;
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
        // A repeated hello while this host is still starting changes nothing: the tab is introduced when it can be.
        if (connection && !connection.closed && !connection.welcomed && this.isStarting()) return;
        // A second hello on the same link starts the tab over; the link itself stays.
        if (connection) this.drop(connection, false);
        connection = this.hello(link, message);
        return;
      }
      if (message.t === 'bye') {
        if (connection) this.drop(connection);
        return;
      }
      if (!connection || connection.closed || !connection.welcomed) {
        // Not introduced (this engine is new to the tab, or not ready): ask it to start over.
        safeSend(link, { t: 'reset' });
        return;
      }
      connection.lastSeen = Date.now();
      this.handle(connection, message);
    });
  }

  /** Ends every connection and stops the engine, releasing the engine lock. */
  async close(): Promise<void> {
    if (this.state.kind === 'closed') return;
    const engine = this.engine;
    this.state = { kind: 'closed' };
    if (this.silenceTimer) clearInterval(this.silenceTimer);
    for (const c of [...this.connections]) this.drop(c);
    this.stopBroadcast?.();
    engine?.close();
    this.leaveQueue?.();
    this.releaseHold?.();
  }

  // ---- hello and the engine's life ----------------------------------------------------------

  private hello(link: Link, hello: Extract<ClientMessage, { t: 'hello' }>): Connection | null {
    if (this.state.kind === 'closed') return null;
    if (this.options.acceptsNamespace && !this.options.acceptsNamespace(hello.config.namespace)) {
      this.options.onMalformed?.(hello);
      return null;
    }
    if (this.config && hello.config.namespace !== this.config.namespace) {
      this.options.onMalformed?.(hello);
      return null;
    }
    const order = compareVersions(hello, this.versions);
    if (order < 0) {
      // An older tab (a page loaded before a deploy): it cannot talk to this engine.
      safeSend(link, {
        t: 'update-required',
        reason: `This page runs syncline protocol ${hello.protocol}, schema ${hello.schema}; the engine runs ${this.versions.protocol}, ${this.versions.schema}.`,
      });
      return null;
    }
    // A newer tab: its own runtime takes over the namespace from this older one; nothing to say to it.
    if (order > 0) {
      void this.yieldToNewer();
      return null;
    }
    // A hello from a link the tab has already left, arriving late: the newer link stands.
    const epoch = hello.epoch ?? 0;
    if (epoch < (this.epochs.get(hello.client) ?? 0)) return null;
    this.epochs.set(hello.client, epoch);
    // The same tab on a new link (it took the old one for dead): the old connection is gone for good.
    for (const old of this.connections) if (old.client === hello.client) this.drop(old);
    if (hello.canAuthorize) {
      this.authorizingSeen = true;
      if (this.state.kind === 'running') this.hookAuthorize(this.state.engine);
    }
    const connection: Connection = {
      client: hello.client,
      page: hello.page ?? hello.client,
      link,
      online: hello.online,
      visible: hello.visible,
      canAuthorize: hello.canAuthorize,
      config: hello.config,
      lastSeen: Date.now(),
      subs: new Map(),
      welcomed: false,
      closed: false,
    };
    this.connections.add(connection);
    this.watchTab(hello.config.namespace, hello.client);
    if (
      (this.state.kind === 'failed' && Date.now() - this.state.at > RETRY_START_AFTER_MS) ||
      this.state.kind === 'idle'
    )
      this.begin(hello.config);
    this.introduce(connection);
    return connection;
  }

  /**
   * Requests ask the tabs for credentials once any tab has said it can give them. Until then the engine has no hook
   * and sends each request as it is, with no round of promises per request to learn that no tab would answer.
   */
  private hookAuthorize(engine: SyncEngine): void {
    if (this.authorizingSeen && !engine.authorize)
      engine.authorize = (request) => this.authorize(request, engine.config.authorizeTimeoutMs);
  }

  private isStarting(): boolean {
    return this.state.kind === 'acquiring' || this.state.kind === 'starting';
  }

  /** The tab holds a lock named after itself for its whole life; we are granted it when the tab is gone. */
  private watchTab(namespace: string, client: string): void {
    if (!this.locks || this.watchedTabs.has(client)) return;
    this.watchedTabs.add(client);
    this.locks
      .request(tabLockName(namespace, client), async () => {
        this.watchedTabs.delete(client);
        this.recentCalls.delete(client);
        this.epochs.delete(client);
        for (const c of [...this.connections]) if (c.client === client) this.drop(c);
      })
      .catch(() => {});
  }

  /** Tells a connection what this host can do for it now. */
  private introduce(connection: Connection): void {
    const state = this.state;
    switch (state.kind) {
      case 'running': {
        connection.welcomed = true;
        state.engine.setClientCount(this.clientCount);
        state.engine.setNetwork(connection.online);
        this.shareVisibility();
        const differs = configDifferences(connection.config, state.engine.config);
        this.send(connection, {
          t: 'welcome',
          runtime: this.options.runtime,
          engine: this.engineId,
          lock: this.instanceLock,
          ...this.versions,
          ...(this.options.page !== undefined ? { page: this.options.page } : {}),
          ...(differs.length > 0 ? { differs } : {}),
        });
        return;
      }
      case 'waiting':
        this.send(connection, { t: 'elsewhere' });
        this.drop(connection, false);
        return;
      case 'failed':
        if (isVersionError(state.error)) {
          // This code is older than the database: a newer deploy created it.
          this.send(connection, {
            t: 'update-required',
            reason: 'The database was created by a newer version of syncline.',
          });
        } else {
          this.send(connection, { t: 'unavailable', error: serializeError(unavailable(state.error)) });
        }
        this.drop(connection, false);
        return;
      case 'superseded':
        this.send(connection, { t: 'update-required', reason: SUPERSEDED });
        this.drop(connection, false);
        return;
      default:
        // Acquiring or starting: welcomed (or sent elsewhere) as soon as that is known.
        return;
    }
  }

  private introduceAll(): void {
    for (const c of [...this.connections]) if (!c.welcomed) this.introduce(c);
  }

  /** Asks for the engine lock; takes it from an older version of syncline, waits behind the same version. */
  private begin(config: EngineConfig): void {
    this.config = config;
    this.state = { kind: 'acquiring' };
    const locks = this.locks;
    if (!locks) {
      void this.hold();
      return;
    }
    void this.acquire(locks, config.namespace);
  }

  /**
   * Shows this host's versions in a queued lock (held until its instance lock shows them), then reads which engine
   * runs and takes the engine lock: from an older version's engine, or in line behind one of this version. Shown
   * before anything is read: an older host granted the lock shows its instance lock before it reads the queued ones
   * (`hold`), so of two hosts doing this at the same moment, at least one sees the other.
   */
  private async acquire(locks: LockManager, namespace: string): Promise<void> {
    const name = engineLockName(namespace);
    this.leaveQueue?.();
    let leave!: () => void;
    const queued = new Promise<void>((resolve) => (leave = resolve));
    this.leaveQueue = leave;
    await holdLock(locks, queuedLockName(namespace, this.versions.schema, this.versions.protocol, this.id), queued);
    const queue = () =>
      locks
        .request(name, { ifAvailable: true }, async (lock) => {
          if (lock) return this.hold();
          // Held by another engine of this version: tabs go there until it is gone, then this host takes over.
          if (this.state.kind !== 'acquiring') return;
          this.state = { kind: 'waiting' };
          this.introduceAll();
          locks.request(name, () => this.hold()).catch((error) => this.lost(error));
        })
        .catch((error) => this.lost(error));
    // An older version's engine is taken over (its lock stolen), by one host of this version only: hosts of this
    // version starting together (two tabs, two clients of one page) would otherwise steal it from each other, and
    // the first, taken for superseded, would tell its tabs to reload. The takeover lock is held from the check
    // until the thief's instance lock shows its version; whoever waited for it looks again, and finds that version.
    await locks
      .request(`${name}:takeover`, async () => {
        if (this.state.kind !== 'acquiring') return;
        const running = await this.enginesRunning(locks, namespace);
        if (this.state.kind !== 'acquiring') return;
        if (!running.older || running.current) {
          queue();
          return;
        }
        await new Promise<void>((taken) => {
          this.onInstanceHeld = taken;
          locks
            .request(name, { steal: true }, () => this.hold())
            .catch((error) => this.lost(error))
            .finally(taken);
        });
      })
      .catch(() => queue());
  }

  /**
   * A newer tab reached this engine: its runtime is not running one, so it queues, or is about to take over. If it
   * queues (it read before this engine showed itself, or the takeover was busy), this engine steps aside for it.
   */
  private async yieldToNewer(): Promise<void> {
    const locks = this.locks;
    if (!locks || !this.config || this.state.kind !== 'running') return;
    if ((await this.newerQueued(locks, this.config.namespace)) && this.state.kind === 'running') this.supersede();
  }

  /** Whether a runtime of a newer version than this one queues for the engine lock now. */
  private async newerQueued(locks: LockManager, namespace: string): Promise<boolean> {
    return (await this.versionsShown(locks, namespace, 'queued')).some((v) => compareVersions(v, this.versions) > 0);
  }

  /** Which engines hold instance locks now: one of an older version, one of this version or newer (not this host's). */
  private async enginesRunning(locks: LockManager, namespace: string): Promise<{ older: boolean; current: boolean }> {
    const versions = await this.versionsShown(locks, namespace, 'instance');
    return {
      older: versions.some((v) => compareVersions(v, this.versions) < 0),
      current: versions.some((v) => compareVersions(v, this.versions) >= 0),
    };
  }

  /** The versions held locks of one kind show now, this host's instance lock left out; none if the query fails. */
  private async versionsShown(
    locks: LockManager,
    namespace: string,
    kind: 'instance' | 'queued',
  ): Promise<{ schema: number; protocol: number }[]> {
    try {
      const { held = [] } = await locks.query();
      return held
        .filter((lock) => lock.name !== this.instanceLock)
        .map((lock) => (lock.name ? parseInstanceLock(namespace, lock.name, kind) : null))
        .filter((v) => v !== null);
    } catch {
      return [];
    }
  }

  /** Runs the engine while the engine lock is held; the returned promise holds the lock until the engine stops. */
  private async hold(): Promise<void> {
    const config = this.config;
    if (!config || this.state.kind === 'closed' || this.state.kind === 'superseded') return;
    this.state = { kind: 'starting' };
    let release!: () => void;
    const life = new Promise<void>((resolve) => (release = resolve));
    this.releaseHold = release;
    this.engineId = `${this.id}.${++this.starts}`;
    // Still this start, not one begun after this engine stepped aside (a deleted database) while it opened.
    const current = () => this.state.kind === 'starting' && this.releaseHold === release;
    const locks = this.locks;
    if (locks) {
      this.instanceLock = instanceLockName(
        config.namespace,
        this.versions.schema,
        this.versions.protocol,
        this.engineId,
      );
      await holdLock(locks, this.instanceLock, life);
      // This version shows as an engine's now. A takeover is over: the next host of it to start queues behind this one.
      this.leaveQueue?.();
      this.onInstanceHeld?.();
      this.onInstanceHeld = null;
      // Granted while a newer version queues (this host queued behind the engine a newer one took over, or found the
      // lock free just as the newer engine went): the namespace belongs to the newer build. Run, this engine would
      // keep every newer tab waiting behind it until the last tab of the older build closed; it steps aside instead,
      // and its tabs are told to reload.
      if ((await this.newerQueued(locks, config.namespace)) && current()) this.supersede();
      if (!current()) {
        release();
        return;
      }
    }
    let engine: SyncEngine;
    try {
      engine = await this.options.startEngine(config, (newVersion) =>
        newVersion === null ? this.databaseDeleted() : this.supersede(),
      );
    } catch (error) {
      // An engine given up on while it opened (closed, superseded, its database deleted) fails as it should.
      if (current()) {
        console.error('syncline: the engine failed to start', error);
        this.state = { kind: 'failed', error, at: Date.now() };
        this.introduceAll();
      }
      release();
      return;
    }
    if (!current()) {
      // Closed, superseded or stepped aside while opening.
      engine.close();
      release();
      return;
    }
    this.hookAuthorize(engine);
    this.state = { kind: 'running', engine };
    if (this.options.broadcast !== false && typeof BroadcastChannel !== 'undefined' && locks) {
      this.stopBroadcast = serveOverBroadcast(channelName(config.namespace), this, this.options.onMalformed);
    }
    this.introduceAll();
    await life;
  }

  /** The engine lock request failed: taken by a newer version (AbortError), or the lock manager broke. */
  private lost(error: unknown): void {
    if (this.state.kind === 'closed') return;
    this.leaveQueue?.();
    if ((error as Error)?.name === 'AbortError') this.supersede();
    else {
      this.state = { kind: 'failed', error, at: Date.now() };
      this.introduceAll();
    }
  }

  /** A newer version runs the namespace now: stop the engine and tell every tab of this one to reload. */
  private supersede(): void {
    if (this.state.kind === 'closed' || this.state.kind === 'superseded') return;
    this.stopEngine({ kind: 'superseded' }, (c) => {
      this.send(c, { t: 'update-required', reason: SUPERSEDED });
      return false;
    });
  }

  /**
   * The database is being deleted (a logout): the engine closes so the deletion can go through, and the host
   * goes back to idle, so the next hello starts a fresh engine on a fresh database. Nothing newer took over:
   * tabs still here look for the next engine rather than being told to reload.
   */
  private databaseDeleted(): void {
    if (this.state.kind !== 'running' && this.state.kind !== 'starting') return;
    this.stopEngine({ kind: 'idle' }, (c) => {
      // With Web Locks, tabs learn from the instance lock, released below, as after any stop: their hello on a
      // fresh link then comes once this engine has let go of the engine lock. Without, they are told to start over.
      if (!this.locks) this.send(c, { t: 'reset' });
      return !!this.locks;
    });
  }

  /**
   * Stops the engine and its channel, lets every connection go (`farewell` tells it why and says whether to close
   * its link) and releases the engine lock; the host is then in `next`.
   */
  private stopEngine(next: State, farewell: (connection: Connection) => boolean): void {
    const engine = this.engine;
    this.state = next;
    this.leaveQueue?.();
    // A call this engine failed or left unanswered (it may have failed because it closed): re-sent by its tab, it
    // is asked of the next engine, whose checks of a re-sent call tell what this one did. Answers given stand.
    for (const memory of this.recentCalls.values()) for (const [id, call] of memory) if (!call.ok) memory.delete(id);
    this.stopBroadcast?.();
    this.stopBroadcast = null;
    engine?.close();
    for (const c of [...this.connections]) this.drop(c, farewell(c));
    this.releaseHold?.();
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
    this.engine?.setClientCount(this.clientCount);
    this.shareVisibility();
  }

  /** Collections pull on their interval only while some tab shows the page. */
  private shareVisibility(): void {
    this.engine?.setVisible([...this.connections].some((c) => c.welcomed && c.visible));
  }

  // ---- messages ---------------------------------------------------------------------------

  private send(connection: Connection, message: EngineMessage): void {
    if (!connection.closed) safeSend(connection.link, message);
  }

  private handle(connection: Connection, message: Exclude<ClientMessage, { t: 'hello' }>): void {
    const engine = this.engine;
    switch (message.t) {
      case 'ping':
        this.send(connection, { t: 'pong' });
        return;
      case 'bye':
        this.drop(connection);
        return;
      case 'env':
        connection.online = message.online;
        connection.visible = message.visible;
        engine?.setNetwork(message.online);
        this.shareVisibility();
        return;
      case 'auth-result': {
        const waiter = this.authWaiters.get(message.id);
        // Only the connection that was asked may answer: any other answer is for a question this host never asked it.
        if (!waiter || waiter.connection !== connection) return;
        this.authWaiters.delete(message.id);
        if (message.error !== undefined) waiter.reject(new Error(message.error));
        else waiter.resolve(message.signedOut ? false : message.headers);
        return;
      }
      case 'unsub':
        connection.subs.get(message.id)?.unsubscribe();
        connection.subs.delete(message.id);
        return;
      case 'sub':
        if (!engine) return;
        connection.subs.get(message.id)?.unsubscribe();
        connection.subs.set(
          message.id,
          subscribeLive(engine, message.query, (event) => this.send(connection, { t: 'event', id: message.id, event })),
        );
        return;
      case 'call':
        this.call(connection, message);
        return;
    }
  }

  private call(connection: Connection, message: Extract<ClientMessage, { t: 'call' }>): void {
    let memory = this.recentCalls.get(connection.client);
    if (!memory) this.recentCalls.set(connection.client, (memory = new Map()));
    const now = Date.now();
    // Oldest first, up to the first one kept: the ones after it are newer (a walk of every entry on every call
    // was a tenth of the worker's time in a run of enqueues).
    for (const [id, entry] of memory) {
      if (memory.size <= CALL_MEMORY_LIMIT && now - entry.at <= CALL_MEMORY_MS) break;
      memory.delete(id);
    }
    let entry = memory.get(message.id);
    if (!entry) {
      // Ids only grow within a tab: a known id is this call again, re-sent after a reconnect.
      const recent: RecentCall = { answer: this.invoke(connection.client, message), at: now, ok: false };
      memory.set(message.id, (entry = recent));
      recent.answer.then(
        () => Object.assign(recent, { at: Date.now(), ok: true }),
        () => (recent.at = Date.now()),
      );
    }
    entry.answer.then(
      (value) => this.send(connection, { t: 'result', id: message.id, ok: true, value }),
      (error) => this.send(connection, { t: 'result', id: message.id, ok: false, error: serializeError(error) }),
    );
  }

  private async invoke(client: string, message: Extract<ClientMessage, { t: 'call' }>): Promise<unknown> {
    const engine = this.engine;
    if (!engine) throw new SynclineError(SynclineErrorCode.Unavailable, 'The sync engine is not running here.');
    const { method, args } = message;
    if (method === 'enqueue') {
      const generated = (args[1] as { generated?: unknown } | undefined)?.generated;
      // The inputs came through postMessage: the engine's own copies already.
      return engine.enqueue(args[0] as unknown[], {
        resent: message.resent === true,
        owned: true,
        ...(Array.isArray(generated) ? { generated: generated.map((g) => g === true) } : {}),
      });
    }
    if (method === 'discard') return engine.discard(args[0] as string, { resent: message.resent === true });
    const fn = engine[method] as (...args: unknown[]) => unknown;
    const keyed = KEYED_CALLS[method as keyof typeof KEYED_CALLS];
    if (keyed === undefined) return fn.apply(engine, args);
    // Named by the tab and its call id, which a re-sent call keeps: its answer is kept with what it did.
    const call: TabCall = {
      key: `${client}#${message.id}`,
      resent: message.resent === true,
      ...(message.until !== undefined ? { until: message.until } : {}),
    };
    return fn.apply(engine, [...Array.from({ length: keyed }, (_, i) => args[i]), call]);
  }

  /**
   * Asks the tabs that have an `authorize` hook for fresh headers, a visible one first. A tab that closes, fails
   * or does not answer in time passes the question to the next; only an explicit "signed out" is a verdict.
   */
  private async authorize(
    request: { method: string; url: string },
    timeoutMs: number,
  ): Promise<Record<string, string> | null | false> {
    const candidates = [...this.connections]
      .filter((c) => c.welcomed && c.canAuthorize)
      .sort((a, b) => Number(b.visible) - Number(a.visible));
    if (candidates.length === 0) {
      // The app supplies credentials through its tabs: with none of those open, a request without them would be
      // refused (a 401 pauses the queue) or, worse, taken as anonymous. It waits for such a tab instead. (Asked only
      // once a tab has said it can: see hookAuthorize.)
      throw new Error('no open tab of the app can supply credentials now');
    }
    let lastError: unknown = null;
    for (const connection of candidates) {
      if (connection.closed) continue;
      try {
        return await this.askTab(connection, request, timeoutMs);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError ?? new Error('No tab could supply credentials.');
  }

  private askTab(
    connection: Connection,
    request: { method: string; url: string },
    timeoutMs: number,
  ): Promise<Record<string, string> | null | false> {
    const id = this.nextAuthId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.authWaiters.delete(id);
        reject(new Error(`No credentials from the page within ${timeoutMs} ms.`));
      }, timeoutMs);
      this.authWaiters.set(id, {
        resolve: (h) => {
          clearTimeout(timer);
          resolve(h);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
        connection,
      });
      this.send(connection, { t: 'authorize', id, request });
    });
  }
}

/** The options (by name) whose values differ between a tab's config and the one the engine runs with. */
function configDifferences(asked: EngineConfig, running: EngineConfig): string[] {
  const names = new Set([...Object.keys(asked), ...Object.keys(running)]) as Set<keyof EngineConfig>;
  // Lists (allowedOrigins, batch lanes) are sets: the same members in another order are the same option.
  const value = (option: unknown) =>
    JSON.stringify(Array.isArray(option) ? [...new Set(option.map((o) => JSON.stringify(o)))].sort() : option);
  return [...names].filter((name) => value(asked[name]) !== value(running[name])).sort();
}

function safeSend(link: Link, message: EngineMessage): void {
  try {
    link.send(message);
  } catch (error) {
    console.error('syncline: could not post to a tab', error);
  }
}

function isVersionError(error: unknown): boolean {
  return (error as Error)?.name === 'VersionError';
}

function unavailable(error: unknown): SynclineError {
  if (error instanceof SynclineError && error.code === SynclineErrorCode.Unavailable) return error;
  return new SynclineError(
    SynclineErrorCode.Unavailable,
    `The sync engine could not start: ${(error as Error)?.message ?? String(error)}`,
  );
}
