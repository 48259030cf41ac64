// A bare module SharedWorker for raw baselines in a worker context: fetch loops (drain) and a cold open + count (cold start).
import { fetchLoops } from './fetch-loops.ts';

declare const self: { addEventListener(type: 'connect', listener: (event: MessageEvent) => void): void };

function coldCount(name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(name);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const req = db.transaction('operations').objectStore('operations').count();
      req.onsuccess = () => {
        db.close();
        resolve(req.result);
      };
      req.onerror = () => reject(req.error);
    };
  });
}

self.addEventListener('connect', (event) => {
  const port = event.ports[0]!;
  port.onmessage = async (e: MessageEvent) => {
    const { cmd, id } = e.data;
    try {
      if (cmd === 'ping') port.postMessage({ id });
      else if (cmd === 'count') port.postMessage({ id, value: await coldCount(e.data.db) });
      else if (cmd === 'fetch')
        port.postMessage({ id, ...(await fetchLoops(e.data.url, e.data.n, e.data.conc, e.data.method)) });
    } catch (error) {
      port.postMessage({ id, error: String(error) });
    }
  };
});
