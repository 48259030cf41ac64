// The demo's task model: both patterns in one app. Edits go through Background Sync (a collection: shown at once,
// pushed in the background, conflicts left to the user); deletes go through the Foreground Queue (one by one, in
// the outbox), ordered after that task's earlier edits.
import { BehaviorSubject, combineLatest, map, shareReplay, type Observable } from 'rxjs';
import type { Collection, EntityRecord, Operation, SyncClient } from '../src/index.ts';

/** A task as the server stores it: nothing else is ever sent. */
export interface Task {
  title: string;
  done: boolean;
}

/** A task as shown: its latest local state and how far that state is from the server's. UI only, never sent. */
export interface TaskView extends Task {
  id: string;
  /** A local edit (or the whole task, if new) not yet on the server. */
  pending: boolean;
  /** A local edit in conflict with the server's copy: it waits for the user in `<conflict-resolver>`. */
  conflict: boolean;
  /** Delete queued, not yet on the server. */
  deleting: boolean;
  /** The server has a copy (false for a task created here and not pushed yet). */
  onServer: boolean;
}

export interface TaskBoardOptions {
  /** The API's base (the sync provider's endpoint). */
  api?: string;
  /** The tasks' collection under it: entities at `<api>/<path>/<id>`. */
  path?: string;
  /** How often the collection pulls while the page is visible. */
  pullIntervalMs?: number;
}

/** The collection's name (local): pending markers address tasks as `tasks/<id>`, as queued deletes do. */
export const COLLECTION = 'tasks';
/** The lane of queued task operations (deletes). */
const LANE = 'tasks';

export class TaskBoard {
  readonly tasks$: Observable<TaskView[]>;
  readonly collection: Collection<Task>;
  private readonly api: string;
  private readonly path: string;
  /** Tasks whose queued delete the server accepted: hidden until the next pull drops them from the replica. */
  private readonly gone = new BehaviorSubject<ReadonlySet<string>>(new Set());
  private readonly watched = new Set<string>();

  constructor(
    private readonly client: SyncClient,
    options: TaskBoardOptions = {},
  ) {
    this.api = (options.api ?? '/api').replace(/\/+$/, '');
    this.path = options.path ?? 'tasks';
    // 'manual': any edit the server's copy moved under is the user's call, field by field, in <conflict-resolver>.
    this.collection = client.collection<Task>(COLLECTION, {
      url: `${this.api}/${this.path}`,
      conflict: 'manual',
      pullIntervalMs: options.pullIntervalMs ?? 3000,
    });
    this.tasks$ = combineLatest([this.collection.items$, client.watchOperations({ lane: LANE }), this.gone]).pipe(
      map(([items, ops, gone]) => {
        this.watchDeletes(ops);
        return view(items, ops, gone);
      }),
      // One view for every micro-frontend on the page.
      shareReplay({ bufferSize: 1, refCount: true }),
    );
  }

  add(title: string): Promise<EntityRecord<Task>> {
    // Ids that sort by creation time, so the list (sorted by id) keeps tasks in the order they were added.
    return this.collection.put(`t${Date.now().toString(36).padStart(9, '0')}-${crypto.randomUUID().slice(0, 8)}`, {
      title,
      done: false,
    });
  }

  rename(task: TaskView, title: string): Promise<EntityRecord<Task>> {
    return this.collection.patch(task.id, { title });
  }

  toggle(task: TaskView): Promise<EntityRecord<Task>> {
    return this.collection.patch(task.id, { done: !task.done });
  }

  /** Deletes go through the queue: the outbox lists each one, and it is sent after the task's earlier edits. */
  remove(task: TaskView): Promise<Operation> {
    return this.client.enqueue({
      kind: 'task.delete',
      label: `Delete "${task.title}"`,
      lane: LANE,
      entity: { type: COLLECTION, id: task.id },
      request: { method: 'DELETE', url: `${this.api}/${this.path}/${encodeURIComponent(task.id)}` },
    });
  }

  /**
   * Changes the task on the server as another user would: a direct request to the reference server's admin route
   * (past its fault switches, and past syncline), with If-Match on the server's current version. Someone who edited
   * the same task here and has not pushed it yet gets a conflict when the edit goes out.
   */
  async editOnServer(
    task: TaskView,
    change: (current: Task) => Partial<Task> = (current) => ({ title: `${current.title} (edited elsewhere)` }),
  ): Promise<Task> {
    const url = `${this.api}/_admin/direct/${this.path}/${encodeURIComponent(task.id)}`;
    const current = await fetch(url, { cache: 'no-store' });
    if (!current.ok) throw new Error(`The server has no copy of "${task.title}" (${current.status}).`);
    const { data } = (await current.json()) as { data: Task };
    const next: Task = { title: data.title, done: data.done, ...change(data) };
    const response = await fetch(url, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', 'If-Match': current.headers.get('ETag') ?? '*' },
      body: JSON.stringify(next),
    });
    if (!response.ok) throw new Error(`The server refused the edit of "${task.title}" (${response.status}).`);
    // Pull now, so the other user's change shows (or conflicts) without waiting for the next pull.
    void this.client.syncNow().catch(() => undefined);
    return next;
  }

  /** Once a queued delete is done, hides its task and pulls, so the replica drops it. */
  private watchDeletes(ops: Operation[]): void {
    for (const op of ops) {
      const id = op.entity?.id;
      if (op.request.method !== 'DELETE' || !id || this.watched.has(op.id)) continue;
      this.watched.add(op.id);
      this.client.settled(op.id).then(
        () => {
          this.gone.next(new Set([...this.gone.value, id]));
          void this.client.syncNow().catch(() => undefined);
        },
        () => this.watched.delete(op.id), // discarded: the task stays
      );
    }
  }
}

/** The replica's tasks (oldest first: ids sort by creation), with what is still queued (deletes) marked. */
export function view(items: EntityRecord<Task>[], ops: Operation[], gone: ReadonlySet<string> = new Set()): TaskView[] {
  const deleting = new Set(
    ops.filter((op) => op.request.method === 'DELETE' && op.entity?.type === COLLECTION).map((op) => op.entity!.id),
  );
  return items
    .filter((item) => !gone.has(item.id))
    .map((item) => ({
      id: item.id,
      title: item.data.title,
      done: item.data.done,
      pending: item.dirty,
      conflict: item.conflictId !== null,
      deleting: deleting.has(item.id),
      onServer: item.version !== null,
    }));
}
