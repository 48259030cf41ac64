// A small seeded chaos run in each runtime, inside `npm test`: any loss, duplicate, reordering or stall fails it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findChromium } from '../../scripts/ensure-chromium.mjs';
import { DEFAULTS, runChaos } from '../chaos/run.ts';

for (const mode of ['shared-worker', 'leader-tab'] as const) {
  test(`chaos (${mode}): 2 tabs, 80 ops, 3 lanes, 30 % 503s, lost replies, a flap, tabs and workers killed, discards`, async () => {
    const result = await runChaos({
      ...DEFAULTS,
      seed: mode === 'shared-worker' ? 11 : 12,
      mode,
      tabs: 2,
      ops: 80,
      lanes: 3,
      windowMs: 5_000,
      offlineFlaps: 1,
      tabCloses: 2,
      workerKills: 1,
      userActions: 4,
      stallAfterMs: 60_000,
      browserPath: findChromium()!,
    });
    assert.ok(result.acknowledged > 40, `acknowledged ${result.acknowledged}`);
    assert.deepEqual(
      {
        lost: result.lost,
        duplicates: result.duplicates,
        orderViolations: result.orderViolations,
        stalled: result.stalled,
      },
      { lost: 0, duplicates: 0, orderViolations: 0, stalled: false },
    );
  });
}
