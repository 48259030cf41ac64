// The README's lazy import and nothing else: 'syncline/autoload' alone types the tags and their events.
import { autoload } from 'syncline/autoload';

const stop: () => void = autoload();
const outbox = document.querySelector('sync-outbox');
outbox?.addEventListener('sync-discard', (event) => console.log(event.operation.id, outbox.total));
document.addEventListener('sync-retry', (event) => console.log(event.operation.label));
document.querySelector('sync-status')?.addEventListener('sync-reload', (event) => event.preventDefault());
export const count: number | undefined = document.querySelector('pending-badge')?.count;
stop();
