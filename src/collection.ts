// A Background Sync collection as a tab sees it: optimistic edits, a live view of the replica, its status and rollbacks.
import { Observable, distinctUntilChanged, filter, map, scan, shareReplay, type Subscription } from 'rxjs';
import { callTimedOut, type EngineConnection } from './rpc/connection.ts';
import type { TopicEvent } from './rpc/protocol.ts';
import { SynclineError, SynclineErrorCode, unreadableInput } from './errors.ts';
import { asJsonValue } from './engine/body.ts';
import type {
  CollectionConfig,
  CollectionStatus,
  Conflict,
  ConflictStrategy,
  DirtyEntity,
  EntityRecord,
  Resolution,
  Rollback,
} from './types.ts';

/** How long a collection's conflict rule waits before it asks again for the conflicts after a failed read. */
const CONFLICTS_RETRY_MS = 1_000;
/** How soon a conflict whose resolve by the app's rule failed for a passing reason is offered to it again. */
const REOFFER_MS = 2_000;

/** How a collection settles conflicts: a named strategy, or a function run in the page (then 'manual' in the engine). */
export type ConflictPolicy<T> =
  ConflictStrategy | ((conflict: Conflict<T>) => Resolution<T> | 'manual' | Promise<Resolution<T> | 'manual'>);

export interface CollectionOptions<T> {
  /** The collection's URL, absolute or relative to the endpoint (default: its name). */
  url?: string;
  /** Default `merge`. */
  conflict?: ConflictPolicy<T>;
  /** Pull this often while a tab is visible (default 30 s; 0: only at start, on reconnect and on syncNow()). */
  pullIntervalMs?: number;
}

/**
 * One collection of server entities, edited optimistically: an edit shows in `items$` (in every tab) at once, and
 * the engine pushes it in the background; the server's changes are pulled in. Conflicts are settled by the
 * collection's strategy, or wait on `client.conflicts$` for the user.
 */
export interface Collection<T extends object = Record<string, unknown>> {
  readonly name: string;
  /** Creates or replaces an entity. */
  put(id: string, data: T): Promise<EntityRecord<T>>;
  /** Changes some fields of an entity. */
  patch(id: string, fields: Partial<T>): Promise<EntityRecord<T>>;
  /** Deletes an entity; false when there was none. */
  delete(id: string): Promise<boolean>;
  /** Drops this device's unpushed edits of an entity (back to the server's copy). */
  revert(id: string): Promise<boolean>;
  /** Every entity (deleted ones left out), sorted by id, updated on every change. */
  readonly items$: Observable<EntityRecord<T>[]>;
  /** One entity, or undefined while there is none. */
  get$(id: string): Observable<EntityRecord<T> | undefined>;
  readonly status$: Observable<CollectionStatus>;
  /** Local edits that a conflict strategy replaced with the server's copy: tell the user. */
  readonly rollbacks$: Observable<Rollback<T>>;
}

export class CollectionHandle<T extends object> implements Collection<T> {
  readonly items$: Observable<EntityRecord<T>[]>;
  readonly status$: Observable<CollectionStatus>;
  readonly rollbacks$: Observable<Rollback<T>>;
  private readonly byId$: Observable<Map<string, EntityRecord<T>>>;
  private readonly config: CollectionConfig;
  /** The registration under way or done; null before the first and after one failed, so the next use asks again. */
  private registration: Promise<unknown> | null = null;
  private resolver: Subscription | null = null;
  private rewatch: ReturnType<typeof setTimeout> | undefined;
  private reoffer: ReturnType<typeof setTimeout> | undefined;
  private readonly welcomes: Subscription;

  constructor(
    readonly name: string,
    private readonly connection: EngineConnection,
    url: string,
    options: CollectionOptions<T>,
    conflicts$: Observable<Conflict[]>,
    resolve: (id: string, resolution: Resolution) => Promise<unknown>,
  ) {
    const policy = options.conflict ?? 'merge';
    this.config = {
      name,
      url,
      conflict: typeof policy === 'function' ? 'manual' : policy,
      pullIntervalMs: options.pullIntervalMs ?? 30_000,
    };
    // Registered at once (so it pulls before the first edit); a failure shows on the next edit, which asks again.
    this.register().catch(() => {});
    // Asked again as soon as an engine welcomes this tab, not only at the next edit: after a registration that
    // failed (the engine was unavailable, the call timed out), and with every new engine, which may run on a fresh
    // database (deleteSynclineDB in another tab) that has never heard of the collection. Until then the collection
    // neither pulls nor pushes there. The engine registers idempotently: asking an engine that knows it is cheap.
    let connected = connection.connected;
    let engine = connection.engineId;
    this.welcomes = connection.state$.subscribe((state) => {
      const welcomed = state.connected && !connected;
      connected = state.connected;
      if (!welcomed) return;
      if (connection.engineId !== engine) this.registration = null;
      engine = connection.engineId;
      if (!this.registration) this.register().catch(() => {});
    });
    this.byId$ = connection.watch({ topic: 'entities', collection: name }).pipe(
      scan((items, event: TopicEvent) => {
        if (event.type === 'entities-reset') return new Map(event.entities.map((e) => [e.id, e as EntityRecord<T>]));
        if (event.type !== 'entities-changes') return items;
        const next = new Map(items);
        for (const id of event.removes) next.delete(id);
        for (const e of event.upserts) next.set(e.id, e as EntityRecord<T>);
        return next;
      }, new Map<string, EntityRecord<T>>()),
      shareReplay({ bufferSize: 1, refCount: true }),
    );
    this.items$ = this.byId$.pipe(
      map((items) => [...items.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))),
      shareReplay({ bufferSize: 1, refCount: true }),
    );
    this.status$ = connection.watch({ topic: 'collection-status', collection: name }).pipe(
      map((e) => (e as Extract<TopicEvent, { type: 'collection-status' }>).status),
      shareReplay({ bufferSize: 1, refCount: true }),
    );
    this.rollbacks$ = connection.watch({ topic: 'rollbacks' }).pipe(
      map((e) => (e as Extract<TopicEvent, { type: 'rollback' }>).rollback as Rollback<T>),
      filter((r) => r.collection === name),
    );
    if (typeof policy === 'function') {
      // The app's own rule runs here, in the page: each conflict of this collection is offered to it once per pair of
      // copies (a pull may bring a newer server copy into an open conflict while the rule decides, an edit a newer
      // local one).
      const offered = new Set<string>();
      // Per conflict, the two copies it stands on now (`theirsVersion`, `mineRev`): a rule's answer counts for those.
      const latest = new Map<string, string>();
      const copies = (conflict: Conflict) => `${conflict.theirsVersion}/${conflict.mineRev}`;
      let last: Conflict[] = [];
      const offer = (all: Conflict[]) => {
        last = all;
        latest.clear();
        for (const conflict of all) if (conflict.collection === name) latest.set(conflict.id, copies(conflict));
        for (const conflict of all) {
          const key = `${conflict.id}@${copies(conflict)}`;
          if (conflict.collection !== name || offered.has(key)) continue;
          offered.add(key);
          void Promise.resolve(policy(conflict as Conflict<T>))
            .then((answer) => {
              // Decided on a server copy since replaced (the rule is asked about the newer one), or resolved meanwhile.
              if (answer === 'manual' || latest.get(conflict.id) !== copies(conflict)) return undefined;
              // The engine checks again in the write that settles it: a pull or an edit may land before the call does.
              const on = { theirsVersion: conflict.theirsVersion, mineRev: conflict.mineRev };
              return resolve(conflict.id, { ...(answer as Resolution), ...on }).catch((error: unknown) => {
                const code = (error as SynclineError | undefined)?.code;
                // Settled elsewhere (another tab's rule, the user), or about a copy since replaced (offered again
                // as that one): nothing to say.
                if (code === SynclineErrorCode.NotFound || code === SynclineErrorCode.ConflictChanged) return;
                // A passing failure (no engine for a moment, a full disk): offered again in a while (or with the
                // next list, if one comes first).
                offered.delete(key);
                this.reoffer ??= setTimeout(() => {
                  this.reoffer = undefined;
                  offer(last);
                }, REOFFER_MS);
                throw error;
              });
            })
            .catch((error) =>
              console.error(`syncline: the conflict rule of ${name} failed; the conflict waits for the user.`, error),
            );
        }
      };
      const watch = () => {
        this.resolver = conflicts$.subscribe({
          next: offer,
          // A failed read of the conflicts ends their live query: said here, and asked again, so the rule goes on.
          error: (error: unknown) => {
            console.error(`syncline: the conflicts could not be read for the rule of ${name}; asking again.`, error);
            this.rewatch = setTimeout(watch, CONFLICTS_RETRY_MS);
          },
        });
      };
      watch();
    }
  }

  /** Registers the collection with the engine (idempotent there), unless a registration is under way or done. */
  private register(): Promise<unknown> {
    if (this.registration) return this.registration;
    const attempt = this.connection.call('registerCollection', this.config);
    this.registration = attempt;
    attempt.catch(() => {
      if (this.registration === attempt) this.registration = null;
    });
    return attempt;
  }

  /**
   * A call on this collection, once registered. An engine that does not know the collection (a call re-sent at its
   * welcome, before the registration this tab sends it) refused it without effect: registered again, it is asked again.
   */
  private async registered<R>(method: string, send: (deadline: number) => Promise<R>): Promise<R> {
    // One call's time bound for all of it, registration included: the caller waits no longer than for any call.
    const deadline = Date.now() + this.connection.callTimeoutMs;
    await this.registeredBy(deadline, method);
    try {
      return await send(deadline);
    } catch (error) {
      if (!unregistered(error, this.name)) throw error;
      this.registration = null;
      await this.registeredBy(deadline, method);
      return send(deadline);
    }
  }

  /** The registration, or `unavailable` at `deadline` (`method`, not sent yet, named as the call that failed). */
  private registeredBy(deadline: number, method: string): Promise<unknown> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(callTimedOut(method, this.connection.callTimeoutMs, false)),
        Math.max(0, deadline - Date.now()),
      );
    });
    return Promise.race([this.register(), late]).finally(() => clearTimeout(timer));
  }

  put(id: string, data: T): Promise<EntityRecord<T>> {
    return jsonOf(data).then((json) =>
      this.registered(
        'entityPut',
        (by) => this.connection.callBy(by, 'entityPut', this.name, id, json) as Promise<EntityRecord<T>>,
      ),
    );
  }

  patch(id: string, fields: Partial<T>): Promise<EntityRecord<T>> {
    return jsonOf(fields).then((json) =>
      this.registered(
        'entityPatch',
        (by) => this.connection.callBy(by, 'entityPatch', this.name, id, json) as Promise<EntityRecord<T>>,
      ),
    );
  }

  delete(id: string): Promise<boolean> {
    return this.registered('entityDelete', (by) => this.connection.callBy(by, 'entityDelete', this.name, id));
  }

  revert(id: string): Promise<boolean> {
    return this.registered('entityRevert', (by) => this.connection.callBy(by, 'entityRevert', this.name, id));
  }

  get$(id: string): Observable<EntityRecord<T> | undefined> {
    return this.byId$.pipe(
      map((items) => items.get(id)),
      distinctUntilChanged(),
    );
  }

  /** Ends the page-side conflict rule (the collection itself lives on in the engine). */
  close(): void {
    clearTimeout(this.rewatch);
    clearTimeout(this.reoffer);
    this.resolver?.unsubscribe();
    this.welcomes.unsubscribe();
  }
}

/** Keeps every open conflict as a list, from the engine's live query. */
export function conflictList(connection: EngineConnection): Observable<Conflict[]> {
  return new Observable<TopicEvent>((subscriber) =>
    connection.watch({ topic: 'conflicts' }).subscribe(subscriber),
  ).pipe(
    scan((all, event) => {
      if (event.type === 'conflicts-reset') return new Map(event.conflicts.map((c) => [c.id, c]));
      if (event.type !== 'conflicts-changes') return all;
      const next = new Map(all);
      for (const id of event.removes) next.delete(id);
      for (const c of event.upserts) next.set(c.id, c);
      return next;
    }, new Map<string, Conflict>()),
    map((all) => [...all.values()].sort((a, b) => a.detectedAt - b.detectedAt)),
    shareReplay({ bufferSize: 1, refCount: true }),
  );
}

/** Keeps every entity with an unpushed edit as a list, over all collections, oldest edit first. */
export function dirtyEntityList(connection: EngineConnection): Observable<DirtyEntity[]> {
  return new Observable<TopicEvent>((subscriber) => connection.watch({ topic: 'dirty' }).subscribe(subscriber)).pipe(
    scan((all, event) => {
      if (event.type === 'dirty-reset') return new Map(event.entities.map((e) => [`${e.collection}/${e.id}`, e]));
      if (event.type !== 'dirty-changes') return all;
      const next = new Map(all);
      for (const key of event.removes) next.delete(key);
      for (const e of event.upserts) next.set(`${e.collection}/${e.id}`, e);
      return next;
    }, new Map<string, DirtyEntity>()),
    map((all) => [...all.values()].sort((a, b) => a.since - b.since)),
    shareReplay({ bufferSize: 1, refCount: true }),
  );
}

/** Whether an engine refused a call because it does not know the collection (see `BackgroundSync`'s config()). */
function unregistered(error: unknown, collection: string): boolean {
  return (
    error instanceof SynclineError &&
    error.code === SynclineErrorCode.NotFound &&
    (error.detail as { unregisteredCollection?: unknown } | undefined)?.unregisteredCollection === collection
  );
}

/**
 * Entity data as JSON sees it (its toJSONs applied: the copy to the engine keeps no prototype), or `invalid-operation`
 * when it cannot be read (a getter that throws, a revoked Proxy).
 */
function jsonOf(data: unknown): Promise<unknown> {
  try {
    return Promise.resolve(asJsonValue(data));
  } catch (error) {
    return Promise.reject(unreadableInput(error, 'The entity data'));
  }
}
