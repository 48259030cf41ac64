// The demo's task model: the server's tasks overlaid with what is still queued, so every view shows the truth.
import { BehaviorSubject, combineLatest, map, type Observable, type Subscription } from 'rxjs';
import type { Operation, SyncClient } from '../src/index.ts';

export interface Task {
  id: string;
  title: string;
  done: boolean;
}

/** A task as shown: its latest known state and whether that state has reached the server yet. */
export interface TaskView extends Task {
  /** Local change not yet on the server. */
  pending: boolean;
  /** Deleted locally, delete not yet on the server. */
  deleting: boolean;
}

interface ServerItem {
  id: string;
  version: number;
  data: Task | null;
  deleted: boolean;
}

const LANE = 'tasks';

export class TaskBoard {
  private readonly server = new BehaviorSubject<Map<string, Task>>(new Map());
  private cursor = '0';
  private timer: ReturnType<typeof setInterval> | undefined;
  private drained: Subscription | undefined;
  readonly tasks$: Observable<TaskView[]>;

  constructor(private readonly client: SyncClient, private readonly url = '/api/tasks') {
    this.tasks$ = combineLatest([this.server, client.watchOperations({ lane: LANE })]).pipe(map(([server, ops]) => overlay(server, ops)));
  }

  /** Pulls the server's changes now and every few seconds (the queue's own drain refreshes it too). */
  start(intervalMs = 2000): void {
    void this.pull();
    this.timer = setInterval(() => void this.pull(), intervalMs);
    this.drained = this.client.pendingCount$.subscribe(() => void this.pull());
  }

  stop(): void {
    clearInterval(this.timer);
    this.drained?.unsubscribe();
  }

  async pull(): Promise<void> {
    try {
      const response = await fetch(`${this.url}?since=${this.cursor}`, { cache: 'no-store' });
      if (!response.ok) return;
      const page = (await response.json()) as { items: ServerItem[]; cursor: string; hasMore: boolean };
      if (page.items.length) {
        const next = new Map(this.server.value);
        for (const item of page.items) {
          if (item.deleted || !item.data) next.delete(item.id);
          else next.set(item.id, { ...item.data, id: item.id });
        }
        this.server.next(next);
      }
      this.cursor = page.cursor;
      if (page.hasMore) await this.pull();
    } catch {
      // Offline: the queue shows what is waiting; the list shows the last known server state.
    }
  }

  add(title: string) {
    const id = crypto.randomUUID();
    return this.write('task.create', `Add "${title}"`, { id, title, done: false });
  }

  rename(task: Task, title: string) {
    return this.write('task.rename', `Rename "${task.title}" to "${title}"`, { ...task, title });
  }

  toggle(task: Task) {
    return this.write(task.done ? 'task.reopen' : 'task.complete', `${task.done ? 'Reopen' : 'Complete'} "${task.title}"`, { ...task, done: !task.done });
  }

  remove(task: Task) {
    return this.client.enqueue({
      kind: 'task.delete',
      label: `Delete "${task.title}"`,
      lane: LANE,
      entity: { type: 'tasks', id: task.id },
      request: { method: 'DELETE', url: `${this.url}/${task.id}` },
    });
  }

  private write(kind: string, label: string, task: Task) {
    const { id, ...data } = task;
    return this.client.enqueue({
      kind,
      label,
      lane: LANE,
      entity: { type: 'tasks', id },
      request: { method: 'PUT', url: `${this.url}/${id}`, body: data },
    });
  }
}

/** Applies queued task operations, in queue order, on top of the server's copy. */
export function overlay(server: Map<string, Task>, ops: Operation[]): TaskView[] {
  const views = new Map<string, TaskView>();
  for (const task of server.values()) views.set(task.id, { ...task, pending: false, deleting: false });
  for (const op of ops) {
    const id = op.entity?.id;
    if (!id || op.entity?.type !== 'tasks') continue;
    if (op.request.method === 'DELETE') {
      const current = views.get(id);
      if (current) views.set(id, { ...current, pending: true, deleting: true });
    } else {
      const body = op.request.body as Omit<Task, 'id'>;
      views.set(id, { id, title: body.title, done: body.done, pending: true, deleting: false });
    }
  }
  return [...views.values()];
}
