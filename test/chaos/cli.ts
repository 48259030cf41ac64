// `npm run chaos`: seeded randomized runs of real tabs against a flaky reference server; prints a table, writes JSON, fails on any loss.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { findChromium } from '../../scripts/ensure-chromium.mjs';
import { DEFAULTS, runChaos, type ChaosConfig, type ChaosResult } from './run.ts';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1' },
    mode: { type: 'string', default: DEFAULTS.mode },
    tabs: { type: 'string' },
    ops: { type: 'string' },
    lanes: { type: 'string' },
    window: { type: 'string' },
    out: { type: 'string', default: 'test/chaos/results.json' },
  },
});

/** "1-10" or "3,7,9". */
function seedsOf(spec: string): number[] {
  const range = /^(\d+)-(\d+)$/.exec(spec);
  if (range) return Array.from({ length: Number(range[2]) - Number(range[1]) + 1 }, (_, i) => Number(range[1]) + i);
  return spec.split(',').map(Number);
}

const browserPath = findChromium();
if (!browserPath) {
  console.error('chaos: Chromium not found (apt-get install -y chromium, or set CHROME_PATH).');
  process.exit(1);
}
const results: ChaosResult[] = [];
const modes = values.mode === 'both' ? ['shared-worker', 'leader-tab'] : [values.mode];
console.log('seed  mode           tabs   ops  acked  lost  dup  order  stall  drain s  outage s  tabs closed  kills  flaps');
for (const mode of modes) {
  for (const seed of seedsOf(values.seeds!)) {
    const config: ChaosConfig = {
      ...DEFAULTS,
      seed,
      mode: mode as ChaosConfig['mode'],
      browserPath,
      ...(values.tabs ? { tabs: Number(values.tabs) } : {}),
      ...(values.ops ? { ops: Number(values.ops) } : {}),
      ...(values.lanes ? { lanes: Number(values.lanes) } : {}),
      ...(values.window ? { windowMs: Number(values.window) } : {}),
    };
    const r = await runChaos(config);
    results.push(r);
    console.log([
      String(seed).padEnd(4), mode.padEnd(14), String(config.tabs).padStart(4), String(config.ops).padStart(5), String(r.acknowledged).padStart(6),
      String(r.lost).padStart(5), String(r.duplicates).padStart(4), String(r.orderViolations).padStart(6), (r.stalled ? 'YES' : 'no').padStart(6),
      (r.drainMs === null ? '-' : (r.drainMs / 1000).toFixed(1)).padStart(8), (r.longestOutageMs / 1000).toFixed(1).padStart(8), String(r.events.tabsClosed).padStart(12),
      String(r.events.workersKilled).padStart(6), String(r.events.offlineFlaps).padStart(6),
    ].join('  '));
  }
}
writeFileSync(values.out!, JSON.stringify({ at: new Date().toISOString(), results }, null, 2) + '\n');
const bad = results.filter((r) => r.lost || r.duplicates || r.orderViolations || r.stalled);
console.log(`\n${results.length - bad.length} of ${results.length} runs clean (lost 0, duplicates 0, order violations 0, no stall); JSON in ${values.out}`);
process.exit(bad.length ? 1 : 0);
