// Every user-visible string of the elements, with English defaults; tables per language, a provider's and an element's `strings` override them.
import type { OperationStatus } from '../src/index.ts';
import { plural as pluralOf, timeAgo, timeUntil } from './intl.ts';

/** Text the elements show or announce. Functions take the numbers a translation needs for plurals. */
export interface SynclineStrings {
  /** Shown by an element that found no `<sync-provider>` (or one without a client). */
  noProvider: string;
  /** Shown while the provider above has no client (none handed in yet, or a bad configuration). */
  noClient: string;
  /** Shown by `<sync-provider>` (role alert) when it cannot create its client; `message` is the client's error. */
  clientError(message: string): string;
  /** Shown by an element once its client's live queries have ended (the client closed, or the page must reload). */
  syncStopped: string;
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
  /** Announced instead when the last unsent changes went without a sync (discarded, cleared): nothing was saved. */
  nothingUnsent: string;
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
  /** The outbox's words (shown and announced) when a Retry the user asked for failed; `message` is the client's error. */
  retryFailed(label: string, message: string): string;
  /** When "Retry all" failed. */
  retryAllFailed(message: string): string;
  /** When a confirmed discard failed. */
  discardFailed(label: string, message: string): string;
  /** When a confirmed discard found the operation no longer queued (sent, or discarded elsewhere, meanwhile). */
  discardGone(label: string): string;
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
  /** `<sync-status>` (shown and announced) when the sync engine cannot run on this device; the reason is shown beside it. */
  unavailable: string;
  /** `<sync-status>` (shown and announced) when a newer version of the app runs the engine: this page must reload. */
  updateRequired: string;
  /** The button that reloads the page when an update is required. */
  reload: string;
  /** `<sync-status>`: the last error inside the sync engine itself (storage, a failed step), until a later sync succeeds. */
  engineError(message: string): string;
  /** `<sync-status>` (shown and announced) when "Sync now" failed; `message` is the client's error. */
  syncNowFailed(message: string): string;
  /** The honest copy about what happens when this tab closes. */
  sentWhileOpen: string;
  continuesAfterClose: string;
  syncNow: string;
  /** `<sync-status>`'s words for unsent queued changes beside unpushed edits of collections (both above zero, or edits only). */
  unsentWithEdits(changes: number, edits: number): string;
  /** Open conflicts, as `<sync-status>` shows them and `<conflict-resolver>` announces them. */
  conflictsNeedDecision(count: number): string;
  /** The outbox section of Background Sync edits the server has not accepted yet. */
  editsTitle: string;
  /** An unpushed edit in that section: which entity, and whether it is a delete. */
  editLabel(collection: string, id: string, deleted: boolean): string;
  /** An unpushed edit's state. */
  editStatus: { pending: string; failed: string; conflict: string };
  /** The outbox's empty state while only edits (no queued operations) are unsent. */
  outboxNoOperations: string;
  /** `<conflict-resolver>`: a conflict's heading. */
  conflictHeading(collection: string, entityId: string): string;
  /** No conflict (left) to decide. */
  conflictsEmpty: string;
  /** The server's copy moved while the user was choosing: the fields it changed are set again (part `moved`). */
  conflictMoved: string;
  /** Column headings: the last common version, this device's, the server's. */
  sideBase: string;
  sideMine: string;
  sideTheirs: string;
  /** A value a side does not have (the field is absent there). */
  valueAbsent: string;
  /** A side on which the whole item is deleted. */
  valueDeleted: string;
  /** The text marker of a value that differs from the last common version (never colour alone). */
  changedMarker: string;
  /** The text marker of a field changed on both sides. */
  conflictMarker: string;
  chooseMine: string;
  chooseTheirs: string;
  chooseEdit: string;
  /** The text field of an edited value. */
  editValueLabel(field: string): string;
  /** An edited value that should be JSON (the original was not text) and is not. */
  invalidValue(field: string): string;
  allMine: string;
  allTheirs: string;
  /** The server deleted the item; this device edited it. */
  deletedOnServer: string;
  /** This device deleted the item; the server changed it. */
  deletedHere: string;
  /** The whole-item choices when one side deleted it. */
  wholeChoices: string;
  keepMyEdit: string;
  acceptDelete: string;
  keepMyDelete: string;
  keepServerCopy: string;
  apply: string;
  cancel: string;
  /** Applying failed; `message` is the client's error. */
  resolveFailed(message: string): string;
  /** Announced once a conflict is resolved from the resolver. */
  conflictResolved: string;
}

const plural = (count: number, one: string, other: string) =>
  pluralOf('en', count, { one: `# ${one}`, other: `# ${other}` });

/** English defaults. */
export const defaultStrings: SynclineStrings = {
  noProvider: 'Sync unavailable: no sync provider',
  noClient: 'Sync is not connected',
  clientError: (message) => `Sync could not start: ${message}`,
  syncStopped: 'Sync stopped: reload the page',
  pendingCount: (n) => `${plural(n, 'change', 'changes')} not yet saved`,
  failedCount: (n) => `${plural(n, 'change', 'changes')} failed to save`,
  conflictCount: (n) => `${plural(n, 'change', 'changes')} in conflict`,
  pendingAnnouncement: (n) => `${plural(n, 'change', 'changes')} not yet saved`,
  allSaved: 'All changes saved',
  nothingUnsent: 'No unsent changes',
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
  retryIn: (s) => `retry ${timeUntil('en', s)}`,
  retryFailed: (label, message) => `Could not retry "${label}": ${message}`,
  retryAllFailed: (message) => `Could not retry all: ${message}`,
  discardFailed: (label, message) => `Could not discard "${label}": ${message}`,
  discardGone: (label) => `"${label}" was not discarded: it is no longer queued`,
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
  lastSynced: (ms) => (ms < 45_000 ? 'Last synced just now' : `Last synced ${timeAgo('en', ms)}`),
  neverSynced: 'Not synced yet',
  unsent: (n) => `${plural(n, 'change', 'changes')} not yet sent`,
  unavailable: 'Sync cannot run on this device',
  updateRequired: 'A new version of this app is available: reload the page to keep syncing',
  reload: 'Reload',
  engineError: (message) => `Sync problem: ${message}`,
  syncNowFailed: (message) => `Could not sync now: ${message}`,
  sentWhileOpen: 'Changes are saved on this device and are sent while this app is open in a tab.',
  continuesAfterClose: 'Other open tabs keep sending your changes.',
  syncNow: 'Sync now',
  unsentWithEdits: (changes, edits) =>
    changes > 0
      ? `${plural(changes, 'change', 'changes')} and ${plural(edits, 'edit', 'edits')} not yet sent`
      : `${plural(edits, 'edit', 'edits')} not yet sent`,
  conflictsNeedDecision: (n) =>
    pluralOf('en', n, { one: '# conflict needs your decision', other: '# conflicts need your decision' }),
  editsTitle: 'Edits not yet pushed',
  editLabel: (collection, id, deleted) => `${deleted ? 'Delete of ' : ''}${collection}/${id}`,
  editStatus: { pending: 'pending', failed: 'failed', conflict: 'conflict' },
  outboxNoOperations: 'No queued changes.',
  conflictHeading: (collection, id) => `${collection}/${id}: changed here and on the server`,
  conflictsEmpty: 'No conflicts need your decision.',
  conflictMoved: "The server's copy changed while you were choosing: check the fields it changed again.",
  sideBase: 'Before',
  sideMine: 'Yours',
  sideTheirs: 'Server',
  valueAbsent: '(not set)',
  valueDeleted: '(deleted)',
  changedMarker: 'changed',
  conflictMarker: 'changed on both sides',
  chooseMine: 'Yours',
  chooseTheirs: 'Server',
  chooseEdit: 'Edit',
  editValueLabel: (field) => `New value of ${field}`,
  invalidValue: (field) => `${field}: not a valid value. Write JSON, e.g. 42, true, null, "text", [1, 2] or {"a": 1}.`,
  allMine: 'Keep all of yours',
  allTheirs: "Keep all of the server's",
  deletedOnServer: 'The server deleted this item; you edited it.',
  deletedHere: 'You deleted this item; the server changed it.',
  wholeChoices: 'Resolution',
  keepMyEdit: 'Keep it with your edit',
  acceptDelete: 'Delete it',
  keepMyDelete: 'Delete it',
  keepServerCopy: "Keep the server's version",
  apply: 'Apply',
  cancel: 'Cancel',
  resolveFailed: (message) => `Could not resolve: ${message}`,
  conflictResolved: 'Conflict resolved',
};

/**
 * `upper` over `lower`, both partial (`status` and `editStatus` merge key by key): how override layers combine. A
 * key left undefined in `upper` (a catalog missing an entry, a framework binding with no value) is no override:
 * the layer below shows, as for a key left out.
 */
export function layerStrings(
  lower: Partial<SynclineStrings> | undefined,
  upper: Partial<SynclineStrings> | undefined,
): Partial<SynclineStrings> | undefined {
  if (!upper) return lower;
  const layered = { ...lower, ...defined(upper) } as Partial<SynclineStrings>;
  if (lower?.status || upper.status)
    layered.status = { ...lower?.status, ...defined(upper.status) } as SynclineStrings['status'];
  if (lower?.editStatus || upper.editStatus)
    layered.editStatus = { ...lower?.editStatus, ...defined(upper.editStatus) } as SynclineStrings['editStatus'];
  return layered;
}

/** `table` without its undefined entries. */
function defined<T extends object>(table: T | undefined): Partial<T> {
  if (!table) return {};
  return Object.fromEntries(Object.entries(table).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** A complete table: `overrides` over `base` (the English defaults unless given), `status` and `editStatus` merged key by key. */
export function resolveStrings(
  overrides: Partial<SynclineStrings> | undefined,
  base: SynclineStrings = defaultStrings,
): SynclineStrings {
  if (!overrides) return base;
  return layerStrings(base, overrides) as SynclineStrings;
}
