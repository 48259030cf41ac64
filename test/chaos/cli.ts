// `npm run chaos`: seeded randomized runs of real tabs against a flaky reference server (the queue, and with --mix the Background Sync mix); prints a table, writes JSON, fails on any loss.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { findChromium } from '../../scripts/ensure-chromium.mjs';
import {
  BACKGROUND_DEFAULTS,
  runBackgroundChaos,
  type BackgroundChaosConfig,
  type BackgroundChaosResult,
} from './background.ts';
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
    // queue (default): the queue's runs as before; background: the Background Sync mix; both: one after the other.
    mix: { type: 'string', default: 'queue' },
    edits: { type: 'string' },
    'server-edits': { type: 'string' },
    entities: { type: 'string' },
    // The origin's storage quota in bytes (e.g. 400000): a full disk for the whole run.
    quota: { type: 'string' },
  },
});
const quota = values.quota ? { quota: Number(values.quota) } : {};

/** Under a quota, what the full disk (or anything else) refused from the tabs: not acknowledged, so not owed. */
function printRefused(events: Record<string, number>): void {
  const refused = Object.entries(events).filter(([k]) => k.startsWith('refused:'));
  if (refused.length > 0) console.log(`      ${refused.map(([k, n]) => `${k} ${n}`).join(', ')}`);
}

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
const mixes = values.mix === 'both' ? ['queue', 'background'] : [values.mix!];
if (!mixes.every((m) => m === 'queue' || m === 'background')) {
  console.error(`chaos: --mix is queue, background or both (not ${values.mix}).`);
  process.exit(1);
}
const results: ChaosResult[] = [];
const modes = values.mode === 'both' ? ['shared-worker', 'leader-tab'] : [values.mode];
if (mixes.includes('queue')) {
  console.log(
    'seed  mode           tabs   ops  acked  lost  dup  order  stall  drain s  outage s  tabs closed  kills  flaps  discarded/again/retried/clears',
  );
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
        ...quota,
      };
      const r = await runChaos(config);
      results.push(r);
      console.log(
        [
          String(seed).padEnd(4),
          mode.padEnd(14),
          String(config.tabs).padStart(4),
          String(config.ops).padStart(5),
          String(r.acknowledged).padStart(6),
          String(r.lost).padStart(5),
          String(r.duplicates).padStart(4),
          String(r.orderViolations).padStart(6),
          (r.stalled ? 'YES' : 'no').padStart(6),
          (r.drainMs === null ? '-' : (r.drainMs / 1000).toFixed(1)).padStart(8),
          (r.longestOutageMs / 1000).toFixed(1).padStart(8),
          String(r.events.tabsClosed).padStart(12),
          String(r.events.workersKilled).padStart(6),
          String(r.events.offlineFlaps).padStart(6),
          `${r.events.discarded}/${r.events.requeued}/${r.events.retried}/${r.events.cleared}`.padStart(30),
        ].join('  '),
      );
      printRefused(r.events);
    }
  }
}
const background: BackgroundChaosResult[] = [];
if (mixes.includes('background')) {
  console.log('\nBackground Sync mix');
  console.log(
    'seed  mode           tabs  edits  acked  server  lost  overwr  dup  deleted  back  confl  rollb  diverged  pushes  stall  drain s  tabs closed  kills  flaps',
  );
  for (const mode of modes) {
    for (const seed of seedsOf(values.seeds!)) {
      const config: BackgroundChaosConfig = {
        ...BACKGROUND_DEFAULTS,
        seed,
        mode: mode as BackgroundChaosConfig['mode'],
        browserPath,
        ...(values.tabs ? { tabs: Number(values.tabs) } : {}),
        ...(values.edits ? { edits: Number(values.edits) } : {}),
        ...(values['server-edits'] ? { serverEdits: Number(values['server-edits']) } : {}),
        ...(values.entities ? { entities: Number(values.entities) } : {}),
        ...(values.window ? { windowMs: Number(values.window) } : {}),
        ...quota,
      };
      const r = await runBackgroundChaos(config);
      background.push(r);
      console.log(
        [
          String(seed).padEnd(4),
          mode.padEnd(14),
          String(config.tabs).padStart(4),
          String(config.edits).padStart(5),
          String(r.acknowledged).padStart(5),
          String(r.serverEdits).padStart(6),
          String(r.lost).padStart(4),
          String(r.overwritten).padStart(6),
          String(r.duplicates).padStart(3),
          String(r.deletes).padStart(7),
          String(r.resurrected).padStart(4),
          String(r.conflicts).padStart(5),
          String(r.rollbacks).padStart(5),
          String(r.diverged).padStart(8),
          String(r.pushes).padStart(6),
          (r.stalled ? 'YES' : 'no').padStart(5),
          (r.drainMs === null ? '-' : (r.drainMs / 1000).toFixed(1)).padStart(7),
          String(r.events.tabsClosed).padStart(11),
          String(r.events.workersKilled).padStart(6),
          String(r.events.offlineFlaps).padStart(6),
        ].join('  '),
      );
      printRefused(r.events);
      if (r.onServerWhileFull !== null)
        console.log(`      on the server while the disk was full: ${r.onServerWhileFull} of ${r.acknowledged} edits`);
      if (r.diagnosis) console.log(JSON.stringify(r.diagnosis, null, 2).split('\n').slice(0, 80).join('\n'));
    }
  }
}
writeFileSync(
  values.out!,
  JSON.stringify({ at: new Date().toISOString(), results, ...(background.length ? { background } : {}) }, null, 2) +
    '\n',
);
const bad = results.filter((r) => r.lost || r.duplicates || r.orderViolations || r.stalled);
const badBackground = background.filter(
  (r) => r.lost || r.overwritten || r.duplicates || r.resurrected || r.diverged || r.stalled,
);
const total = results.length + background.length;
const clean = total - bad.length - badBackground.length;
console.log(
  `\n${clean} of ${total} runs clean (queue: lost 0, duplicates 0, order violations 0, no stall; background: lost 0, overwritten 0, duplicates 0, deleted come back 0, diverged 0, no stall); JSON in ${values.out}`,
);
process.exit(bad.length || badBackground.length ? 1 : 0);
