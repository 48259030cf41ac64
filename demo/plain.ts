// The plain-HTML micro-frontend: a form and a list, DOM by hand, user text always as text. Each task can also be
// changed "on the server" by another user, to make a conflict with an edit made here while offline.
import type { Subscription } from 'rxjs';
import type { SyncClient } from '../src/index.ts';
import type { SynclineStrings } from '../components/index.ts';
import type { TaskBoard, TaskView } from './tasks.ts';

export function mountPlainPanel(board: TaskBoard, root: ParentNode = document): Subscription {
  const form = root.querySelector<HTMLFormElement>('#add-form')!;
  const list = root.querySelector<HTMLUListElement>('#task-list')!;
  const empty = root.querySelector<HTMLElement>('#task-empty')!;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = form.elements.namedItem('title') as HTMLInputElement;
    const title = input.value.trim();
    if (!title) return;
    void board.add(title);
    input.value = '';
  });
  return board.tasks$.subscribe((tasks) => {
    empty.hidden = tasks.length > 0;
    list.replaceChildren(...tasks.map((task) => row(board, task)));
  });
}

/** Shows the conflicts card only while there is an open conflict to decide; each conflict is headed by its task's title. */
export function mountConflictsCard(client: SyncClient, card: HTMLElement, board: TaskBoard): Subscription {
  const resolver = card.querySelector<HTMLElement & { strings: Partial<SynclineStrings> }>('conflict-resolver')!;
  const subscription = client.conflicts$.subscribe((conflicts) => (card.hidden = conflicts.length === 0));
  subscription.add(
    board.tasks$.subscribe((tasks) => {
      const titles = new Map(tasks.map((task) => [task.id, task.title]));
      resolver.strings = {
        conflictHeading: (collection, id) =>
          titles.has(id)
            ? `"${titles.get(id)}": changed here and on the server`
            : `${collection}/${id}: changed here and on the server`,
      };
    }),
  );
  return subscription;
}

function row(board: TaskBoard, task: TaskView): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset['id'] = task.id;
  li.classList.toggle('done', task.done);
  li.classList.toggle('deleting', task.deleting);
  li.classList.toggle('conflict', task.conflict);
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.checked = task.done;
  box.disabled = task.deleting;
  box.setAttribute('aria-label', `Done: ${task.title}`);
  box.addEventListener('change', () => void board.toggle(task));
  const title = document.createElement('span');
  title.className = 'title';
  title.textContent = task.title;
  // Matches the collection's entity: shows its unpushed edit or conflict, and the queued delete.
  const marker = document.createElement('pending-marker');
  marker.setAttribute('entity', `tasks/${task.id}`);
  const edit = button('Edit', `Edit ${task.title}`, () => {
    const next = prompt('Rename task', task.title)?.trim();
    if (next && next !== task.title) void board.rename(task, next);
  });
  const remove = button('Delete', `Delete ${task.title}`, () => void board.remove(task));
  const server = button('Edit on server', `Edit ${task.title} on the server, as another user`, () => {
    void board
      .editOnServer(task)
      .catch((error: unknown) => alert(error instanceof Error ? error.message : String(error)));
  });
  server.className = 'server-edit';
  server.title = 'Changes this task on the server as someone else would, past the server switches';
  edit.disabled = remove.disabled = task.deleting;
  // A task created here and not pushed yet has no server copy to change.
  server.disabled = task.deleting || !task.onServer;
  const actions = document.createElement('span');
  actions.className = 'actions';
  actions.append(edit, remove, server);
  li.append(box, title, marker, actions);
  return li;
}

function button(text: string, label: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}
