// Opens a namespace's database and starts an engine on it: the one way every runtime builds its engine.
import { SyncEngine } from '../engine/engine.ts';
import { openSynclineDB } from '../engine/db.ts';
import type { EngineConfig } from '../types.ts';

/**
 * Call only while holding the namespace's engine lock (the host does). `onVersionChange` runs when a newer
 * version of syncline must upgrade the database (`newVersion` a number) or the database is being deleted (null):
 * the engine closes at once so neither is ever blocked.
 */
export async function startEngine(
  config: EngineConfig,
  onVersionChange: (newVersion: number | null) => void = () => {},
): Promise<SyncEngine> {
  // eslint-disable-next-line prefer-const -- declared before the callback that reads it: a version change before open resolves finds undefined
  let engine: SyncEngine | undefined;
  const db = await openSynclineDB(config.namespace, (newVersion) => {
    engine?.close();
    onVersionChange(newVersion);
  });
  engine = await SyncEngine.open({ config, db });
  return engine;
}
