// A React 19 consumer in TSX: syncline's elements, their attributes, properties and events, typed through 'syncline/react'.
import { useRef } from 'react';
import type {} from 'syncline/react';
import type { PendingBadgeElement, SyncNowEvent } from 'syncline/components';
import type { Operation } from 'syncline';

export function Outbox({ onRetry }: { onRetry: (op: Operation) => void }) {
  const badge = useRef<PendingBadgeElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const counts: (number | undefined)[] = [];
  return (
    <sync-provider endpoint="/api" namespace="user-42" worker-url="/syncline-worker.js">
      <sync-status warn-on-unload onsync-now={(event) => event.preventDefault()} />
      <pending-badge lane="tasks" show-zero />
      <pending-marker entity="tasks/42" />
      <sync-outbox lane="tasks" onsync-retry={(event) => onRetry(event.operation)} />
      {/* React's own props for an HTML element, typed for the element's class. */}
      <pending-badge
        ref={badge}
        key="badge"
        role="status"
        className="badge"
        onClick={(event) => counts.push(event.currentTarget.count)}
        onKeyDown={(event) => event.key === 'Enter'}
      />
      <pending-badge ref={(element) => void counts.push(element?.count)} />
      {/* @ts-expect-error a ref to another element type */}
      <pending-badge ref={input} />
      {/* @ts-expect-error a lane is a string */}
      <pending-badge lane={42} />
      {/* @ts-expect-error count is what the badge shows (a getter): React would assign it and fail */}
      <pending-badge count={3} />
      {/* @ts-expect-error the resolver's conflicts are read-only */}
      <conflict-resolver conflicts={[]} />
      {/* @ts-expect-error an unknown element attribute */}
      <sync-outbox lanee="tasks" />
      {/* @ts-expect-error onsync-retry gets a SyncRetryEvent, which has no conflict */}
      <sync-outbox onsync-retry={(event) => event.conflict} />
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
