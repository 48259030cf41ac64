// The page's script under a strict CSP: syncline's no-build bundle and its worker, both from this origin.
import '/syncline/syncline.js';

// The bundle defines each tag once the page uses it: the provider's client exists once it is defined.
await customElements.whenDefined('sync-provider');

// What the consumer test reads back from the page.
const report = (window.__syncline = {});
const client = document.querySelector('sync-provider').client;
client.status$.subscribe((status) => (report.runtime = status.runtime));
client.pendingCount$.subscribe((count) => (report.pending = count));

const id = new URLSearchParams(location.search).get('id') ?? 'csp';
client
  .enqueue({
    kind: 'note.create',
    label: 'Create a <b>note</b>',
    entity: { type: 'notes', id: 'csp' },
    request: { method: 'POST', url: 'notes', body: { id, text: 'under a strict CSP' } },
  })
  .then(
    (op) => (report.enqueued = op.id),
    (error) => (report.error = String(error)),
  );

// Background Sync: one collection edit, pushed by the worker (which loads that part of its code with the first collection).
const tasks = client.collection(`tasks-${id}`, { pullIntervalMs: 0 });
tasks.items$.subscribe((items) => (report.pushed = items.length === 1 && !items[0].dirty));
tasks.put('t1', { title: 'from a page under a strict CSP' }).catch((error) => (report.collectionError = String(error)));
