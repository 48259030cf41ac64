// The events syncline elements fire: classes with readonly fields, bubbling and composed so a page hears them through shadow roots.
import type { Conflict, EntityRecord, Operation, OperationFilter, Resolution, SyncClient } from '../src/index.ts';

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

/**
 * The user asked to retry every failed and conflicting operation shown. `filter` is exactly what the element
 * passes to `client.retryAll` (its `lane`, `kind` and `entity`, or the lane chosen in its select). Cancel it to
 * stop `client.retryAll`.
 */
export class SyncRetryAllEvent extends Event {
  static readonly type = 'sync-retry-all';
  constructor(readonly filter: Readonly<OperationFilter>) {
    super(SyncRetryAllEvent.type, { bubbles: true, composed: true, cancelable: true });
  }

  /** The filter's lane (undefined: every lane). Kept from before the event carried the whole filter. */
  get lane(): string | undefined {
    return this.filter.lane;
  }
}

/** The user asked to sync now. Cancel it to stop `client.syncNow`. */
export class SyncNowEvent extends Event {
  static readonly type = 'sync-now';
  constructor() {
    super(SyncNowEvent.type, { bubbles: true, composed: true, cancelable: true });
  }
}

/**
 * The user pressed `<sync-status>`'s "Reload" (a new version requires it, or sync stopped). Cancel it to reload
 * the page your own way (say, after saving what the page holds); otherwise the page reloads.
 */
export class SyncReloadEvent extends Event {
  static readonly type = 'sync-reload';
  constructor() {
    super(SyncReloadEvent.type, { bubbles: true, composed: true, cancelable: true });
  }
}

/** The user applied a resolution of a conflict. Cancel it to stop the element from calling `client.resolve`. */
export class ConflictResolveEvent extends Event {
  static readonly type = 'conflict-resolve';
  constructor(
    readonly conflict: Conflict,
    readonly resolution: Resolution,
  ) {
    super(ConflictResolveEvent.type, { bubbles: true, composed: true, cancelable: true });
  }
}

/** A conflict was resolved from the element: `result` is the entity as it now stands (null: deleted). Informational. */
export class ConflictResolvedEvent extends Event {
  static readonly type = 'conflict-resolved';
  constructor(
    readonly conflict: Conflict,
    readonly result: EntityRecord | null,
  ) {
    super(ConflictResolvedEvent.type, { bubbles: true, composed: true });
  }
}

/** The user pressed Cancel on a conflict: its choices went back to the defaults, and the conflict stays open. Informational. */
export class ConflictCancelEvent extends Event {
  static readonly type = 'conflict-cancel';
  constructor(readonly conflict: Conflict) {
    super(ConflictCancelEvent.type, { bubbles: true, composed: true });
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
    'sync-reload': SyncReloadEvent;
    'conflict-resolve': ConflictResolveEvent;
    'conflict-resolved': ConflictResolvedEvent;
    'conflict-cancel': ConflictCancelEvent;
  }
}
