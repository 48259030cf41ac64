// Node half of the Background Sync benchmarks (run by bench/runner.ts): drives bench/background.ts in fresh pages, one row per figure beside its raw limit.
import type { Page } from 'puppeteer-core';
import { measuredRow as row, median, percentile, type Row } from './report.ts';

export interface BackgroundBenchContext {
  open(): Promise<Page>;
  call<T = any>(page: Page, fn: string, ...args: unknown[]): Promise<T>;
  closeAll(): Promise<void>;
  name(prefix: string): string;
  runs: number;
}

const PUTS = 1_000;
const PUT_ENTITIES = 100;
const REPLICA = 10_000;
const SAMPLES = 50;

/** Each run in a fresh page: puts → pushed beside raw PUTs; then a 10,000-entity collection pulled beside a raw paged pull, and edit → items$ beside a raw put + getAll. */
export async function runBackgroundBench({ open, call, closeAll, name, runs }: BackgroundBenchContext): Promise<Row[]> {
  const pushed: number[] = [],
    rawPuts: number[] = [],
    acked: number[] = [],
    coalescing: number[] = [],
    requests: number[] = [];
  const pull: number[] = [],
    rawPull: number[] = [],
    latency: number[] = [],
    rawLatency: number[] = [];
  for (let r = 0; r < runs; r++) {
    let page = await open();
    rawPuts.push((await call(page, 'bgRawPuts', name('c'), PUTS)).opsPerSec);
    const p = await call(page, 'bgPutsPushed', name('bg'), name('c'), PUTS, PUT_ENTITIES);
    pushed.push(p.opsPerSec);
    acked.push(p.putsPerSec);
    coalescing.push(p.coalescing);
    requests.push(p.requests);
    await closeAll();
    page = await open();
    const c = name('c'),
      rawNs = name('bg-raw');
    await call(page, 'bgSeed', c, REPLICA);
    // Alternate which pull goes first: the server's first read of the feed warms its page cache.
    if (r % 2) pull.push((await call(page, 'bgPull', name('bg'), c, REPLICA)).ms);
    rawPull.push((await call(page, 'bgRawPull', rawNs, c, REPLICA)).ms);
    if (!(r % 2)) pull.push((await call(page, 'bgPull', name('bg'), c, REPLICA)).ms);
    latency.push(...(await call<number[]>(page, 'bgLatency', SAMPLES)));
    rawLatency.push(...(await call<number[]>(page, 'bgRawLatency', rawNs, c, SAMPLES)));
    await call(page, 'bgClose');
    await closeAll();
  }
  return [
    row(
      'bg.push',
      `${PUTS.toLocaleString('en-US')} optimistic puts (${PUT_ENTITIES} entities) → all pushed`,
      'ops/s',
      pushed,
      rawPuts,
      `raw: ${PUTS.toLocaleString('en-US')} sequential PUTs, fetch loop in a SharedWorker`,
    ),
    row('bg.coalesce', 'coalescing: puts per push request', '×', coalescing, undefined, undefined, { requests }),
    row('bg.put', 'breakdown: put() acknowledged (edit stored, shown)', 'ops/s', acked),
    row(
      'bg.pull',
      `pull of ${REPLICA.toLocaleString('en-US')} changes → items$ holds all`,
      'ms',
      pull,
      rawPull,
      'raw: paged GET, one strict IDB transaction per page',
    ),
    row(
      'bg.items',
      `patch → items$ updated, ${REPLICA.toLocaleString('en-US')} entities in the replica, median`,
      'ms',
      [median(latency)],
      [median(rawLatency)],
      `raw: strict get+put, then getAll of ${REPLICA.toLocaleString('en-US')}`,
      { samples: latency.length },
    ),
    row(
      'bg.items.p95',
      'patch → items$ updated, p95',
      'ms',
      [percentile(latency, 95)],
      [percentile(rawLatency, 95)],
      'raw p95',
    ),
  ];
}
