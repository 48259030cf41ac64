// Addressed links over one BroadcastChannel: how tabs reach an engine that runs in another context than their own runtime.
import type { Link } from '../rpc/protocol.ts';

interface Envelope {
  from?: string;
  to?: string;
  m?: unknown;
  /** Sent by an engine that has just started serving: tabs still looking for it say hello now. */
  announce?: string;
}

const isEnvelope = (v: unknown): v is Envelope => typeof v === 'object' && v !== null && ('m' in v || 'announce' in v);

/**
 * A tab's link to whichever engine serves the channel: it sends as `from: client` and hears only what is
 * addressed `to: client`; `onAnnounce` runs when an engine starts serving.
 */
export function broadcastLink(channelName: string, client: string, onAnnounce?: () => void): Link {
  const channel = new BroadcastChannel(channelName);
  return {
    send: (m) => channel.postMessage({ from: client, m } satisfies Envelope),
    onMessage(receiver) {
      channel.onmessage = (event) => {
        if (!isEnvelope(event.data)) return;
        if (event.data.announce !== undefined) onAnnounce?.();
        else if (event.data.to === client) receiver(event.data.m);
      };
    },
    close: () => channel.close(),
  };
}

/** What serves a channel: anything that accepts links (the engine host). */
export interface LinkAcceptor {
  accept(link: Link): void;
}

/** The engine's side: demultiplexes the channel into one link per tab and hands each to the host; announces itself. */
export function serveOverBroadcast(
  channelName: string,
  host: LinkAcceptor,
  onMalformed?: (data: unknown) => void,
): () => void {
  const channel = new BroadcastChannel(channelName);
  const receivers = new Map<string, (data: unknown) => void>();
  channel.onmessage = (event) => {
    const data = event.data;
    // Another engine's announcement, or answers addressed to tabs: not for us.
    if (isEnvelope(data) && (data.announce !== undefined || typeof data.to === 'string')) return;
    if (!isEnvelope(data) || typeof data.from !== 'string') {
      onMalformed?.(data);
      return;
    }
    const from = data.from;
    let receiver = receivers.get(from);
    if (!receiver) {
      host.accept({
        send: (m) => channel.postMessage({ to: from, m } satisfies Envelope),
        onMessage: (r) => {
          receiver = r;
          receivers.set(from, r);
        },
        close: () => receivers.delete(from),
      });
    }
    receiver?.(data.m);
  };
  channel.postMessage({ announce: 'engine' } satisfies Envelope);
  return () => {
    channel.close();
    receivers.clear();
  };
}
