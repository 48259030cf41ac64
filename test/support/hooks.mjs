// Test-runner routes for what the reference server does not do: redirect elsewhere, answer as a captive portal, record raw bodies.
import { createHash } from 'node:crypto';

/**
 * `/hooks/redirect/<name>`: 307 to `/hooks/sink/<name>` on the other loopback origin (127.0.0.1 for localhost).
 * `/hooks/portal/<name>`: 200 with an HTML sign-in page, whatever was asked for.
 * `/hooks/sink/<name>`: records the request (method, headers, body size and hash) and answers 201 JSON.
 * `/hooks/refuse/<name>?status=503&retryAfter=1.5&times=1`: the first `times` requests get that status and a raw
 *   Retry-After header (any text, unlike the reference server's faults); later ones are recorded like the sink's.
 * `GET /hooks/log/<name>`: what the sink recorded under that name (both origins share one log).
 * `GET /hooks/slow/<ms>?to=<path>`: waits, then redirects to `path` on this origin (a worker script that is slow to come).
 * `POST /hooks/hold?path=<path>`: requests for `path` (a module, say) wait, until `POST /hooks/release?path=<path>`;
 *   `GET /hooks/held?path=<path>` answers how many are waiting now.
 * `/realm/<name>/<path>`: the file at `/<path>`, under a URL of its own: a frame loaded from there loads its modules
 *   anew (the browser may reuse a module the page loaded under the same URL without asking the server again).
 */
export function testHooks() {
  const log = new Map();
  /** Held paths: how many requests wait for each, and what lets them go. */
  const holds = new Map();
  return async (ctx, next) => {
    const path = ctx.path;
    const hold = holds.get(path);
    if (hold) {
      hold.waiting++;
      await hold.gate;
      hold.waiting--;
    }
    const realm = /^\/realm\/[^/]+(\/.*)$/.exec(path);
    if (realm) {
      ctx.url = `${realm[1]}${ctx.querystring ? `?${ctx.querystring}` : ''}`;
      return next();
    }
    if (path === '/hooks/hold' || path === '/hooks/release' || path === '/hooks/held') {
      const target = String(ctx.query.path ?? '');
      if (path === '/hooks/hold' && !holds.has(target)) {
        let open;
        const gate = new Promise((resolve) => (open = resolve));
        holds.set(target, { waiting: 0, gate, open });
      }
      if (path === '/hooks/release') {
        holds.get(target)?.open();
        holds.delete(target);
      }
      ctx.set('Content-Type', 'application/json');
      ctx.set('Cache-Control', 'no-store');
      ctx.body = JSON.stringify({ waiting: holds.get(target)?.waiting ?? 0 });
      return;
    }
    if (!path.startsWith('/hooks/')) return next();
    const [, , kind, name = ''] = path.split('/');
    if (kind === 'slow') {
      await new Promise((r) => setTimeout(r, Number(name)));
      ctx.status = 302;
      ctx.set('Location', String(ctx.query.to ?? '/'));
      ctx.set('Cache-Control', 'no-store');
      return;
    }
    if (kind === 'redirect') {
      const other = ctx.host.startsWith('localhost')
        ? ctx.host.replace('localhost', '127.0.0.1')
        : ctx.host.replace('127.0.0.1', 'localhost');
      ctx.status = 307;
      ctx.set('Location', `${ctx.protocol}://${other}/hooks/sink/${name}`);
      ctx.set('Cache-Control', 'no-store');
      record(log, name, ctx, Buffer.alloc(0), 'redirect');
      return;
    }
    if (kind === 'portal') {
      ctx.status = 200;
      ctx.set('Content-Type', 'text/html; charset=utf-8');
      ctx.set('Cache-Control', 'no-store');
      ctx.body = '<!doctype html><title>Sign in to the Wi-Fi</title><p>Accept the terms to continue.</p>';
      record(log, name, ctx, Buffer.alloc(0), 'portal');
      return;
    }
    if (kind === 'refuse') {
      const seen = (log.get(name) ?? []).length;
      const times = Number(ctx.query.times ?? 1);
      if (seen < times) {
        record(log, name, ctx, Buffer.alloc(0), 'refused');
        ctx.status = Number(ctx.query.status ?? 503);
        if (ctx.query.retryAfter !== undefined) ctx.set('Retry-After', String(ctx.query.retryAfter));
        ctx.set('Content-Type', 'application/json');
        ctx.set('Cache-Control', 'no-store');
        ctx.body = JSON.stringify({ error: 'refused' });
        return;
      }
    }
    if (kind === 'sink' || kind === 'refuse') {
      const chunks = [];
      for await (const chunk of ctx.req) chunks.push(chunk);
      const body = Buffer.concat(chunks);
      const n = record(log, name, ctx, body, 'sink');
      ctx.status = 201;
      ctx.set('Content-Type', 'application/json');
      ctx.set('ETag', `"${n}"`);
      ctx.set('Location', `/hooks/sink/${name}/${n}`);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = JSON.stringify({ received: n, bytes: body.length });
      return;
    }
    if (kind === 'log') {
      ctx.set('Content-Type', 'application/json');
      ctx.set('Cache-Control', 'no-store');
      ctx.body = JSON.stringify(log.get(name) ?? []);
      return;
    }
    return next();
  };
}

function record(log, name, ctx, body, kind) {
  const list = log.get(name) ?? [];
  log.set(name, list);
  list.push({
    kind,
    origin: `${ctx.protocol}://${ctx.host}`,
    method: ctx.method,
    headers: ctx.headers,
    bytes: body.length,
    sha256: createHash('sha256').update(body).digest('hex'),
    text: body.length <= 4096 ? body.toString('latin1') : null,
  });
  return list.length;
}
