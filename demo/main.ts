// Demo entry: registers the elements, then starts the three micro-frontends and the fault panel on one shared client.
import '../components/define.ts';
import type { SyncClient } from '../src/index.ts';
import { TaskBoard, type TaskView } from './tasks.ts';
import { mountFaultPanel } from './faults.ts';
import { mountReactPanel } from './react-app.tsx';
import { mountVuePanel } from './vue-app.ts';

/** The plain-HTML micro-frontend: a form and a list, DOM by hand, user text always as text. */
function mountPlainPanel(board: TaskBoard): void {
  const form = document.querySelector<HTMLFormElement>('#add-form')!;
  const list = document.querySelector<HTMLUListElement>('#task-list')!;
  const empty = document.querySelector<HTMLElement>('#task-empty')!;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = form.elements.namedItem('title') as HTMLInputElement;
    const title = input.value.trim();
    if (!title) return;
    void board.add(title);
    input.value = '';
  });
  board.tasks$.subscribe((tasks) => {
    empty.hidden = tasks.length > 0;
    list.replaceChildren(...tasks.map((task) => row(board, task)));
  });
}

function row(board: TaskBoard, task: TaskView): HTMLLIElement {
  const li = document.createElement('li');
  li.classList.toggle('done', task.done);
  li.classList.toggle('deleting', task.deleting);
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.checked = task.done;
  box.disabled = task.deleting;
  box.setAttribute('aria-label', `Done: ${task.title}`);
  box.addEventListener('change', () => void board.toggle(task));
  const title = document.createElement('span');
  title.className = 'title';
  title.textContent = task.title;
  const marker = document.createElement('pending-marker');
  marker.setAttribute('entity', `tasks/${task.id}`);
  const edit = button('Edit', `Edit ${task.title}`, () => {
    const next = prompt('Rename task', task.title)?.trim();
    if (next && next !== task.title) void board.rename(task, next);
  });
  const remove = button('Delete', `Delete ${task.title}`, () => void board.remove(task));
  edit.disabled = remove.disabled = task.deleting;
  li.append(box, title, marker, edit, remove);
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

async function start(): Promise<void> {
  await customElements.whenDefined('sync-provider');
  const provider = document.querySelector('sync-provider') as HTMLElement & { client?: SyncClient };
  const client = provider.client;
  if (!client) throw new Error('The sync provider has no client.');
  const board = new TaskBoard(client);
  board.start();
  mountPlainPanel(board);
  mountReactPanel(document.querySelector('#react-root')!, board);
  mountVuePanel(document.querySelector('#vue-root')!, board);
  mountFaultPanel(document.querySelector<HTMLFormElement>('#faults')!);
}

void start();
