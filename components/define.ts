// One import registers every syncline element: <sync-provider>, <pending-badge>, <pending-marker>, <sync-outbox>, <sync-status>, <conflict-resolver>.
import './sync-provider/define.ts';
import './pending-badge/define.ts';
import './pending-marker/define.ts';
import './sync-outbox/define.ts';
import './sync-status/define.ts';
import './conflict-resolver/define.ts';
