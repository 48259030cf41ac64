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
