// Two tabs, one queue: an operation enqueued in one tab appears in the other tab's outbox and badge.
import { expect } from '@open-wc/testing';
import '../components/define.ts';
import { createSyncClient, type SyncClient } from '../src/index.ts';
import { deleteSynclineDB } from '../src/testing.ts';
import { addFault, clearFaults, eventually, uniqueName } from './support/server.ts';
import { openFrame, type Frame } from './support/frames.ts';

describe('widgets across tabs', () => {
  let frame: Frame;
  let other: SyncClient;
  let client: SyncClient;
  let provider: HTMLElement & { client?: SyncClient };
  let collection: string;
  let namespace: string;

  afterEach(async () => {
    provider.remove();
    client.close();
    other.close();
    frame.remove();
    await clearFaults(`/api/${collection}`);
    await clearFaults(`/api/health/${collection}`);
    await Promise.race([deleteSynclineDB(namespace), new Promise((r) => setTimeout(r, 2000))]);
  });

  it("shows another tab's operation in this tab's outbox and badge", async () => {
    namespace = uniqueName('widgets');
    collection = uniqueName('c');
    await addFault({ pathPrefix: `/api/${collection}`, offline: true });
    await addFault({ pathPrefix: `/api/health/${collection}`, offline: true });
    const options = {
      endpoint: '/api',
      namespace,
      mode: 'shared-worker' as const,
      healthUrl: `/api/health/${collection}`,
    };

    client = createSyncClient(options);
    provider = document.createElement('sync-provider');
    provider.client = client;
    const badge = document.createElement('pending-badge') as HTMLElement & { count?: number };
    const outbox = document.createElement('sync-outbox') as HTMLElement & { total?: number };
    provider.append(badge, outbox);
    document.body.append(provider);
    await eventually(() => badge.count === 0, 5000, 'badge at zero');

    frame = await openFrame();
    other = frame.client(options);
    await other.enqueue({
      kind: 'note.create',
      label: 'Written in the other tab',
      request: { method: 'POST', url: collection, body: { id: 'n1' } },
    });

    await eventually(() => badge.count === 1, 5000, 'badge follows the other tab');
    await eventually(
      () => !!outbox.shadowRoot?.textContent?.includes('Written in the other tab'),
      5000,
      'outbox shows the operation',
    );
    expect(outbox.total).to.equal(1);
  });
});
