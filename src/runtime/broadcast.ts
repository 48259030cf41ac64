// Addressed links over one BroadcastChannel: how follower tabs reach the leader tab's engine.
import type { Link } from '../rpc/protocol.ts';
import type { EngineHost } from '../rpc/host.ts';

interface Envelope {
  from?: string;
  to?: string;
  m: unknown;
}

const isEnvelope = (v: unknown): v is Envelope => typeof v === 'object' && v !== null && 'm' in v;

/** A tab's link to whichever tab leads: it sends as `from: client` and hears only what is addressed `to: client`. */
export function broadcastLink(channelName: string, client: string): Link {
  const channel = new BroadcastChannel(channelName);
  return {
    send: (m) => channel.postMessage({ from: client, m } satisfies Envelope),
    onMessage(receiver) {
      channel.onmessage = (event) => {
        if (isEnvelope(event.data) && event.data.to === client) receiver(event.data.m);
      };
    },
    close: () => channel.close(),
  };
}

/** The leader's side: demultiplexes the channel into one link per tab and hands each to the host. */
export function serveOverBroadcast(channelName: string, host: EngineHost, onMalformed?: (data: unknown) => void): () => void {
  const channel = new BroadcastChannel(channelName);
  const receivers = new Map<string, (data: unknown) => void>();
  channel.onmessage = (event) => {
    const data = event.data;
    if (!isEnvelope(data) || typeof data.from !== 'string') {
      if (!isEnvelope(data) || data.to === undefined) onMalformed?.(data);
      return;
    }
    const from = data.from;
    let receiver = receivers.get(from);
    if (!receiver) {
      host.accept({
        send: (m) => channel.postMessage({ to: from, m } satisfies Envelope),
        onMessage: (r) => { receiver = r; receivers.set(from, r); },
        close: () => receivers.delete(from),
      });
    }
    receiver?.(data.m);
  };
  return () => {
    channel.close();
    receivers.clear();
  };
}
