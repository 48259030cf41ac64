// Builds a SyncEngine directly in the test page, on virtual time, against the reference server.
import { resolveConfig, type EngineConfig, type Operation, type OperationInput } from '../../src/index.ts';
import { SyncEngine, VirtualClock, openSynclineDB, deleteSynclineDB, type EngineDeps } from '../../src/testing.ts';
import { API, eventually, uniqueName } from './server.ts';

export interface EngineFixture {
  engine: SyncEngine;
  /** The database the engine was opened on (a test closes it to make the engine's reads fail). */
  db: Awaited<ReturnType<typeof openSynclineDB>>;
  clock: VirtualClock;
  namespace: string;
  /** A collection (URL path segment) no other test uses. */
  collection: string;
  /** `/api/<collection>` for fault rules. */
  path: string;
  create(id: string, extra?: Partial<OperationInput>): OperationInput;
  /** Waits (real time) until the stored operation satisfies `check`, or it is gone when `check` is null. */
  until(id: string, check: ((op: Operation) => boolean) | null, message?: string): Promise<Operation | undefined>;
  /** Closes the engine and opens a new one on the same database and clock (every tab was closed, one came back). */
  reopen(): Promise<SyncEngine>;
  dispose(): Promise<void>;
}

export async function engineFixture(
  config: Partial<EngineConfig> = {},
  deps: Partial<EngineDeps> = {},
): Promise<EngineFixture> {
  const namespace = uniqueName('eng');
  const collection = uniqueName('c');
  const resolved = resolveConfig({ endpoint: API, namespace, healthUrl: `${API}/health/${collection}`, ...config });
  const db = await openSynclineDB(namespace);
  const clock = new VirtualClock(Date.now());
  const engine = await SyncEngine.open({ config: resolved, db, clock, random: () => 0.5, ...deps });
  const fixture: EngineFixture = {
    engine,
    db,
    clock,
    namespace,
    collection,
    path: `/api/${collection}`,
    create: (id, extra = {}) => ({
      kind: 'item.create',
      label: `Create ${id}`,
      request: { method: 'POST', url: `${API}/${collection}`, body: { id } },
      ...extra,
    }),
    async until(id, check, message) {
      let found: Operation | undefined;
      await eventually(
        async () => {
          found = (await engine.list()).find((op) => op.id === id);
          return check === null ? found === undefined : !!found && check(found);
        },
        10_000,
        message ?? `operation ${id}`,
      );
      return found;
    },
    async reopen() {
      fixture.engine.close();
      fixture.engine = await SyncEngine.open({
        config: fixture.engine.config,
        db: await openSynclineDB(namespace),
        clock,
        random: () => 0.5,
        ...deps,
      });
      return fixture.engine;
    },
    async dispose() {
      // The engine the test left in place (a test may reopen one on the same database).
      fixture.engine.close();
      await deleteSynclineDB(namespace);
    },
  };
  return fixture;
}
