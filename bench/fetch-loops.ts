// The raw drain baseline: concurrent loops of sequential fetch requests (POST, or PUT for the peers comparison) shaped like the engine's requests (used by page.ts, peers-page.ts and raw-worker.ts).
import { operationId } from '../src/engine/ids.ts';

const now = () => performance.timeOrigin + performance.now();

/**
 * `conc` loops of sequential requests, each with a fresh Idempotency-Key, reading every response body: POSTs to
 * `url`, or with `method` 'PUT' PUTs to `url/r<i>` (the peers comparison sends PUTs, whose repeats the server would
 * apply twice, so its change log can tell a duplicate).
 */
export async function fetchLoops(
  url: string,
  n: number,
  conc: number,
  method: 'POST' | 'PUT' = 'POST',
): Promise<{ ms: number; opsPerSec: number; failed: number }> {
  let next = 0;
  let failed = 0;
  const loop = async () => {
    for (let i = next++; i < n; i = next++) {
      const response = await fetch(method === 'PUT' ? `${url}/r${i}` : url, {
        method,
        headers: { 'Idempotency-Key': `"${operationId()}"`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ id: `r${i}`, title: `Item number ${i}`, done: false }),
        credentials: 'same-origin',
      });
      await response.text();
      if (!response.ok) failed++;
    }
  };
  const t0 = now();
  await Promise.all(Array.from({ length: conc }, loop));
  const ms = now() - t0;
  return { ms, opsPerSec: (n * 1000) / ms, failed };
}
