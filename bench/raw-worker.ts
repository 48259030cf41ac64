// A bare module SharedWorker for raw baselines in a worker context: fetch loops (drain), a strict put per call (enqueue) and a cold open + count (cold start).
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

/** Connections kept open by name, as an engine keeps its own. */
const open = new Map<string, Promise<IDBDatabase>>();
function database(name: string): Promise<IDBDatabase> {
  let db = open.get(name);
  if (!db) {
    db = new Promise((resolve, reject) => {
      const request = indexedDB.open(name);
      request.onerror = () => reject(request.error);
      request.onsuccess = () => resolve(request.result);
    });
    open.set(name, db);
  }
  return db;
}

/** One record in its own strict transaction, resolved once committed: the least a durable enqueue in the worker costs. */
async function strictPut(name: string, record: unknown): Promise<void> {
  const tx = (await database(name)).transaction('operations', 'readwrite', { durability: 'strict' });
  tx.objectStore('operations').put(record);
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => reject(tx.error);
  });
}

self.addEventListener('connect', (event) => {
  const port = event.ports[0]!;
  port.onmessage = async (e: MessageEvent) => {
    const { cmd, id } = e.data;
    try {
      if (cmd === 'ping') port.postMessage({ id });
      else if (cmd === 'put') port.postMessage({ id, value: await strictPut(e.data.db, e.data.record) });
      else if (cmd === 'close') {
        (await open.get(e.data.db))?.close();
        open.delete(e.data.db);
        port.postMessage({ id });
      } else if (cmd === 'count') port.postMessage({ id, value: await coldCount(e.data.db) });
      else if (cmd === 'fetch')
        port.postMessage({ id, ...(await fetchLoops(e.data.url, e.data.n, e.data.conc, e.data.method)) });
    } catch (error) {
      port.postMessage({ id, error: String(error) });
    }
  };
});
