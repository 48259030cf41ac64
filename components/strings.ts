// Every user-visible string of the elements, with English defaults; an element's `strings` property overrides any of them.
import type { OperationStatus } from '../src/index.ts';

/** Text the elements show or announce. Functions take the numbers a translation needs for plurals. */
export interface SynclineStrings {
  /** Shown by an element that found no `<sync-provider>` (or one without a client). */
  noProvider: string;
  /** Shown while the provider above has no client (none handed in yet, or a bad configuration). */
  noClient: string;
  /** The badge's words for changes waiting to be sent (neither failed nor in conflict). */
  pendingCount(count: number): string;
  /** The badge's words for changes the server refused; also announced when more fail. */
  failedCount(count: number): string;
  /** The badge's words for changes in conflict with the server's copy; also announced when more conflict. */
  conflictCount(count: number): string;
  /** Announced when a burst leaves more unsent changes than before (`count` is all unsent). */
  pendingAnnouncement(count: number): string;
  /** Shown by a badge at zero, and announced when the last unsent change is saved. */
  allSaved: string;
  /** Announced when the connection to the server is lost. */
  offlineAnnouncement: string;
  /** Announced when the connection comes back; `unsent` changes are being sent. */
  onlineAnnouncement(unsent: number): string;
  /** Announced when sending stops until the user signs in again. */
  pausedAnnouncement: string;
  /** Marker pill text for each state. */
  markerPending: string;
  markerFailed: string;
  markerConflict: string;
  /** Marker pill text once everything is sent, shown only while the pill still has focus. */
  markerSaved: string;
  /** What a marker shows on focus or hover: the latest change's label and the first error, if any. */
  markerDetails(label: string, error: string | undefined): string;
  /** Outbox heading. */
  outboxTitle: string;
  /** Outbox empty state. */
  outboxEmpty: string;
  /** Outbox list label (the operations list). */
  outboxListLabel: string;
  /** A row whose data is still being fetched. */
  loading: string;
  retry: string;
  retryAll: string;
  discard: string;
  keep: string;
  /** Accessible names of the per-row buttons, which need the label to be unambiguous. */
  retryLabel(label: string): string;
  discardLabel(label: string): string;
  /** The inline confirmation of a discard (also the name of its group of buttons). */
  discardConfirm(label: string): string;
  /** Status words as shown in the outbox. */
  status: Record<OperationStatus, string>;
  attempts(count: number): string;
  /** Countdown to the next automatic attempt. */
  retryIn(seconds: number): string;
  laneFilter: string;
  allLanes: string;
  lane(name: string): string;
  /** Connectivity and activity, as `<sync-status>` words them. */
  online: string;
  offline: string;
  degraded: string;
  syncing: string;
  connecting: string;
  waitingForSignIn: string;
  storageFull: string;
  storageError: string;
  lastSynced(agoMs: number): string;
  neverSynced: string;
  unsent(count: number): string;
  /** The honest copy about what happens when this tab closes. */
  sentWhileOpen: string;
  continuesAfterClose: string;
  syncNow: string;
}

const plural = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${plural(m, 'min', 'min')} ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${plural(h, 'hour', 'hours')} ago`;
  return `${plural(Math.round(h / 24), 'day', 'days')} ago`;
}

/** English defaults. */
export const defaultStrings: SynclineStrings = {
  noProvider: 'Sync unavailable: no sync provider',
  noClient: 'Sync is not connected',
  pendingCount: (n) => `${plural(n, 'change', 'changes')} not yet saved`,
  failedCount: (n) => `${plural(n, 'change', 'changes')} failed to save`,
  conflictCount: (n) => `${plural(n, 'change', 'changes')} in conflict`,
  pendingAnnouncement: (n) => `${plural(n, 'change', 'changes')} not yet saved`,
  allSaved: 'All changes saved',
  offlineAnnouncement: 'Offline: changes are kept on this device',
  onlineAnnouncement: (n) => (n > 0 ? `Back online: sending ${plural(n, 'change', 'changes')}` : 'Back online'),
  pausedAnnouncement: 'Waiting for sign-in: changes are kept on this device',
  markerPending: 'pending',
  markerFailed: 'failed',
  markerConflict: 'conflict',
  markerSaved: 'saved',
  markerDetails: (label, error) => (error ? `${label} — ${error}` : label),
  outboxTitle: 'Unsent changes',
  outboxEmpty: 'All changes are saved.',
  outboxListLabel: 'Unsent changes',
  loading: 'Loading…',
  retry: 'Retry',
  retryAll: 'Retry all',
  discard: 'Discard',
  keep: 'Keep',
  retryLabel: (label) => `Retry "${label}"`,
  discardLabel: (label) => `Discard "${label}"`,
  discardConfirm: (label) => `Discard "${label}"?`,
  status: { pending: 'pending', sending: 'sending', failed: 'failed', conflict: 'conflict' },
  attempts: (n) => plural(n, 'attempt', 'attempts'),
  retryIn: (s) => (s < 60 ? `retry in ${s} s` : `retry in ${Math.ceil(s / 60)} min`),
  laneFilter: 'Lane',
  allLanes: 'All lanes',
  lane: (name) => name,
  online: 'Online',
  offline: 'Offline',
  degraded: 'Connection unstable',
  syncing: 'Syncing…',
  connecting: 'Connecting to the sync engine…',
  waitingForSignIn: 'Waiting for sign-in',
  storageFull: 'Storage is full: new changes may not be saved on this device.',
  storageError: 'Local storage failed: new changes may not be saved on this device.',
  lastSynced: (ms) => `Last synced ${ago(ms)}`,
  neverSynced: 'Not synced yet',
  unsent: (n) => `${plural(n, 'change', 'changes')} not yet sent`,
  sentWhileOpen: 'Changes are saved on this device and are sent while this app is open in a tab.',
  continuesAfterClose: 'Other open tabs keep sending your changes.',
  syncNow: 'Sync now',
};

/** The defaults with an element's overrides on top (`status` merges key by key). */
export function resolveStrings(overrides: Partial<SynclineStrings> | undefined): SynclineStrings {
  if (!overrides) return defaultStrings;
  return { ...defaultStrings, ...overrides, status: { ...defaultStrings.status, ...overrides.status } };
}
