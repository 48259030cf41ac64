// The element classes, contexts, announcer, controller, events and strings of syncline's UI. No side effects: import ./define.ts to register the tags.
export { SyncProvider } from './sync-provider/sync-provider.component.ts';
export { PendingBadge, BadgeState } from './pending-badge/pending-badge.component.ts';
export { PendingMarker, MarkerState } from './pending-marker/pending-marker.component.ts';
export { SyncOutbox } from './sync-outbox/sync-outbox.component.ts';
export { SyncStatusElement, StatusState } from './sync-status/sync-status.component.ts';
export { ConflictResolver } from './conflict-resolver/conflict-resolver.component.ts';
export type { ConflictSide, ConflictValueRenderer } from './conflict-resolver/conflict-resolver.component.ts';
export { SyncElement } from './internal/sync-element.ts';
export { ObservableController } from './controllers/observable-controller.ts';
export type { ObservableControllerOptions } from './controllers/observable-controller.ts';
export { syncClientContext } from './context.ts';
export { PageAnnouncer, announcerContext, documentAnnouncer } from './announcer.ts';
export type { Announcer, AnnouncerTimers, PageAnnouncerOptions } from './announcer.ts';
export {
  ConflictCancelEvent,
  ConflictResolvedEvent,
  ConflictResolveEvent,
  SyncClientChangedEvent,
  SyncDiscardEvent,
  SyncNowEvent,
  SyncRetryAllEvent,
  SyncRetryEvent,
} from './events.ts';
export { defaultStrings, resolveStrings } from './strings.ts';
export type { SynclineStrings } from './strings.ts';
