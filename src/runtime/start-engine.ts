// Opens a namespace's database and starts an engine on it: the one way every runtime builds its engine.
import { SyncEngine } from '../engine/engine.ts';
import { openSynclineDB } from '../engine/db.ts';
import type { EngineConfig } from '../types.ts';

export async function startEngine(config: EngineConfig): Promise<SyncEngine> {
  let engine: SyncEngine | undefined;
  // A newer syncline must upgrade the database: this engine stops (its tabs are an older version's).
  const db = await openSynclineDB(config.namespace, () => engine?.close());
  engine = await SyncEngine.open({ config, db });
  return engine;
}
