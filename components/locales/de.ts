// German, registered for `lang="de"` on import (`syncline/locales/de`): every string of every element and of the announcements;
// typed as SynclineStrings, so a string added to the elements fails the build until it is translated here too.
import { plural, timeAgo, timeUntil } from '../intl.ts';
import { registerStrings } from '../localize.ts';
import type { SynclineStrings } from '../strings.ts';

const changes = (n: number) => plural('de', n, { one: '# Änderung', other: '# Änderungen' });
const edits = (n: number) => plural('de', n, { one: '# Bearbeitung', other: '# Bearbeitungen' });

/** The German table, used under `lang="de"` (and `de-AT`, `de-CH`, …). */
export const germanStrings: SynclineStrings = {
  noProvider: 'Synchronisierung nicht verfügbar: kein Sync-Provider',
  noClient: 'Synchronisierung ist nicht verbunden',
  clientError: (message) => `Synchronisierung konnte nicht starten: ${message}`,
  syncStopped: 'Synchronisierung beendet: Seite neu laden',
  pendingCount: (n) => `${changes(n)} noch nicht gespeichert`,
  failedCount: (n) =>
    plural('de', n, {
      one: '# Änderung konnte nicht gespeichert werden',
      other: '# Änderungen konnten nicht gespeichert werden',
    }),
  conflictCount: (n) => `${changes(n)} im Konflikt`,
  pendingAnnouncement: (n) => `${changes(n)} noch nicht gespeichert`,
  allSaved: 'Alle Änderungen gespeichert',
  nothingUnsent: 'Keine ungesendeten Änderungen',
  offlineAnnouncement: 'Offline: Änderungen bleiben auf diesem Gerät',
  onlineAnnouncement: (n) =>
    n > 0
      ? `Wieder online: ${plural('de', n, { one: '# Änderung wird gesendet', other: '# Änderungen werden gesendet' })}`
      : 'Wieder online',
  pausedAnnouncement: 'Warten auf Anmeldung: Änderungen bleiben auf diesem Gerät',
  markerPending: 'ausstehend',
  markerFailed: 'fehlgeschlagen',
  markerConflict: 'Konflikt',
  markerSaved: 'gespeichert',
  markerDetails: (label, error) => (error ? `${label} – ${error}` : label),
  outboxTitle: 'Nicht gesendete Änderungen',
  outboxEmpty: 'Alle Änderungen sind gespeichert.',
  outboxListLabel: 'Nicht gesendete Änderungen',
  loading: 'Wird geladen …',
  retry: 'Erneut senden',
  retryAll: 'Alle erneut senden',
  discard: 'Verwerfen',
  keep: 'Behalten',
  retryLabel: (label) => `„${label}“ erneut senden`,
  discardLabel: (label) => `„${label}“ verwerfen`,
  discardConfirm: (label) => `„${label}“ verwerfen?`,
  status: { pending: 'ausstehend', sending: 'wird gesendet', failed: 'fehlgeschlagen', conflict: 'Konflikt' },
  attempts: (n) => plural('de', n, { one: '# Versuch', other: '# Versuche' }),
  retryIn: (s) => `neuer Versuch ${timeUntil('de', s)}`,
  retryFailed: (label, message) => `„${label}“ konnte nicht erneut gesendet werden: ${message}`,
  retryAllFailed: (message) => `Erneutes Senden fehlgeschlagen: ${message}`,
  discardFailed: (label, message) => `„${label}“ konnte nicht verworfen werden: ${message}`,
  discardGone: (label) => `„${label}“ wurde nicht verworfen: nicht mehr in der Warteschlange`,
  laneFilter: 'Warteschlange',
  allLanes: 'Alle Warteschlangen',
  lane: (name) => name,
  online: 'Online',
  offline: 'Offline',
  degraded: 'Verbindung instabil',
  syncing: 'Wird synchronisiert …',
  connecting: 'Verbindung zur Sync-Engine wird hergestellt …',
  waitingForSignIn: 'Warten auf Anmeldung',
  storageFull: 'Speicher voll: Neue Änderungen werden auf diesem Gerät womöglich nicht gespeichert.',
  storageError: 'Lokaler Speicher fehlerhaft: Neue Änderungen werden auf diesem Gerät womöglich nicht gespeichert.',
  lastSynced: (ms) =>
    ms < 45_000 ? 'Zuletzt synchronisiert: gerade eben' : `Zuletzt synchronisiert ${timeAgo('de', ms)}`,
  neverSynced: 'Noch nicht synchronisiert',
  unsent: (n) => `${changes(n)} noch nicht gesendet`,
  unavailable: 'Synchronisierung ist auf diesem Gerät nicht möglich',
  updateRequired: 'Eine neue Version dieser App ist verfügbar: Seite neu laden, um weiter zu synchronisieren',
  reload: 'Neu laden',
  engineError: (message) => `Synchronisierungsproblem: ${message}`,
  syncNowFailed: (message) => `Synchronisieren fehlgeschlagen: ${message}`,
  sentWhileOpen:
    'Änderungen werden auf diesem Gerät gespeichert und gesendet, solange diese App in einem Tab geöffnet ist.',
  continuesAfterClose: 'Andere offene Tabs senden deine Änderungen weiter.',
  syncNow: 'Jetzt synchronisieren',
  unsentWithEdits: (c, e) =>
    c > 0 ? `${changes(c)} und ${edits(e)} noch nicht gesendet` : `${edits(e)} noch nicht gesendet`,
  conflictsNeedDecision: (n) =>
    plural('de', n, {
      one: '# Konflikt wartet auf deine Entscheidung',
      other: '# Konflikte warten auf deine Entscheidung',
    }),
  editsTitle: 'Noch nicht übertragene Bearbeitungen',
  editLabel: (collection, id, deleted) => `${deleted ? 'Löschen von ' : ''}${collection}/${id}`,
  editStatus: { pending: 'ausstehend', failed: 'fehlgeschlagen', conflict: 'Konflikt' },
  outboxNoOperations: 'Keine Änderungen in der Warteschlange.',
  conflictHeading: (collection, id) => `${collection}/${id}: hier und auf dem Server geändert`,
  conflictsEmpty: 'Keine Konflikte warten auf deine Entscheidung.',
  conflictMoved:
    'Die Kopie auf dem Server hat sich geändert, während du gewählt hast: Prüfe die Felder, die sie geändert hat.',
  sideBase: 'Vorher',
  sideMine: 'Deine',
  sideTheirs: 'Server',
  valueAbsent: '(nicht gesetzt)',
  valueDeleted: '(gelöscht)',
  changedMarker: 'geändert',
  conflictMarker: 'auf beiden Seiten geändert',
  chooseMine: 'Deine',
  chooseTheirs: 'Server',
  chooseEdit: 'Bearbeiten',
  editValueLabel: (field) => `Neuer Wert von ${field}`,
  invalidValue: (field) =>
    `${field}: kein gültiger Wert. Schreibe JSON, z. B. 42, true, null, "Text", [1, 2] oder {"a": 1}.`,
  allMine: 'Alles von dir behalten',
  allTheirs: 'Alles vom Server übernehmen',
  deletedOnServer: 'Der Server hat diesen Eintrag gelöscht; du hast ihn bearbeitet.',
  deletedHere: 'Du hast diesen Eintrag gelöscht; der Server hat ihn geändert.',
  wholeChoices: 'Lösung',
  keepMyEdit: 'Mit deiner Bearbeitung behalten',
  acceptDelete: 'Löschen',
  keepMyDelete: 'Löschen',
  keepServerCopy: 'Die Version des Servers behalten',
  apply: 'Übernehmen',
  cancel: 'Abbrechen',
  resolveFailed: (message) => `Konnte nicht gelöst werden: ${message}`,
  conflictResolved: 'Konflikt gelöst',
};

registerStrings('de', germanStrings);
