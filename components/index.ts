// The element classes, contexts, announcer, controller, events and strings of syncline's UI. No side effects: import ./define.ts to register the tags.
export { SyncProviderElement } from './sync-provider/sync-provider.component.ts';
export { PendingBadgeElement, BadgeState } from './pending-badge/pending-badge.component.ts';
export { PendingMarkerElement, MarkerState } from './pending-marker/pending-marker.component.ts';
export { SyncOutboxElement } from './sync-outbox/sync-outbox.component.ts';
export { SyncStatusElement, StatusState } from './sync-status/sync-status.component.ts';
export { ConflictResolverElement } from './conflict-resolver/conflict-resolver.component.ts';
export type { ConflictSide, ConflictValueRenderer } from './conflict-resolver/conflict-resolver.component.ts';
export { SyncElement } from './internal/sync-element.ts';
export { ObservableController } from './controllers/observable-controller.ts';
export type { ObservableControllerOptions } from './controllers/observable-controller.ts';
export { stringsContext, syncClientContext } from './context.ts';
export { PageAnnouncer, announcerContext, documentAnnouncer } from './announcer.ts';
export type { Announcer, AnnouncerTimers, PageAnnouncerOptions } from './announcer.ts';
export {
  ConflictCancelEvent,
  ConflictResolvedEvent,
  ConflictResolveEvent,
  SyncClientChangedEvent,
  SyncDiscardEvent,
  SyncNowEvent,
  SyncReloadEvent,
  SyncRetryAllEvent,
  SyncRetryEvent,
} from './events.ts';
export { defaultStrings, layerStrings, resolveStrings } from './strings.ts';
export type { SynclineStrings } from './strings.ts';
export { langOf, registerStrings, stringsFor } from './localize.ts';
export { plural, timeAgo, timeUntil } from './intl.ts';
export type { PluralForms } from './intl.ts';
