// Command-line entry: runs the reference sync server on its own port (`npm run server`).
import { resolve } from 'node:path';
import { createSyncServer } from './app.ts';
import { listen } from './node-adapter.ts';

const port = Number(process.env['PORT'] ?? 8787);
const host = process.env['HOST'] ?? '127.0.0.1';
const dbFile = resolve(process.env['SYNCLINE_DB'] ?? 'data/syncline.sqlite');
const admin = process.env['SYNCLINE_ADMIN'] === '1';
const basePath = '/api';
// Apps on other origins, comma-separated (e.g. http://localhost:5173); none by default.
const corsOrigins = (process.env['SYNCLINE_CORS_ORIGINS'] ?? '')
  .split(',')
  .map((o) => o.trim())
  .filter(Boolean);

if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number, got ${process.env['PORT']}`);
  process.exit(1);
}

let server: ReturnType<typeof createSyncServer>;
try {
  server = createSyncServer({
    dbFile,
    admin,
    basePath,
    ...(corsOrigins.length ? { cors: { origins: corsOrigins } } : {}),
  });
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
const http = await listen(server.app, port, host);
console.log(
  `syncline server on ${http.url}${basePath}${admin ? ' (admin fault switches on)' : ''}${corsOrigins.length ? ` (CORS for ${corsOrigins.join(', ')})` : ''}`,
);

let stopping = false;
async function stop(signal: string): Promise<void> {
  // A second Ctrl-C means "now", not "again".
  if (stopping) process.exit(1);
  stopping = true;
  console.log(`${signal}: closing`);
  await http.close();
  server.close();
  process.exit(0);
}
process.once('SIGINT', () => void stop('SIGINT'));
process.once('SIGTERM', () => void stop('SIGTERM'));
