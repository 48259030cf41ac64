// Helpers for tests that talk to the reference server mounted at /api: unique names, fault switches, the changes feed.

export const API = `${location.origin}/api`;

/** A name no other test (or earlier run) uses: collections, namespaces and workers are isolated by it. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
}

export interface FaultRule {
  pathPrefix?: string;
  methods?: string[];
  offline?: boolean;
  drop?: boolean;
  failureRate?: number;
  status?: number;
  retryAfter?: number;
  body?: unknown;
  latencyMs?: number;
  times?: number;
}

async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${API}/_admin/${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`admin ${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

export function addFault(rule: FaultRule): Promise<unknown> {
  return admin('POST', 'faults', rule);
}

export function clearFaults(pathPrefix: string): Promise<unknown> {
  return admin('DELETE', `faults?pathPrefix=${encodeURIComponent(pathPrefix)}`);
}

/**
 * Takes `/api/<collection>` and its health probe `/api/health/<collection>` (a client's `healthUrl` in the tests)
 * off the network, or (`off` false) brings them back.
 */
export async function unreachable(collection: string, off = true): Promise<void> {
  for (const pathPrefix of [`/api/${collection}`, `/api/health/${collection}`])
    await (off ? addFault({ pathPrefix, offline: true }) : clearFaults(pathPrefix));
}

/** Requests the server has seen under a path (admin routes excluded). */
export async function requestCount(pathPrefix: string): Promise<number> {
  const stats = (await admin('GET', `stats?pathPrefix=${encodeURIComponent(pathPrefix)}`)) as { requests: number };
  return stats.requests;
}

export interface ServerItem {
  id: string;
  version: number;
  data: Record<string, unknown> | null;
  deleted: boolean;
}

/** Writes an entity on the server directly (as another device would), with `If-Match` when given. */
export function serverPut(collection: string, id: string, data: object, ifMatch?: string): Promise<Response> {
  return fetch(`${API}/${collection}/${id}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', ...(ifMatch ? { 'If-Match': ifMatch } : {}) },
    body: JSON.stringify(data),
  });
}

/** Every write to a collection, in the order the server applied them. */
export async function serverItems(collection: string): Promise<ServerItem[]> {
  const items: ServerItem[] = [];
  let cursor = '0';
  for (;;) {
    const response = await fetch(`${API}/${collection}?since=${cursor}`);
    const page = (await response.json()) as { items: ServerItem[]; cursor: string; hasMore: boolean };
    items.push(...page.items);
    cursor = page.cursor;
    if (!page.hasMore) return items;
  }
}

/** Polls until `check` passes; for real worker and network round trips only. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  message = 'condition',
): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (await check()) return;
    if (Date.now() - start > timeoutMs) throw new Error(`Timed out waiting for ${message}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** One request as the test hooks saw it (test/support/hooks.mjs). */
export interface HookRecord {
  kind: 'redirect' | 'portal' | 'sink' | 'refused';
  origin: string;
  method: string;
  headers: Record<string, string>;
  bytes: number;
  sha256: string;
  text: string | null;
}

/** What the test hooks recorded under a name, on either loopback origin. */
export async function hookLog(name: string): Promise<HookRecord[]> {
  return (await fetch(`${location.origin}/hooks/log/${name}`)).json();
}

export async function sha256Hex(data: ArrayBuffer | Blob): Promise<string> {
  const bytes = data instanceof Blob ? await data.arrayBuffer() : data;
  return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');
}
