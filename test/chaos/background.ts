// Seeded Background Sync chaos: tabs edit one collection while the server's own edits land, under the queue chaos's faults; the server's final state and write log say what happened.
import type { Page } from 'puppeteer-core';
import { startAppServer } from '../harness/app-server.ts';
import {
  chaosSchedule,
  changeLog,
  clientOptions,
  freeDisk,
  killWorker,
  launchBrowser,
  quotaOf,
  prng,
  switchOnFaults,
  varyLatency,
  type ChangeRow,
  type ChaosCommon,
} from './run.ts';

export interface BackgroundChaosConfig extends ChaosCommon {
  /** Entities on the server before the tabs open; tabs patch these, and create new ones. */
  entities: number;
  /** Edits made in the tabs (patches of existing entities; one in ten creates a new one). */
  edits: number;
  /** Edits made on the server directly (GET, then PUT with If-Match), during the same window. */
  serverEdits: number;
  /**
   * How long the server holds the create of half the create-then-delete pairs (one in twenty tab edits): past the
   * tabs' `requestTimeoutMs` (5 s), so the tab gives up on it while the server may still apply it.
   */
  slowCreateMs: number;
}

export interface BackgroundChaosResult {
  config: Omit<BackgroundChaosConfig, 'browserPath'>;
  /** Tab edits whose call resolved (stored in the replica, by contract). */
  acknowledged: number;
  /** Acknowledged tab edits missing from the server's final state and from every recorded conflict. */
  lost: number;
  /** Server edits (answered 2xx) missing from the server's final state: replaced by a tab without a conflict or rollback. */
  overwritten: number;
  /** Server edits answered 2xx. */
  serverEdits: number;
  /** Writes the server applied twice under one Idempotency-Key. */
  duplicates: number;
  /** Entities a tab created and then deleted (both acknowledged) that the server or a tab still has at the end. */
  resurrected: number;
  /** Create-then-delete pairs acknowledged. */
  deletes: number;
  /** Conflicts open at the end, and rollbacks reported (the merge strategy with disjoint fields expects none). */
  conflicts: number;
  rollbacks: number;
  /** Entities some open tab shows differently from the server (data or version) at the end. */
  diverged: number;
  /** Pushes the server applied (PUTs with the engine's keys): acknowledged edits per push is the coalescing. */
  pushes: number;
  stalled: boolean;
  /**
   * Under a quota: acknowledged tab edits on the server once the chaos stopped and the disk, still full, had nothing
   * more to push (the answers need no write to go on; creates, conflicts and pulls wait for the disk to be freed).
   */
  onServerWhileFull: number | null;
  /** From the chaos stopping (under a quota: the disk freed) to every edit on the server and every tab converged. */
  drainMs: number | null;
  events: Record<string, number>;
  diagnosis?: unknown;
}

export const BACKGROUND_DEFAULTS: Omit<BackgroundChaosConfig, 'seed' | 'browserPath'> = {
  tabs: 3,
  entities: 12,
  edits: 400,
  serverEdits: 80,
  slowCreateMs: 6_000,
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
};

type Data = Record<string, unknown>;
interface Item {
  id: string;
  version: number | null;
  data: Data;
  dirty?: boolean;
}
interface TabWindow {
  syncline: typeof import('../../src/index.ts');
  client: import('../../src/index.ts').SyncClient;
  tasks: import('../../src/index.ts').Collection<Data>;
  items: Item[] | null;
  conflicts: import('../../src/index.ts').Conflict[];
  rollbacks: number;
  dirty: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runBackgroundChaos(config: BackgroundChaosConfig): Promise<BackgroundChaosResult> {
  const random = prng(config.seed);
  const pick = (n: number) => Math.floor(random() * n);
  const app = await startAppServer();
  const collection = `bgchaos${config.seed}x${Date.now().toString(36)}`;
  const namespace = collection;
  const api = `${app.url}/api/${collection}`;
  const base = `/api/${collection}`;
  const health = `/api/health/${collection}`;
  const events: Record<string, number> = { tabsClosed: 0, workersKilled: 0, offlineFlaps: 0 };
  const logs: string[] = [];
  /** Acknowledged tab edits: the field each one set, by entity. */
  const localEdits: { entity: string; field: string }[] = [];
  /** Entities a tab created and deleted again, both acknowledged: no one else touches them, so they must end gone. */
  const deleted: string[] = [];
  const serverEdits: { entity: string; field: string }[] = [];
  const browser = await launchBrowser(config.browserPath, quotaOf(config, app.url));
  const admin = app.admin.bind(app);
  let chaos = true;
  try {
    // The entities every tab will find on its first pull, made before any fault is switched on.
    const seeded = Array.from({ length: config.entities }, (_, i) => `e${i}`);
    for (const id of seeded) {
      const r = await fetch(`${api}/${id}`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ seed: true }),
      });
      if (!r.ok) throw new Error(`seeding ${id}: ${r.status}`);
    }
    await switchOnFaults(admin, base, config);
    const options = clientOptions(namespace, config.mode, health);
    const pages = new Set<Page>();
    const openTab = async (): Promise<Page> => {
      const page = await browser.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warn') logs.push(`${Date.now()} ${m.type()} ${m.text()}`);
      });
      page.on('pageerror', (e) => logs.push(`${Date.now()} pageerror ${e}`));
      await page.goto(`${app.url}/`);
      await page.waitForFunction(() => 'syncline' in window);
      await page.evaluate(
        (opts, name) => {
          const w = window as unknown as TabWindow;
          w.client = w.syncline.createSyncClient(opts as never);
          // Merge with fields that never overlap: every conflict would be a false one.
          w.tasks = w.client.collection<Data>(name, { conflict: 'merge', pullIntervalMs: 1000 });
          w.items = null;
          w.conflicts = [];
          w.rollbacks = 0;
          w.dirty = -1;
          w.tasks.items$.subscribe((items) => (w.items = items as Item[]));
          w.client.conflicts$.subscribe((c) => (w.conflicts = c));
          w.tasks.rollbacks$.subscribe(() => w.rollbacks++);
          w.client.status$.subscribe((s) => (w.dirty = s.entities.dirty + s.entities.conflicts));
        },
        options,
        collection,
      );
      pages.add(page);
      return page;
    };
    for (let i = 0; i < config.tabs; i++) await openTab();

    const plan = [
      ...Array.from({ length: config.edits }, (_, n) => ({
        n,
        at: Math.floor(random() * config.windowMs),
        kind: 'edit' as const,
      })),
      ...Array.from({ length: config.serverEdits }, (_, n) => ({
        n,
        at: Math.floor(random() * config.windowMs),
        kind: 'server' as const,
      })),
    ].sort((a, b) => a.at - b.at);
    const chaosEvents = chaosSchedule(config, random);
    const latency = varyLatency(admin, base, config.latencyMs, random, () => chaos);

    const created: string[] = [];
    /**
     * Creates an entity and deletes it again in one tab, the delete up to 3 s later: often while the create's
     * push is out, or its answer lost, or the server still holding it.
     */
    const createThenDelete = async (page: Page, n: number) => {
      // Ends in z: no other entity's path starts with this one's (a fault rule matches a path prefix).
      const entity = `d${n}z`;
      if (pick(2) === 0)
        await admin('POST', 'faults', {
          pathPrefix: `${base}/${entity}`,
          methods: ['PUT'],
          latencyMs: config.slowCreateMs,
          times: 1,
        }).catch(() => {});
      const outcome = await page
        .evaluate(
          async (entity, wait) => {
            const w = window as unknown as TabWindow;
            try {
              await w.tasks.put(entity, { short: true });
              await new Promise((r) => setTimeout(r, wait));
              await w.tasks.delete(entity);
              return 'ok';
            } catch (e) {
              return `refused:${(e as { code?: string }).code ?? (e as Error).message}`;
            }
          },
          entity,
          pick(3_000),
        )
        .catch(() => 'tab closed');
      if (outcome === 'ok') deleted.push(entity);
      else events[`delete ${outcome}`] = (events[`delete ${outcome}`] ?? 0) + 1;
    };
    const edit = async (n: number) => {
      const live = [...pages];
      const page = live[pick(live.length)];
      if (!page) return;
      if (pick(20) === 0) return createThenDelete(page, n);
      // One in ten creates an entity; the rest patch one, seeded or created earlier.
      const create = pick(10) === 0 || (seeded.length === 0 && created.length === 0);
      const known = [...seeded, ...created];
      const entity = create ? `n${n}` : known[pick(known.length)]!;
      const field = `t${n}`;
      const outcome = await page
        .evaluate(
          async (entity, field, create) => {
            const w = window as unknown as TabWindow;
            try {
              if (create) await w.tasks.put(entity, { [field]: true });
              else await w.tasks.patch(entity, { [field]: true });
              return 'ok';
            } catch (e) {
              return `refused:${(e as { code?: string }).code ?? (e as Error).message}`;
            }
          },
          entity,
          field,
          create,
        )
        .catch(() => 'tab closed');
      if (outcome === 'ok') {
        localEdits.push({ entity, field });
        if (create) created.push(entity);
      } else {
        // A tab closed under it, or the entity not pulled into the replica yet: not acknowledged, so not owed.
        events[outcome] = (events[outcome] ?? 0) + 1;
      }
    };
    /** Read, change one field, write back with If-Match; a lost answer is retried under the same key, a 412 read again. */
    const serverEdit = async (n: number) => {
      const entity = seeded[pick(seeded.length)] ?? `e0`;
      const field = `s${n}`;
      for (let attempt = 0; chaos && attempt < 50; attempt++) {
        const got = await fetch(`${api}/${entity}`).catch(() => null);
        if (!got?.ok) {
          events['server read failed'] = (events['server read failed'] ?? 0) + 1;
          await sleep(200);
          continue;
        }
        const current = (await got.json()) as { data: Data; version: number };
        const key = `"srv-${config.seed}-${n}-${attempt}"`;
        for (let send = 0; chaos && send < 50; send++) {
          const put = await fetch(`${api}/${entity}`, {
            method: 'PUT',
            headers: { 'Content-Type': 'application/json', 'If-Match': `"${current.version}"`, 'Idempotency-Key': key },
            body: JSON.stringify({ ...current.data, [field]: true }),
          }).catch(() => null);
          if (put?.ok) {
            serverEdits.push({ entity, field });
            return;
          }
          const status = `server edit ${put?.status ?? 'no answer'}`;
          events[status] = (events[status] ?? 0) + 1;
          if (put?.status === 412) break;
          await sleep(put?.status === 503 ? 1000 : 200);
        }
      }
      events.serverEditGaveUp = (events.serverEditGaveUp ?? 0) + 1;
    };

    const started = Date.now();
    const inFlight: Promise<unknown>[] = [];
    let flaps: Promise<void> = Promise.resolve();
    let planIndex = 0;
    let eventIndex = 0;
    while (planIndex < plan.length || eventIndex < chaosEvents.length) {
      const now = Date.now() - started;
      while (planIndex < plan.length && plan[planIndex]!.at <= now) {
        const step = plan[planIndex++]!;
        inFlight.push(step.kind === 'edit' ? edit(step.n) : serverEdit(step.n));
      }
      while (eventIndex < chaosEvents.length && chaosEvents[eventIndex]!.at <= now) {
        const event = chaosEvents[eventIndex++]!;
        if (event.kind === 'close' && pages.size > 0) {
          const victim = [...pages][pick(pages.size)]!;
          pages.delete(victim);
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
          // One outage at a time: replacing the rule list gives every rule a new id, so an outage that ended while
          // another ran would be put back by the other's end, and the server would stay offline for good.
          const ms = 1000 + pick(2000);
          flaps = flaps.then(async () => {
            if (!chaos) return;
            events.offlineFlaps!++;
            const rules = [
              await admin('POST', 'faults', { pathPrefix: base, offline: true }),
              await admin('POST', 'faults', { pathPrefix: health, offline: true }),
            ] as { id: string }[];
            await sleep(ms);
            const current = ((await admin('GET', 'faults')) as { rules: { id: string }[] }).rules.filter(
              (r) => !rules.some((o) => o.id === r.id),
            );
            await admin('PUT', 'faults', { rules: current.map(({ id: _id, ...rest }) => rest) });
          });
          inFlight.push(flaps);
        }
      }
      await sleep(10);
    }
    // Server edits still retrying finish once the faults are gone; tab edits are all answered by now.
    const pending = Promise.all(inFlight);
    await Promise.race([pending, sleep(10_000)]);
    chaos = false;
    clearInterval(latency);
    await admin('DELETE', 'faults');
    await pending;
    if (pages.size === 0) await openTab();
    let onServerWhileFull: number | null = null;
    if (config.quota !== undefined) {
      // The disk stays full until the server has taken what it will (nothing new for 5 s), then is freed.
      const full = Date.now();
      let steady = Date.now();
      while (Date.now() - full < 30_000 && Date.now() - steady < 5_000) {
        const state = await serverState(api);
        const on = localEdits.filter((e) => !!state.get(e.entity) && e.field in state.get(e.entity)!.data).length;
        if (on !== onServerWhileFull) [onServerWhileFull, steady] = [on, Date.now()];
        await sleep(250);
      }
      await freeDisk(browser, new URL(app.url).origin);
    }
    const stopped = Date.now();

    // Drained and converged: no tab holds an unpushed edit, every tab shows what the server has.
    let drainMs: number | null = null;
    let server: Map<string, Item> = new Map();
    let tabs: { items: Item[] | null; conflicts: TabWindow['conflicts']; rollbacks: number; dirty: number }[] = [];
    let diverged = 0;
    while (Date.now() - stopped < config.stallAfterMs) {
      server = await serverState(api);
      tabs = await Promise.all(
        [...pages].map((p) =>
          p
            .evaluate(() => {
              const w = window as unknown as TabWindow;
              return { items: w.items, conflicts: w.conflicts, rollbacks: w.rollbacks, dirty: w.dirty };
            })
            .catch(() => ({ items: null, conflicts: [], rollbacks: 0, dirty: -1 })),
        ),
      );
      diverged = divergence(
        server,
        tabs.map((t) => t.items),
      );
      const openConflicts = Math.max(0, ...tabs.map((t) => t.conflicts.length));
      if (diverged === 0 && tabs.every((t) => t.dirty === openConflicts)) {
        drainMs = Date.now() - stopped;
        break;
      }
      await sleep(250);
    }
    const rows = await changeLog(app, collection);
    const conflicts = new Map(tabs.flatMap((t) => t.conflicts).map((c) => [c.id, c]));
    const inConflict = (entity: string, field: string, side: 'mine' | 'theirs') =>
      [...conflicts.values()].some((c) => c.entityId === entity && !!c[side] && field in (c[side] as Data));
    const has = (entity: string, field: string) => !!server.get(entity) && field in server.get(entity)!.data;
    const missingLocal = localEdits.filter((e) => !has(e.entity, e.field) && !inConflict(e.entity, e.field, 'mine'));
    const missingServer = serverEdits.filter(
      (e) => !has(e.entity, e.field) && !inConflict(e.entity, e.field, 'theirs'),
    );
    const keys = new Map<string, number>();
    for (const row of rows) {
      const key = row.idempotencyKey ?? row.key ?? '';
      if (key) keys.set(key, (keys.get(key) ?? 0) + 1);
    }
    let duplicates = 0;
    for (const count of keys.values()) if (count > 1) duplicates += count - 1;
    const pushes = [...keys.keys()].filter((k) => k.startsWith(`${collection}/`)).length;
    const resurrected = deleted.filter(
      (id) => server.has(id) || tabs.some((t) => t.items?.some((item) => item.id === id)),
    );
    const result: BackgroundChaosResult = {
      config: strip(config),
      acknowledged: localEdits.length,
      lost: missingLocal.length,
      overwritten: missingServer.length,
      serverEdits: serverEdits.length,
      duplicates,
      resurrected: resurrected.length,
      deletes: deleted.length,
      conflicts: conflicts.size,
      rollbacks: Math.max(0, ...tabs.map((t) => t.rollbacks)),
      diverged,
      pushes,
      stalled: drainMs === null,
      onServerWhileFull,
      drainMs,
      events,
    };
    if (result.stalled || result.lost || result.overwritten || result.duplicates || result.resurrected) {
      result.diagnosis = {
        resurrected: resurrected.slice(0, 20),
        missingLocal: missingLocal.slice(0, 20),
        missingServer: missingServer.slice(0, 20),
        divergent: [...server.values()]
          .filter((s) =>
            tabs.some(
              (t) =>
                !sameItem(
                  s,
                  t.items?.find((i) => i.id === s.id),
                ),
            ),
          )
          .slice(0, 10)
          .map((s) => ({ server: s, tabs: tabs.map((t) => t.items?.find((i) => i.id === s.id) ?? null) })),
        tabs: tabs.map((t) => ({ dirty: t.dirty, conflicts: t.conflicts.length, items: t.items?.length ?? null })),
        logs: logs.slice(-40),
        writes: rows.slice(-20) as ChangeRow[],
      };
    }
    return result;
  } finally {
    chaos = false;
    await browser.close().catch(() => {});
    await app.close();
  }
}

function strip(config: BackgroundChaosConfig): Omit<BackgroundChaosConfig, 'browserPath'> {
  const { browserPath: _path, ...rest } = config;
  return rest;
}

/** The server's live entities, by id, from its changes feed. */
async function serverState(api: string): Promise<Map<string, Item>> {
  const items = new Map<string, Item>();
  let cursor = '';
  for (;;) {
    const page = (await (await fetch(`${api}?since=${encodeURIComponent(cursor)}`)).json()) as {
      items: (Item & { deleted: boolean })[];
      cursor: string;
      hasMore: boolean;
    };
    for (const item of page.items) {
      if (item.deleted) items.delete(item.id);
      else items.set(item.id, { id: item.id, version: item.version, data: item.data });
    }
    cursor = page.cursor;
    if (!page.hasMore) return items;
  }
}

function sameItem(server: Item, local: Item | undefined): boolean {
  return (
    !!local &&
    local.version === server.version &&
    !local.dirty &&
    JSON.stringify(sorted(local.data)) === JSON.stringify(sorted(server.data))
  );
}

function sorted(data: Data): Data {
  return Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Entities on which some tab disagrees with the server (missing, extra, other data or version, still dirty). */
function divergence(server: Map<string, Item>, tabs: (Item[] | null)[]): number {
  const bad = new Set<string>();
  for (const items of tabs) {
    if (!items) return server.size || 1;
    for (const s of server.values())
      if (
        !sameItem(
          s,
          items.find((i) => i.id === s.id),
        )
      )
        bad.add(s.id);
    for (const i of items) if (!server.has(i.id)) bad.add(i.id);
  }
  return bad.size;
}
