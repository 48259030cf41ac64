// A server process cut down to its key store, for crash tests: claims one key, prints when, then waits to be killed.
import { Store } from '../db.ts';
import { IdempotencyKeys } from '../idempotency.ts';

const [file, principal, key, fingerprint, heartbeatMs, ownerTimeoutMs] = process.argv.slice(2);
if (ownerTimeoutMs === undefined) {
  throw new TypeError(
    'usage: claiming-process.ts <file> <principal> <key> <fingerprint> <heartbeatMs> <ownerTimeoutMs>',
  );
}
const store = new Store(file!, { heartbeatMs: Number(heartbeatMs), ownerTimeoutMs: Number(ownerTimeoutMs) });
const claimedAt = Date.now();
new IdempotencyKeys(store, 60_000).admit(principal!, key!, fingerprint!, 0, claimedAt);
process.stdout.write(`${claimedAt}\n`);
// The store's heartbeat timer is unref'd: this keeps the process alive, and recording itself so, until killed.
setInterval(() => {}, 60_000);
