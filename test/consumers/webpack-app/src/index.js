// A webpack 5 app using syncline from its npm package with no loader: the elements, and one operation through the worker.
import 'syncline/define';

// What the consumer test reads back from the page.
const report = (window.__syncline = {});
const client = document.querySelector('sync-provider').client;
client.status$.subscribe((status) => (report.runtime = status.runtime));
client.pendingCount$.subscribe((count) => (report.pending = count));

const id = new URLSearchParams(location.search).get('id') ?? 'webpack';
client
  .enqueue({
    kind: 'note.create',
    label: 'Create a note',
    request: { method: 'POST', url: 'notes', body: { id, text: 'from a webpack app' } },
  })
  .then(
    (op) => (report.enqueued = op.id),
    (error) => (report.error = String(error)),
  );

// Background Sync: one collection edit, pushed by the worker (which loads that part of its code with the first collection).
const tasks = client.collection(`tasks-${id}`, { pullIntervalMs: 0 });
tasks.items$.subscribe((items) => (report.pushed = items.length === 1 && !items[0].dirty));
tasks.put('t1', { title: 'from a webpack app' }).catch((error) => (report.collectionError = String(error)));
