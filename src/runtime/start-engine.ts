// Opens a namespace's database and starts an engine on it: the one way every runtime builds its engine.
import { SyncEngine } from '../engine/engine.ts';
import { openSynclineDB } from '../engine/db.ts';
import type { EngineConfig } from '../types.ts';

export async function startEngine(config: EngineConfig): Promise<SyncEngine> {
  const db = await openSynclineDB(config.namespace);
  return SyncEngine.open({ config, db });
}
