// The README's plain import and nothing else: 'syncline/define' alone types the tags and their events.
import 'syncline/define';

const outbox = document.querySelector('sync-outbox');
outbox?.addEventListener('sync-retry', (event) => console.log(event.operation.label, outbox.lanes));
document.addEventListener('sync-retry-all', (event) => console.log(event.filter.lane));
document.querySelector('conflict-resolver')?.addEventListener('conflict-resolved', (event) => event.result?.version);
window.addEventListener('sync-now', (event) => event.preventDefault());
export const count: number | undefined = document.querySelector('pending-badge')?.count;
