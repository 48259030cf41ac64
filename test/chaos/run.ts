// Seeded randomized runs: real tabs, a flaky server, tabs and workers killed; the server's write log says what happened.
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { CHROMIUM_ARGS } from '../../scripts/ensure-chromium.mjs';
import { workerName } from '../../src/runtime/names.ts';
import { startAppServer, type AppServer } from '../harness/app-server.ts';

/** What both mixes (queue and Background Sync) share: the tabs, the runtime and the faults around them. */
export interface ChaosCommon {
  seed: number;
  /** Tabs open at once (real pages). */
  tabs: number;
  mode: 'shared-worker' | 'leader-tab';
  /** Share of writes answered 503 with Retry-After. */
  failureRate: number;
  retryAfterSeconds: number;
  /** Latency is redrawn every half second from [min, max]. */
  latencyMs: [number, number];
  /** Share of writes applied whose reply is then lost (the connection is cut). */
  dropRate: number;
  /** Times the server becomes unreachable for 1-3 s. */
  offlineFlaps: number;
  /** Times a tab is closed (and another opened). */
  tabCloses: number;
  /** Times the SharedWorker is killed (shared-worker mode), through DevTools. */
  workerKills: number;
  /** How long the tabs work, with the chaos around them. */
  windowMs: number;
  /** After the chaos stops, everything delivered (and every tab converged) within this, or it is a stall. */
  stallAfterMs: number;
  /**
   * The origin's storage quota in bytes (none: the browser's own): a full disk through the run, so enqueues are
   * refused with `quota-exceeded` and the engine's writes (records, attempts) fail now and then while it drains.
   */
  quota?: number;
  browserPath: string;
}

export interface ChaosConfig extends ChaosCommon {
  ops: number;
  lanes: number;
  /**
   * Times a user acts on the queue from a tab: discards a recent operation (half of the time then queues it again
   * under the same id, the same request), retries one (a waiting one is made due now), or, one time in ten, clears
   * the queue. Drawn from a stream of their own,
   * so a seed's other events stay where they were.
   */
  userActions: number;
}

export interface ChaosResult {
  config: Omit<ChaosConfig, 'browserPath'>;
  /** Operations whose enqueue resolved (durably stored, by contract). */
  acknowledged: number;
  /** Acknowledged operations the server never applied (a discarded or cleared one may or may not be applied). */
  lost: number;
  /** Operations the server applied more than once. */
  duplicates: number;
  /** Adjacent pairs of a lane applied out of `seq` order. */
  orderViolations: number;
  /** Not drained within `stallAfterMs` after the chaos stopped, with the server reachable. */
  stalled: boolean;
  /** From the chaos stopping to the last acknowledged operation applied. */
  drainMs: number | null;
  applied: number;
  events: Record<string, number>;
  /** The longest time any tab could not reach an engine (a tab that cannot reach one cannot queue work). */
  longestOutageMs: number;
  /** When it stalled: what each open tab saw (status, the first operations of each lane), and what pages logged. */
  diagnosis?: unknown;
}

export const DEFAULTS: Omit<ChaosConfig, 'seed' | 'browserPath'> = {
  tabs: 3,
  ops: 1000,
  lanes: 4,
  mode: 'shared-worker',
  failureRate: 0.3,
  retryAfterSeconds: 1,
  latencyMs: [0, 120],
  dropRate: 0.03,
  offlineFlaps: 3,
  tabCloses: 4,
  workerKills: 3,
  windowMs: 15_000,
  stallAfterMs: 90_000,
  userActions: 12,
};

/** mulberry32: a small seeded PRNG, so a run's schedule is reproducible from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Ack {
  id: string;
  seq: number;
  lane: string;
}

/** In each tab: queues one of the run's operations and acknowledges it to the run once stored. */
type ChaosEnqueue = (id: string, lane: string, url: string) => Promise<void>;

/** What users did to the queue, and what it allows: each removed operation applied at most once, not at least. */
interface UserEffects {
  /** Discarded or cleared, not queued again since: owed no application. */
  removed: Set<string>;
  /** Queued again under their id after a discard: owed once, in either place of their lane's order. */
  requeued: Set<string>;
}

type UserAction = 'discard' | 'discard-requeue' | 'retry' | 'clear';

/** When users act and how (see ChaosConfig.userActions). */
export function userSchedule(
  config: { userActions: number; windowMs: number },
  random: () => number,
): { at: number; kind: UserAction }[] {
  return Array.from({ length: config.userActions }, () => {
    const at = Math.floor(random() * config.windowMs);
    const roll = random();
    const kind: UserAction = roll < 0.1 ? 'clear' : roll < 0.4 ? 'discard' : roll < 0.7 ? 'discard-requeue' : 'retry';
    return { at, kind };
  }).sort((a, b) => a.at - b.at);
}

/** The run's server faults on writes under `base`: 503 with Retry-After at `failureRate`, lost replies at `dropRate`. */
export async function switchOnFaults(
  admin: (method: string, path: string, body?: unknown) => Promise<unknown>,
  base: string,
  config: { failureRate: number; retryAfterSeconds: number; dropRate: number },
): Promise<void> {
  await admin('POST', 'faults', {
    pathPrefix: base,
    methods: ['PUT'],
    failureRate: config.failureRate,
    status: 503,
    retryAfter: config.retryAfterSeconds,
  });
  if (config.dropRate > 0)
    await admin('POST', 'faults', { pathPrefix: base, methods: ['PUT'], failureRate: config.dropRate, drop: true });
}

/** When tabs close, workers die and the server goes offline in a run, drawn from the seed up front (in this order). */
export function chaosSchedule(
  config: { tabCloses: number; workerKills: number; offlineFlaps: number; windowMs: number; mode: string },
  random: () => number,
): { at: number; kind: 'close' | 'kill' | 'flap' }[] {
  return [
    ...Array.from({ length: config.tabCloses }, () => ({
      at: Math.floor(random() * config.windowMs),
      kind: 'close' as const,
    })),
    ...Array.from({ length: config.mode === 'shared-worker' ? config.workerKills : 0 }, () => ({
      at: Math.floor(random() * config.windowMs),
      kind: 'kill' as const,
    })),
    ...Array.from({ length: config.offlineFlaps }, () => ({
      at: Math.floor(random() * config.windowMs),
      kind: 'flap' as const,
    })),
  ].sort((a, b) => a.at - b.at);
}

/** Every half second while `active()`, a new random latency for the writes under `base`. */
export function varyLatency(
  admin: (method: string, path: string, body?: unknown) => Promise<unknown>,
  base: string,
  latencyMs: [number, number],
  random: () => number,
  active: () => boolean,
): ReturnType<typeof setInterval> {
  return setInterval(() => {
    if (!active()) return;
    const ms = latencyMs[0] + Math.floor(random() * (latencyMs[1] - latencyMs[0] + 1));
    void admin('DELETE', `faults?pathPrefix=${encodeURIComponent(`${base}/`)}`)
      .then(() => admin('POST', 'faults', { pathPrefix: `${base}/`, latencyMs: ms }))
      .catch(() => {});
  }, 500);
}

/**
 * The chaos runs' Chromium: tabs in the background keep their timers, as the runs' closes and kills need. With
 * `quota`, the app's origin gets that storage quota, set before its first use (Chromium enforces an override only
 * then) from a blank tab whose DevTools session, which the override lasts as long as, stays open for the run.
 */
export async function launchBrowser(
  executablePath: string,
  quota?: { origin: string; bytes: number },
): Promise<Browser> {
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    // Puppeteer's Network domain would slow every request; nothing here needs it.
    networkEnabled: false,
    args: [
      ...CHROMIUM_ARGS,
      '--disable-features=BackForwardCache',
      '--disable-renderer-backgrounding',
      '--disable-background-timer-throttling',
    ],
  });
  if (quota) {
    const cdp = await (await browser.newPage()).createCDPSession();
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: quota.origin, quotaSize: quota.bytes });
  }
  return browser;
}

/** Gives `origin` space again after a run under a quota (the user freed some disk): a quota of 1 GB. */
export async function freeDisk(browser: Browser, origin: string): Promise<void> {
  const page = await browser.newPage();
  const cdp = await page.createCDPSession();
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1024 ** 3 });
}

/** The quota override for a run's app, if its config asks for one. */
export function quotaOf(config: ChaosCommon, appUrl: string): { origin: string; bytes: number } | undefined {
  return config.quota === undefined ? undefined : { origin: new URL(appUrl).origin, bytes: config.quota };
}

/** Closes the namespace's SharedWorker (the engine dies mid-whatever, as when the browser kills it); how many closed. */
export async function killWorker(browser: Browser, namespace: string): Promise<number> {
  let killed = 0;
  for (const target of browser.targets()) {
    if (target.type() !== 'shared_worker') continue;
    const worker = await target.worker().catch(() => null);
    if (
      worker &&
      (await worker.evaluate(() => (self as unknown as { name: string }).name).catch(() => null)) ===
        workerName(namespace)
    ) {
      await worker.close().catch(() => {});
      killed++;
    }
  }
  return killed;
}

/** Every tab's client options: quick retries and probes, so a run's minutes hold many recoveries. */
export function clientOptions(namespace: string, mode: string, healthUrl: string) {
  return {
    endpoint: '/api',
    namespace,
    mode,
    workerUrl: '/worker.js',
    healthUrl,
    backoffBaseMs: 200,
    backoffCapMs: 2_000,
    maxAttempts: 10_000,
    probeIntervalMs: 300,
    requestTimeoutMs: 5_000,
  };
}

export interface ChangeRow {
  seq: number;
  id: string;
  version: number;
  key?: string | null;
  idempotencyKey?: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runChaos(config: ChaosConfig): Promise<ChaosResult> {
  const random = prng(config.seed);
  const pick = (n: number) => Math.floor(random() * n);
  const app = await startAppServer();
  const collection = `chaos${config.seed}x${Date.now().toString(36)}`;
  const namespace = collection;
  const events: Record<string, number> = {
    tabsClosed: 0,
    workersKilled: 0,
    offlineFlaps: 0,
    discarded: 0,
    requeued: 0,
    retried: 0,
    cleared: 0,
  };
  const user: UserEffects = { removed: new Set(), requeued: new Set() };
  let activeFlaps = 0;
  /** Each acknowledged operation, with when its acknowledgement arrived here (a clear removes what was queued before it). */
  const acks = new Map<string, Ack & { at: number }>();
  const logs: string[] = [];
  const browser = await launchBrowser(config.browserPath, quotaOf(config, app.url));
  const admin = app.admin.bind(app);
  const base = `/api/${collection}`;
  const health = `/api/health/${collection}`;
  let chaos = true;
  try {
    await switchOnFaults(admin, base, config);
    const options = clientOptions(namespace, config.mode, health);
    const pages = new Set<Page>();
    const openTab = async (): Promise<Page> => {
      const page = await browser.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warn') logs.push(`${Date.now()} ${m.type()} ${m.text()}`);
      });
      page.on('pageerror', (e) => logs.push(`${Date.now()} pageerror ${e}`));
      await page.exposeFunction('chaosAck', (ack: Ack) => acks.set(ack.id, { ...ack, at: Date.now() })).catch(() => {});
      await page.goto(`${app.url}/`);
      await page.waitForFunction(() => 'syncline' in window);
      await page.evaluate((opts) => {
        const w = window as unknown as {
          syncline: typeof import('../../src/index.ts');
          client: import('../../src/index.ts').SyncClient;
          conn: [number, boolean][];
          chaosAck(a: Ack): Promise<void>;
          chaosEnqueue: ChaosEnqueue;
        };
        w.client = w.syncline.createSyncClient(opts as never);
        // How the run's operations are queued (the first time, or again under the same id), told once stored.
        w.chaosEnqueue = async (id, lane, url) => {
          const op = await w.client.enqueue({
            id,
            kind: 'chaos',
            label: id,
            lane,
            request: { method: 'PUT', url, body: { op: id } },
          });
          await w.chaosAck({ id: op.id, seq: op.seq, lane: op.lane });
        };
        // When this tab could reach its engine, for the longest-outage figure.
        w.conn = [[Date.now(), false]];
        w.client.status$.subscribe((s) => {
          if (w.conn[w.conn.length - 1]![1] !== s.connected) w.conn.push([Date.now(), s.connected]);
        });
      }, options);
      page.on('close', () => {});
      pages.add(page);
      return page;
    };
    for (let i = 0; i < config.tabs; i++) await openTab();

    // The schedule, drawn up front from the seed.
    const perOp = Array.from({ length: config.ops }, (_, i) => ({
      n: i,
      lane: `lane${pick(config.lanes)}`,
      at: Math.floor(random() * config.windowMs),
    })).sort((a, b) => a.at - b.at);
    const chaosEvents = chaosSchedule(config, random);
    const userRandom = prng(config.seed ^ 0x5eed);
    const userEvents = userSchedule(config, userRandom);
    const latency = varyLatency(admin, base, config.latencyMs, random, () => chaos);

    const started = Date.now();
    const enqueue = async (op: { n: number; lane: string }) => {
      const live = [...pages];
      const page = live[pick(live.length)];
      if (!page) return;
      const id = `c${config.seed}-${op.n}-${Math.floor(random() * 1e9).toString(36)}`;
      const outcome = await page
        .evaluate(
          async (id, lane, url) => {
            const w = window as unknown as { chaosEnqueue: ChaosEnqueue };
            try {
              await w.chaosEnqueue(id, lane, url);
              return 'ok';
            } catch (e) {
              return `refused:${(e as { code?: string }).code ?? (e as Error).message}`;
            }
          },
          id,
          op.lane,
          `${collection}/${op.lane}`,
        )
        .catch(() => 'tab closed');
      // A tab closed under it, or a refused enqueue: not acknowledged, so not owed.
      if (outcome !== 'ok') events[outcome] = (events[outcome] ?? 0) + 1;
    };
    /** One user action from a random tab; actions run one at a time, beside the enqueues. */
    const act = async (kind: UserAction) => {
      const live = [...pages];
      const page = live[Math.floor(userRandom() * live.length)];
      if (!page) return;
      if (kind === 'clear') {
        const done = await page
          .evaluate(async () => {
            const w = window as unknown as { client: import('../../src/index.ts').SyncClient };
            try {
              return await w.client.clear({ discardUnsent: true });
            } catch {
              return null;
            }
          })
          .catch(() => null);
        // A clear whose answer was lost (its tab closed) may have happened all the same.
        if (done !== null) events.cleared!++;
        // Everything acknowledged up to now may have been removed; an enqueue acknowledged a moment later may
        // still have been queued before the clear read the queue (another tab's), so a margin is allowed.
        const until = Date.now() + 1_000;
        await sleep(1_000);
        for (const { id, at } of acks.values()) if (at <= until) user.removed.add(id);
        return;
      }
      // Half of the time the operation the outbox shows going out now (its answer still to come), else a recent one.
      const recent = [...acks.values()].slice(-30);
      const fallback = recent[Math.floor(userRandom() * recent.length)] ?? null;
      const outgoing =
        userRandom() < 0.5
          ? await page
              .evaluate(
                () =>
                  new Promise<{ id: string; lane: string } | null>((resolve) => {
                    const w = window as unknown as { client: import('../../src/index.ts').SyncClient };
                    const filter = { status: 'sending' as import('../../src/index.ts').OperationStatus };
                    const sub = w.client.window$(filter, 0, 1).subscribe((win) => {
                      resolve(win.items[0] ? { id: win.items[0].id, lane: win.items[0].lane } : null);
                      queueMicrotask(() => sub.unsubscribe());
                    });
                    setTimeout(() => resolve(null), 1_000);
                  }),
              )
              .catch(() => null)
          : null;
      const target = outgoing ?? fallback;
      if (!target) return;
      const { id, lane } = target;
      const outcome = await page
        .evaluate(
          async (id, url, lane, kind) => {
            const w = window as unknown as {
              client: import('../../src/index.ts').SyncClient;
              chaosEnqueue: ChaosEnqueue;
            };
            if (kind === 'retry') {
              // Gone already (done, discarded) is the usual answer for a recent operation: not-found.
              return w.client.retry(id).then(
                () => 'retried',
                () => 'not retried',
              );
            }
            try {
              if (!(await w.client.discard(id))) return 'kept';
            } catch {
              return 'unknown';
            }
            if (kind === 'discard') return 'discarded';
            try {
              // The user does it again: the same id and request (the server replays it if the first got there).
              await w.chaosEnqueue(id, lane, url);
              return 'requeued';
            } catch {
              return 'discarded';
            }
          },
          id,
          `${collection}/${lane}`,
          lane,
          kind,
        )
        .catch(() => 'unknown');
      // A discard whose answer was lost (its tab closed) may have happened all the same.
      if (outcome === 'unknown') user.removed.add(id);
      if (outcome === 'discarded' || outcome === 'requeued') {
        events.discarded!++;
        user.removed.add(id);
      }
      if (outcome === 'retried') events.retried!++;
      if (outcome === 'requeued') {
        events.requeued!++;
        user.removed.delete(id);
        user.requeued.add(id);
      }
    };
    let acting: Promise<void> = Promise.resolve();
    const inFlight: Promise<unknown>[] = [];
    const outages: number[] = [];
    const measure = async (page: Page) => {
      const spans = await page
        .evaluate(() => (window as unknown as { conn: [number, boolean][] }).conn)
        .catch(() => null);
      if (!spans) return;
      let longest = 0;
      for (let i = 0; i < spans.length; i++)
        if (!spans[i]![1]) longest = Math.max(longest, (spans[i + 1]?.[0] ?? Date.now()) - spans[i]![0]);
      outages.push(longest);
    };
    let opIndex = 0;
    let eventIndex = 0;
    let userIndex = 0;
    while (opIndex < perOp.length || eventIndex < chaosEvents.length || userIndex < userEvents.length) {
      const now = Date.now() - started;
      while (opIndex < perOp.length && perOp[opIndex]!.at <= now) inFlight.push(enqueue(perOp[opIndex++]!));
      while (userIndex < userEvents.length && userEvents[userIndex]!.at <= now) {
        const { kind } = userEvents[userIndex++]!;
        acting = acting.then(() => act(kind));
        inFlight.push(acting);
      }
      while (eventIndex < chaosEvents.length && chaosEvents[eventIndex]!.at <= now) {
        const event = chaosEvents[eventIndex++]!;
        if (event.kind === 'close' && pages.size > 0) {
          const victim = [...pages][pick(pages.size)]!;
          pages.delete(victim);
          await measure(victim);
          events.tabsClosed!++;
          inFlight.push(
            victim
              .close()
              .catch(() => {})
              .then(() => sleep(200 + pick(800)))
              .then(() => openTab()),
          );
        } else if (event.kind === 'kill') {
          events.workersKilled! += await killWorker(browser, namespace);
        } else if (event.kind === 'flap') {
          events.offlineFlaps!++;
          // Spells may overlap: the server comes back when the last one open ends (rules are replaced, so their ids
          // do not survive another spell's end and cannot be tracked).
          activeFlaps++;
          if (activeFlaps === 1) {
            await admin('POST', 'faults', { pathPrefix: base, offline: true });
            await admin('POST', 'faults', { pathPrefix: health, offline: true });
          }
          inFlight.push(
            sleep(1000 + pick(2000)).then(async () => {
              if (--activeFlaps > 0) return;
              type Rule = { id: string; pathPrefix?: string; offline?: boolean };
              const current = ((await admin('GET', 'faults')) as { rules: Rule[] }).rules.filter(
                (r) => !(r.offline && (r.pathPrefix === base || r.pathPrefix === health)),
              );
              await admin('PUT', 'faults', { rules: current.map(({ id: _id, ...rest }) => rest) });
            }),
          );
        }
      }
      await sleep(10);
    }
    await Promise.all(inFlight);
    // The chaos stops; the server is reachable from here on, and every acknowledged op must arrive.
    chaos = false;
    clearInterval(latency);
    await admin('DELETE', 'faults');
    const stopped = Date.now();
    if (pages.size === 0) await openTab();
    let drainMs: number | null = null;
    let rows: ChangeRow[] = [];
    while (Date.now() - stopped < config.stallAfterMs) {
      rows = await changeLog(app, collection);
      const applied = new Set(rows.map(keyOf));
      if ([...acks.keys()].every((id) => applied.has(id) || user.removed.has(id))) {
        const idle = await Promise.all(
          [...pages].map((p) =>
            p
              .evaluate(
                () =>
                  new Promise<number>((resolve) => {
                    const sub = (
                      window as unknown as { client: import('../../src/index.ts').SyncClient }
                    ).client.pendingCount$.subscribe((n) => {
                      resolve(n);
                      queueMicrotask(() => sub.unsubscribe());
                    });
                    // A tab that cannot answer now is not idle.
                    setTimeout(() => resolve(-1), 2_000);
                  }),
              )
              .catch(() => 0),
          ),
        );
        if (idle.every((n) => n === 0)) {
          drainMs = Date.now() - stopped;
          break;
        }
      }
      await sleep(250);
    }
    rows = await changeLog(app, collection);
    for (const page of pages) await measure(page);
    const { reordered, ...verdict } = judge(rows, acks, user);
    const result: ChaosResult = {
      config: strip(config),
      ...verdict,
      stalled: drainMs === null,
      drainMs,
      events,
      longestOutageMs: Math.max(0, ...outages),
    };
    if (result.stalled || verdict.lost > 0 || verdict.orderViolations > 0 || result.longestOutageMs > 15_000) {
      const applied = new Set(rows.map(keyOf));
      result.diagnosis = {
        reordered,
        missing: [...acks.values()].filter((a) => !applied.has(a.id) && !user.removed.has(a.id)).slice(0, 20),
        logs: logs.slice(-60),
        tabs: await Promise.all(
          [...pages].map((p) =>
            p
              .evaluate(async () => {
                const client = (window as unknown as { client: import('../../src/index.ts').SyncClient }).client;
                const status = await new Promise((resolve) => {
                  const sub = client.status$.subscribe((s) => {
                    resolve(s);
                    queueMicrotask(() => sub.unsubscribe());
                  });
                  setTimeout(() => resolve('no status within 3 s'), 3000);
                });
                const ops = await new Promise((resolve) => {
                  const sub = client.window$({}, 0, 10).subscribe((w) => {
                    resolve(
                      w.items.map((o) => [
                        o.lane,
                        o.seq,
                        o.status,
                        o.attempts,
                        o.strikes,
                        o.lastError?.message,
                        o.nextAttemptAt - Date.now(),
                      ]),
                    );
                    queueMicrotask(() => sub.unsubscribe());
                  });
                  setTimeout(() => resolve('no window within 3 s'), 3000);
                });
                return { status, ops };
              })
              .catch((e) => String(e)),
          ),
        ),
      };
    }
    return result;
  } finally {
    chaos = false;
    await browser.close().catch(() => {});
    await app.close();
  }
}

function strip(config: ChaosConfig): Omit<ChaosConfig, 'browserPath'> {
  const { browserPath: _path, ...rest } = config;
  return rest;
}

function keyOf(row: ChangeRow): string {
  return row.idempotencyKey ?? row.key ?? '';
}

export async function changeLog(app: AppServer, collection: string): Promise<ChangeRow[]> {
  const rows: ChangeRow[] = [];
  let since = 0;
  for (;;) {
    const page = (await app.admin('GET', `changes?collection=${encodeURIComponent(collection)}&since=${since}`)) as {
      items: ChangeRow[];
    };
    rows.push(...page.items);
    if (page.items.length === 0) return rows;
    since = page.items[page.items.length - 1]!.seq;
  }
}

/** Lost, duplicated and reordered operations, from the server's own write log. */
function judge(
  rows: ChangeRow[],
  acks: Map<string, Ack>,
  user: UserEffects,
): Pick<ChaosResult, 'acknowledged' | 'lost' | 'duplicates' | 'orderViolations' | 'applied'> & {
  /** The first pairs applied out of order: the earlier-applied one with the higher seq, and whether users removed it. */
  reordered: { lane: string; applied: [string, number, boolean][] }[];
} {
  const seen = new Map<string, number>();
  const byLane = new Map<string, string[]>();
  for (const row of rows) {
    const key = keyOf(row);
    seen.set(key, (seen.get(key) ?? 0) + 1);
    if ((seen.get(key) ?? 0) > 1) continue;
    const list = byLane.get(row.id) ?? [];
    list.push(key);
    byLane.set(row.id, list);
  }
  let lost = 0;
  for (const id of acks.keys()) if (!seen.has(id) && !user.removed.has(id)) lost++;
  let duplicates = 0;
  for (const count of seen.values()) if (count > 1) duplicates += count - 1;
  let orderViolations = 0;
  const reordered: { lane: string; applied: [string, number, boolean][] }[] = [];
  for (const [lane, keys] of byLane) {
    // Only acknowledged operations have a known seq; the order among them must be theirs.
    // One queued again may stand where it was first applied, or where it was queued again.
    const known = keys.filter((k) => !user.requeued.has(k) && acks.has(k));
    const seqs = known.map((k) => acks.get(k)!.seq);
    for (let i = 1; i < seqs.length; i++) {
      if (seqs[i]! >= seqs[i - 1]!) continue;
      orderViolations++;
      if (reordered.length < 10)
        reordered.push({
          lane,
          applied: [i - 1, i].map((j) => [known[j]!, seqs[j]!, user.removed.has(known[j]!)]),
        });
    }
  }
  return { acknowledged: acks.size, lost, duplicates, orderViolations, applied: seen.size, reordered };
}
