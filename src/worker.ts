// SharedWorker entry: hosts the namespace's engine for every tab of the origin; the worker is named `syncline:<namespace>:<schema>.<protocol>` (names.ts).
import { EngineHost } from './rpc/host.ts';
import { portLink } from './rpc/protocol.ts';
import { startEngine } from './runtime/start-engine.ts';
import { workerName } from './runtime/names.ts';

// The DOM lib is in scope for the whole package; declare just what a SharedWorker global offers here.
declare const self: {
  readonly name: string;
  addEventListener(type: 'connect', listener: (event: MessageEvent) => void): void;
};

const host = new EngineHost({
  runtime: 'shared-worker',
  startEngine,
  // A worker serves exactly the namespace in its name: user B's tab can never reach user A's queue through it.
  acceptsNamespace: (namespace) => self.name === workerName(namespace),
  onMalformed: (data) => console.warn('syncline worker: dropped a malformed message', data),
});

self.addEventListener('connect', (event) => {
  for (const port of event.ports) {
    host.accept(portLink(port));
    port.start();
  }
});
