// Node half of `npm run bench -- --peers`: drives bench/peers-page.ts through the same 1,000-op enqueue + drain with syncline, its peers and the raw loops, and prints their ratios.
import { loadavg } from 'node:os';
import type { Page } from 'puppeteer-core';
import { median } from './report.ts';

/** Ops per run: the same work for every library (BENCH_PEER_OPS only to try the harness quickly). */
export const PEER_OPS = Number(process.env.BENCH_PEER_OPS ?? 1000);

/** The bare modules the peers page imports: Vite pre-bundles them up front (the runner turns discovery off). */
export const PEER_DEPS = ['@tanstack/db', '@tanstack/offline-transactions', '@redux-offline/redux-offline', 'redux'];

type Library = 'syncline' | 'synclineRelaxed' | 'tanstack' | 'reduxOffline';

interface PeerRun {
  enqueue: { ms: number; opsPerSec: number; tenths: number[] };
  drain: { ms: number; opsPerSec: number };
  failed: number;
  notes?: string[];
}
interface ServerCheck {
  writes: number;
  serverSpanMs: number;
  applied: number;
  missing: number;
  duplicates: number;
  orderViolations: number;
  unkeyed: number;
  unexpected: number;
  requests: number;
  correct: boolean;
}

/** What the runner lends this section: fresh pages of the peers page, calls into them, and closing them all. */
export interface PeersContext {
  open(): Promise<Page>;
  call<T = any>(page: Page, fn: string, ...args: unknown[]): Promise<T>;
  closeAll(): Promise<void>;
  name(prefix: string): string;
  runs: number;
}

/** How each library is run and what its enqueue acknowledgement means (the long form is in bench/peers-page.ts). */
export const LIBRARIES: Record<Library, { label: string; sendsFrom: 'page' | 'worker'; ack: string; config: string }> =
  {
    syncline: {
      label: 'syncline',
      sendsFrom: 'worker',
      ack: 'durable before resolve: enqueue() resolves after its IndexedDB transaction (durability strict) committed',
      config:
        'createSyncClient defaults, SharedWorker engine (bundled worker), one lane; learns the outage by itself, syncNow() when the server is back',
    },
    synclineRelaxed: {
      label: "syncline, durability 'relaxed'",
      sendsFrom: 'worker',
      ack: "committed before resolve: enqueue() resolves after its IndexedDB transaction (durability relaxed: the commit does not wait for the disk, as the peers' writes do not) committed",
      config:
        "as syncline, with createSyncClient({ durability: 'relaxed' }); no reload check (the same engine and replay as syncline)",
    },
    tanstack: {
      label: '@tanstack/offline-transactions 1.0.53',
      sendsFrom: 'page',
      ack: 'not durable before resolve, and no public ack: commit() resolves only when the server has the op; measured = the IndexedDB outbox put request succeeded (its transaction, default durability, not yet committed)',
      config:
        'startOfflineExecutor, IndexedDBAdapter outbox, one createOfflineTransaction per op, mutationFn sends with its idempotencyKey; sequential only (maxConcurrency is declared but unused); onlineDetector told of the outage and of the return',
    },
    reduxOffline: {
      label: '@redux-offline/redux-offline 2.6.0',
      sendsFrom: 'page',
      ack: 'not durable before resolve, and no ack: dispatch() returns with the op in memory; measured = redux-persist wrote the whole outbox holding the op to localStorage (flushed to disk later by the browser)',
      config:
        'offline() enhancer defaults (redux-persist 4 → localStorage, fetch effect, retry schedule), Idempotency-Key per action; discard keeps network errors/5xx/408/425/429 (its default drops fetch failures); one request at a time; detectNetwork told of the outage and of the return',
    },
  };

export interface PeersResult {
  ops: number;
  runs: number;
  loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
  raw: {
    enqueue: number;
    enqueueRuns: number[];
    fetchPage: number;
    fetchPageRuns: number[];
    fetchWorker: number;
    fetchWorkerRuns: number[];
    checks: ServerCheck[];
    baseline: { enqueue: string; fetch: string; when: string };
  };
  libraries: Array<{
    id: Library;
    label: string;
    ack: string;
    config: string;
    /** Ratios: the median over runs of each run's figure ÷ the mean of the raw samples taken just before and after it. */
    enqueueOpsPerSec: number;
    enqueueRuns: number[];
    enqueueRatio: number;
    enqueueRatioRuns: number[];
    drainOpsPerSec: number;
    drainRuns: number[];
    drainRatio: number;
    drainRatioRuns: number[];
    drainBaseline: 'page' | 'worker';
    correctRuns: number;
    checks: ServerCheck[];
    failed: number[];
    /** Per run: the same n ops queued in a burst, the page closed, a fresh page replaying them (correctness only). */
    reload: ServerCheck[];
    reloadError?: string;
    /** Per run: ms per tenth of the sequential enqueues, first tenth to last. */
    enqueueTenthsMs: number[][];
    notes: string[];
    error?: string;
  }>;
  /** syncline's figure divided by each peer's (above 1: syncline is faster). */
  synclineVs: Record<string, { enqueue: number; drain: number }>;
  /** The same for syncline with `durability: 'relaxed'`, the durability of the peers' own writes. */
  synclineRelaxedVs: Record<string, { enqueue: number; drain: number }>;
}

export async function runPeers(ctx: PeersContext): Promise<PeersResult> {
  const loadAtStart = loadavg().map((v) => Math.round(v * 100) / 100);
  const raw = {
    enqueue: [] as number[],
    fetchPage: [] as number[],
    fetchWorker: [] as number[],
    checks: [] as ServerCheck[],
  };
  const order: Library[] = ['syncline', 'synclineRelaxed', 'tanstack', 'reduxOffline'];
  /** The reload check is about replay after a close, which durability does not change: run once per engine. */
  const reloaded: Library[] = ['syncline', 'tanstack', 'reduxOffline'];
  type Samples = {
    run: number[];
    enqueue: number[];
    drain: number[];
    checks: ServerCheck[];
    failed: number[];
    tenths: number[][];
    notes: Set<string>;
    reload: ServerCheck[];
    error?: string;
    reloadError?: string;
  };
  const samples = (): Samples => ({
    run: [],
    enqueue: [],
    drain: [],
    checks: [],
    failed: [],
    tenths: [],
    notes: new Set(),
    reload: [],
  });
  const per: Record<Library, Samples> = {
    syncline: samples(),
    synclineRelaxed: samples(),
    tanstack: samples(),
    reduxOffline: samples(),
  };
  /** Where a library keeps its queue in this run (a fresh name each call). */
  const whereOf = (lib: Library) =>
    lib === 'syncline'
      ? ctx.name('peer-syncline')
      : lib === 'synclineRelaxed'
        ? ctx.name('peer-syncline-relaxed')
        : lib === 'tanstack'
          ? ctx.name('peer-tanstack')
          : `${ctx.name('peer-redux')}:`;
  const runOne = async (lib: Library, n: number, record: boolean, runIndex = -1) => {
    const page = await ctx.open();
    const collection = ctx.name('c');
    try {
      const run = await ctx.call<PeerRun>(page, lib, whereOf(lib), collection, n);
      const check = await ctx.call<ServerCheck>(page, 'serverCheck', collection, n);
      if (record) {
        per[lib].run.push(runIndex);
        per[lib].enqueue.push(run.enqueue.opsPerSec);
        per[lib].drain.push(run.drain.opsPerSec);
        per[lib].checks.push(check);
        per[lib].failed.push(run.failed);
        per[lib].tenths.push(run.enqueue.tenths.map((ms) => Math.round(ms)));
        for (const note of run.notes ?? []) per[lib].notes.add(note);
      }
    } catch (error) {
      // One library failing must not hide the others: keep its reason for the table.
      if (record) per[lib].error = (error as Error).message.split('\n')[0];
      else throw error;
    } finally {
      await ctx.closeAll();
    }
  };

  /** The reload check: fill in one page, close it (its SharedWorker goes too), replay in a fresh page, ask the server. */
  const reloadOne = async (lib: Library, n: number) => {
    const collection = ctx.name('c');
    const where = whereOf(lib);
    try {
      let page = await ctx.open();
      await ctx.call(page, `${lib === 'reduxOffline' ? 'redux' : lib}Fill`, where, collection, n);
      await ctx.closeAll();
      page = await ctx.open();
      await ctx.call(page, `${lib === 'reduxOffline' ? 'redux' : lib}Replay`, where, collection);
      per[lib].reload.push(await ctx.call<ServerCheck>(page, 'serverCheck', collection, n));
    } catch (error) {
      per[lib].reloadError = (error as Error).message.split('\n')[0];
    } finally {
      await ctx.closeAll();
    }
  };

  // Warm-up: every module of the peers page transformed, each library's first use paid, nothing timed.
  {
    const page = await ctx.open();
    await ctx.call(page, 'rawFetch', ctx.name('c'), 20, 'worker');
    await ctx.closeAll();
    for (const lib of order) await runOne(lib, 20, false);
  }

  // The raw limits, measured before and after each run's libraries: on a shared machine the load drifts, and a
  // baseline taken only at one end of a minutes-long run would move every ratio with it.
  const rawSet = async () => {
    const page = await ctx.open();
    raw.enqueue.push((await ctx.call(page, 'rawPut', ctx.name('peer-raw'), ctx.name('c'), PEER_OPS)).opsPerSec);
    for (const where of ['page', 'worker'] as const) {
      const collection = ctx.name('c');
      (where === 'page' ? raw.fetchPage : raw.fetchWorker).push(
        (await ctx.call(page, 'rawFetch', collection, PEER_OPS, where)).opsPerSec,
      );
      raw.checks.push(await ctx.call<ServerCheck>(page, 'serverCheck', collection, PEER_OPS, 'r'));
    }
    await ctx.closeAll();
  };
  for (let r = 0; r < ctx.runs; r++) {
    await rawSet();
    // A different library goes first in each run, so a drift in machine load does not favour one of them.
    for (let k = 0; k < order.length; k++) {
      const lib = order[(k + r) % order.length]!;
      if (!per[lib].error) await runOne(lib, PEER_OPS, true, r);
    }
    await rawSet();
    for (const lib of reloaded) if (!per[lib].reloadError) await reloadOne(lib, PEER_OPS);
  }

  const rawEnqueue = median(raw.enqueue);
  const rawFetch = { page: median(raw.fetchPage), worker: median(raw.fetchWorker) };
  const libraries = order.map((id) => {
    const p = per[id];
    const info = LIBRARIES[id];
    const enqueueOpsPerSec = median(p.enqueue);
    const drainOpsPerSec = median(p.drain);
    // Run r's raw samples are at 2r (before its libraries) and 2r + 1 (after).
    const beside = (samples: number[], r: number) => (samples[2 * r]! + samples[2 * r + 1]!) / 2;
    const fetchSamples = info.sendsFrom === 'page' ? raw.fetchPage : raw.fetchWorker;
    const enqueueRatioRuns = p.enqueue.map((v, k) => v / beside(raw.enqueue, p.run[k]!));
    const drainRatioRuns = p.drain.map((v, k) => v / beside(fetchSamples, p.run[k]!));
    return {
      id,
      label: info.label,
      ack: info.ack,
      config: info.config,
      enqueueOpsPerSec,
      enqueueRuns: p.enqueue,
      enqueueRatio: median(enqueueRatioRuns),
      enqueueRatioRuns,
      drainOpsPerSec,
      drainRuns: p.drain,
      drainRatio: median(drainRatioRuns),
      drainRatioRuns,
      drainBaseline: info.sendsFrom,
      correctRuns: p.checks.filter((c) => c.correct).length,
      checks: p.checks,
      failed: p.failed,
      enqueueTenthsMs: p.tenths,
      notes: [...p.notes],
      reload: p.reload,
      ...(p.reloadError ? { reloadError: p.reloadError } : {}),
      ...(p.error ? { error: p.error } : {}),
    };
  });
  const peers = libraries.filter((l) => l.id !== 'syncline' && l.id !== 'synclineRelaxed');
  const versus = (id: Library) => {
    const ours = libraries.find((l) => l.id === id)!;
    return Object.fromEntries(
      peers.map((l) => [
        l.label,
        { enqueue: ours.enqueueOpsPerSec / l.enqueueOpsPerSec, drain: ours.drainOpsPerSec / l.drainOpsPerSec },
      ]),
    );
  };
  return {
    ops: PEER_OPS,
    runs: ctx.runs,
    loadAverageAtStart: loadAtStart,
    loadAverageAtEnd: loadavg().map((v) => Math.round(v * 100) / 100),
    raw: {
      enqueue: rawEnqueue,
      enqueueRuns: raw.enqueue,
      fetchPage: rawFetch.page,
      fetchPageRuns: raw.fetchPage,
      fetchWorker: rawFetch.worker,
      fetchWorkerRuns: raw.fetchWorker,
      checks: raw.checks,
      baseline: {
        when: "taken before and after the libraries of every run; a ratio is the median over runs of the run's figure ÷ the mean of its two raw samples, the raw figures shown are medians of all samples",
        enqueue: 'IndexedDB put in its own strict transaction, sequential, in the page',
        fetch:
          'one loop of sequential PUTs with an Idempotency-Key, in the context the library sends from (page, or SharedWorker for syncline)',
      },
    },
    libraries,
    synclineVs: versus('syncline'),
    synclineRelaxedVs: versus('synclineRelaxed'),
  };
}

/** "runs correct/runs: ..." over the server checks of one library. */
function describe(checks: ServerCheck[], ops: number): string {
  const correct = checks.filter((c) => c.correct).length;
  const sum = (k: 'missing' | 'duplicates' | 'orderViolations') => checks.reduce((s, c) => s + c[k], 0);
  const extra = checks.reduce((s, c) => s + Math.max(0, c.requests - ops), 0);
  return correct === checks.length
    ? `${correct}/${checks.length}: each op once, in order${extra ? `; ${extra} extra requests` : ''}`
    : `${correct}/${checks.length}: missing ${sum('missing')}, duplicated ${sum('duplicates')}, out of order ${sum('orderViolations')}`;
}

const fmt = (v: number) => (Number.isNaN(v) ? '—' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));

/** The peers table: figures, ratios to the raw loops, the server's verdict, and what "enqueued" means. */
export function formatPeers(result: PeersResult): string {
  const head = [
    'library',
    'enqueue ops/s',
    '× raw put',
    'drain ops/s',
    '× raw fetch',
    'server check (runs correct)',
    'after a reload',
    'enqueue ack',
  ];
  const rows: string[][] = [
    [
      'raw: strict put / fetch loop in page',
      fmt(result.raw.enqueue),
      '1.00×',
      fmt(result.raw.fetchPage),
      '1.00×',
      '',
      '',
      'IndexedDB transaction committed (strict)',
    ],
    ['raw: fetch loop in a SharedWorker', '', '', fmt(result.raw.fetchWorker), '1.00×', '', '', ''],
  ];
  for (const l of result.libraries) {
    if (l.error && l.enqueueRuns.length === 0) {
      rows.push([l.label, '—', '', '—', '', `did not run: ${l.error}`, '', '']);
      continue;
    }
    const verdict = describe(l.checks, result.ops);
    const reload = l.reloadError
      ? `failed: ${l.reloadError}`
      : l.reload.length
        ? describe(l.reload, result.ops)
        : 'not run (as syncline)';
    const short =
      l.id === 'syncline'
        ? 'durable (strict commit) before resolve'
        : l.id === 'synclineRelaxed'
          ? 'relaxed commit before resolve'
          : l.id === 'tanstack'
            ? 'none public; outbox put request done, not committed'
            : 'none; whole outbox written to localStorage';
    rows.push([
      l.label,
      fmt(l.enqueueOpsPerSec),
      `${l.enqueueRatio.toFixed(2)}×`,
      fmt(l.drainOpsPerSec),
      `${l.drainRatio.toFixed(2)}× (${l.drainBaseline === 'worker' ? 'worker' : 'page'})`,
      l.error ? `${verdict}; error: ${l.error}` : verdict,
      reload,
      short,
    ]);
  }
  const widths = head.map((_, i) => Math.max(head[i]!.length, ...rows.map((r) => r[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i]!))
      .join(' │ ')
      .trimEnd();
  const vs = [
    ...Object.entries(result.synclineVs).map(
      ([label, v]) => `syncline ÷ ${label}: enqueue ${v.enqueue.toFixed(2)}×, drain ${v.drain.toFixed(2)}×`,
    ),
    ...Object.entries(result.synclineRelaxedVs).map(
      ([label, v]) =>
        `syncline, durability 'relaxed' ÷ ${label}: enqueue ${v.enqueue.toFixed(2)}×, drain ${v.drain.toFixed(2)}×`,
    ),
  ];
  return [
    `peers: ${result.ops.toLocaleString('en-US')} PUTs each, enqueued one at a time while the server is unreachable, then drained; median of ${result.runs} runs · load ${result.loadAverageAtStart.join(' ')} → ${result.loadAverageAtEnd.join(' ')}`,
    "ratios: each run's figure ÷ the raw samples taken just before and after that run (median over runs); drains against the raw loop of the context the library sends from",
    `after a reload: the same ${result.ops.toLocaleString('en-US')} ops queued in a burst, the page closed, a fresh page replaying them once the server is back`,
    line(head),
    widths.map((w) => '─'.repeat(w)).join('─┼─'),
    ...rows.map(line),
    ...vs,
  ].join('\n');
}
