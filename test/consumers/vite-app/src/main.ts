// A default Vite vanilla-ts app using syncline from its npm package: the elements, and one operation through the worker.
import 'syncline/define';
import type { SyncStatus } from 'syncline';

// What the consumer test reads back from the page.
const report: {
  runtime?: SyncStatus['runtime'];
  pending?: number;
  enqueued?: string;
  pushed?: boolean;
  error?: string;
  collectionError?: string;
} = {};
Object.assign(window, { __syncline: report });

// Typed through HTMLElementTagNameMap: a SyncProviderElement, whose client exists once the tag is defined.
const client = document.querySelector('sync-provider')!.client!;
client.status$.subscribe((status) => (report.runtime = status.runtime));
client.pendingCount$.subscribe((count) => (report.pending = count));

const id = new URLSearchParams(location.search).get('id') ?? 'vite';
client
  .enqueue({
    kind: 'note.create',
    label: 'Create a note',
    request: { method: 'POST', url: 'notes', body: { id, text: 'from a Vite app' } },
  })
  .then(
    (op) => (report.enqueued = op.id),
    (error: unknown) => (report.error = String(error)),
  );

// Background Sync: one collection edit, pushed by the worker (which loads that part of its code with the first collection).
const tasks = client.collection<{ title: string }>(`tasks-${id}`, { pullIntervalMs: 0 });
tasks.items$.subscribe((items) => (report.pushed = items.length === 1 && !items[0]!.dirty));
tasks.put('t1', { title: 'from a Vite app' }).catch((error: unknown) => (report.collectionError = String(error)));
