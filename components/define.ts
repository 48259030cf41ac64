// One import registers every syncline element: <sync-provider>, <pending-badge>, <pending-marker>, <sync-outbox>, <sync-status>, <conflict-resolver>.
// The events on GlobalEventHandlersEventMap, for an app whose only import is this one: a reference kept in define.d.ts
// (preserve; `import type {}` would be dropped from it), and only a comment in the JS, which loads nothing more.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- the import style is what the .d.ts would lose
/// <reference path="events.ts" preserve="true" />
import './sync-provider/define.ts';
import './pending-badge/define.ts';
import './pending-marker/define.ts';
import './sync-outbox/define.ts';
import './sync-status/define.ts';
import './conflict-resolver/define.ts';
