// The React micro-frontend: today's open tasks with quick toggles (Background Sync edits), using the same elements as the rest of the page.
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import type { TaskBoard, TaskView } from './tasks.ts';

function Today({ board }: { board: TaskBoard }) {
  const [tasks, setTasks] = useState<TaskView[]>([]);
  useEffect(() => {
    const sub = board.tasks$.subscribe(setTasks);
    return () => sub.unsubscribe();
  }, [board]);
  const open = tasks.filter((t) => !t.done && !t.deleting);
  return (
    <div>
      <p>
        {/* Silent: the badge in the page header already says every change aloud. */}
        {open.length} open · unsent task changes: <pending-badge show-zero silent></pending-badge>
      </p>
      <ul className="tasks">
        {open.map((task) => (
          <li key={task.id}>
            <button type="button" onClick={() => void board.toggle(task)} aria-label={`Complete ${task.title}`}>
              ✓
            </button>
            <span className="title">{task.title}</span>
            <pending-marker entity={`tasks/${task.id}`}></pending-marker>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function mountReactPanel(element: Element, board: TaskBoard): void {
  createRoot(element).render(
    <StrictMode>
      <Today board={board} />
    </StrictMode>,
  );
}

// React 19 passes attributes and properties to custom elements; this tells TypeScript which tags exist.
declare module 'react' {
  namespace JSX {
    interface IntrinsicElements {
      'pending-badge': React.DetailedHTMLProps<React.HTMLAttributes<HTMLElement>, HTMLElement> & {
        lane?: string;
        'show-zero'?: boolean;
        silent?: boolean;
      };
      'pending-marker': React.DetailedHTMLProps<React.HTMLAttributes<HTMLElement>, HTMLElement> & { entity?: string };
    }
  }
}
