// A React 19 consumer in TSX: syncline's elements, their attributes, properties and events, typed through 'syncline/react'.
import type {} from 'syncline/react';
import type { SyncNowEvent } from 'syncline/components';
import type { Operation } from 'syncline';

export function Outbox({ onRetry }: { onRetry: (op: Operation) => void }) {
  return (
    <sync-provider endpoint="/api" namespace="user-42" worker-url="/syncline-worker.js">
      <sync-status warn-on-unload onsync-now={(event) => event.preventDefault()} />
      <pending-badge lane="tasks" show-zero />
      <pending-marker entity="tasks/42" />
      <sync-outbox lane="tasks" onsync-retry={(event) => onRetry(event.operation)} />
      {/* @ts-expect-error a lane is a string */}
      <pending-badge lane={42} />
      {/* @ts-expect-error an unknown element attribute */}
      <sync-outbox lanee="tasks" />
    </sync-provider>
  );
}

// Events are on GlobalEventHandlersEventMap: typed on document and window, not only on elements.
document.addEventListener('sync-retry', (event) => console.log(event.operation.label));
window.addEventListener('sync-now', (event) => {
  const typed: SyncNowEvent = event;
  return typed;
});
// Tags are on HTMLElementTagNameMap once syncline/define is imported (a side-effect import, typed here).
export const badgeCount = (): number | undefined => document.querySelector('pending-badge')?.count;
