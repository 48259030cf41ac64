// Demo entry: registers the elements, then starts the three micro-frontends, the conflicts card and the fault panel on one shared client.
import '../components/define.ts';
import type { SyncClient } from '../src/index.ts';
import { TaskBoard } from './tasks.ts';
import { mountFaultPanel } from './faults.ts';
import { mountConflictsCard, mountPlainPanel } from './plain.ts';
import { mountReactPanel } from './react-app.tsx';
import { mountVuePanel } from './vue-app.ts';

async function start(): Promise<void> {
  await customElements.whenDefined('sync-provider');
  const provider = document.querySelector('sync-provider') as HTMLElement & { client?: SyncClient };
  const client = provider.client;
  if (!client) throw new Error('The sync provider has no client.');
  const board = new TaskBoard(client);
  mountPlainPanel(board);
  mountConflictsCard(client, document.querySelector<HTMLElement>('#conflicts')!, board);
  mountReactPanel(document.querySelector('#react-root')!, board);
  mountVuePanel(document.querySelector('#vue-root')!, board);
  mountFaultPanel(document.querySelector<HTMLFormElement>('#faults')!);
}

void start();
