// Shared fixtures for the server tests: a real server on a loopback port over a throwaway SQLite file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSyncServer, type SyncServer, type SyncServerOptions } from '../app.ts';
import { listen } from '../node-adapter.ts';

export interface TestServer {
  /** e.g. http://127.0.0.1:40123/api */
  api: string;
  dbFile: string;
  server: SyncServer;
  /** Stops the HTTP server and closes the database, keeping the file. */
  stop(): Promise<void>;
  /** stop() and delete the directory. */
  close(): Promise<void>;
}

export async function startServer(options: Partial<SyncServerOptions> = {}, dbFile?: string): Promise<TestServer> {
  const file = dbFile ?? join(mkdtempSync(join(tmpdir(), 'syncline-server-test-')), 'db', 'test.sqlite');
  const server = createSyncServer({ admin: true, ...options, dbFile: file });
  const http = await listen(server.app, 0);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await http.close();
    server.close();
  };
  return {
    api: `${http.url}${options.basePath ?? '/api'}`,
    dbFile: file,
    server,
    stop,
    async close() {
      await stop();
      rmSync(join(file, '..', '..'), { recursive: true, force: true });
    },
  };
}

export function jsonInit(method: string, body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

export async function call(url: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

export async function addFault(api: string, rule: Record<string, unknown>): Promise<{ id: string }> {
  const { status, body } = await call(`${api}/_admin/faults`, jsonInit('POST', rule));
  if (status !== 201) throw new Error(`adding fault failed: ${status} ${JSON.stringify(body)}`);
  return body;
}

export interface ChangeLogEntry {
  seq: number;
  id: string;
  version: number;
  deleted: boolean;
  principal: string | null;
  idempotencyKey: string | null;
}

/** Every write the server recorded for a collection, oldest first. */
export async function changeLog(api: string, collection: string): Promise<ChangeLogEntry[]> {
  return (await call(`${api}/_admin/changes?collection=${collection}`)).body.items;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
