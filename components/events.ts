// The events syncline elements fire: classes with readonly fields, bubbling and composed so a page hears them through shadow roots.
import type { Operation, SyncClient } from '../src/index.ts';

/** `<sync-provider>` now provides another client (or none). Informational: not cancelable. */
export class SyncClientChangedEvent extends Event {
  static readonly type = 'sync-client-changed';
  constructor(readonly client: SyncClient | undefined) {
    super(SyncClientChangedEvent.type, { bubbles: true, composed: true });
  }
}

/** The user asked to retry one operation. Cancel it to stop the element from calling `client.retry`. */
export class SyncRetryEvent extends Event {
  static readonly type = 'sync-retry';
  constructor(readonly operation: Operation) {
    super(SyncRetryEvent.type, { bubbles: true, composed: true, cancelable: true });
  }
}

/** The user asked to discard one operation. Cancel it to replace the built-in confirmation (and the discard). */
export class SyncDiscardEvent extends Event {
  static readonly type = 'sync-discard';
  constructor(readonly operation: Operation) {
    super(SyncDiscardEvent.type, { bubbles: true, composed: true, cancelable: true });
  }
}

/** The user asked to retry every failed and conflicting operation shown. Cancel it to stop `client.retryAll`. */
export class SyncRetryAllEvent extends Event {
  static readonly type = 'sync-retry-all';
  constructor(readonly lane: string | undefined) {
    super(SyncRetryAllEvent.type, { bubbles: true, composed: true, cancelable: true });
  }
}

/** The user asked to sync now. Cancel it to stop `client.syncNow`. */
export class SyncNowEvent extends Event {
  static readonly type = 'sync-now';
  constructor() {
    super(SyncNowEvent.type, { bubbles: true, composed: true, cancelable: true });
  }
}

declare global {
  // On GlobalEventHandlersEventMap (not only HTMLElementEventMap), so listeners on document and window are typed too.
  interface GlobalEventHandlersEventMap {
    'sync-client-changed': SyncClientChangedEvent;
    'sync-retry': SyncRetryEvent;
    'sync-discard': SyncDiscardEvent;
    'sync-retry-all': SyncRetryAllEvent;
    'sync-now': SyncNowEvent;
  }
}
