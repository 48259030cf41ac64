// The demo's control panel: switches the reference server's fault injection for the tasks API.

interface Rule {
  pathPrefix: string;
  offline?: boolean;
  failureRate?: number;
  status?: number;
  latencyMs?: number;
}

export interface FaultPaths {
  /** The API's base: its admin routes and health probe are under it. */
  api?: string;
  /** What the switches act on (besides the health probe, when unreachable). */
  tasks?: string;
}

export function mountFaultPanel(
  form: HTMLFormElement,
  { api = '/api', tasks = `${api}/tasks` }: FaultPaths = {},
): void {
  const TASKS = tasks;
  const HEALTH = `${api}/health`;
  const field = <T extends Element>(name: string) => form.elements.namedItem(name) as unknown as T;
  const apply = async () => {
    const offline = field<HTMLInputElement>('offline').checked;
    const failureRate = Number(field<HTMLInputElement>('failureRate').value);
    const status = Number(field<HTMLSelectElement>('status').value);
    const latencyMs = Number(field<HTMLInputElement>('latencyMs').value);
    field<HTMLOutputElement>('failureRateOut').value = `${Math.round(failureRate * 100)}%`;
    field<HTMLOutputElement>('latencyOut').value = `${latencyMs} ms`;
    const rules: Rule[] = [];
    if (offline) rules.push({ pathPrefix: TASKS, offline: true }, { pathPrefix: HEALTH, offline: true });
    if (latencyMs > 0) rules.push({ pathPrefix: TASKS, latencyMs });
    if (failureRate > 0)
      rules.push({ pathPrefix: TASKS, status, failureRate, ...(status === 429 ? { retryAfter: 3 } : {}) });
    await fetch(`${api}/_admin/faults`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ rules }),
    });
  };
  form.addEventListener('input', () => void apply());
  form.addEventListener('change', () => void apply());
  // Show the server's current switches (another tab may have set them).
  void fetch(`${api}/_admin/faults`).then(async (r) => {
    if (!r.ok) return;
    // Only the demo's own switches: the server may hold rules for other paths (other apps, tests).
    const rules = ((await r.json()) as { rules: Rule[] }).rules.filter(
      (rule) => rule.pathPrefix === TASKS || rule.pathPrefix === HEALTH,
    );
    field<HTMLInputElement>('offline').checked = rules.some((rule) => rule.offline);
    const failing = rules.find((rule) => rule.status);
    if (failing) {
      field<HTMLInputElement>('failureRate').value = String(failing.failureRate ?? 1);
      field<HTMLSelectElement>('status').value = String(failing.status);
    }
    const slow = rules.find((rule) => rule.latencyMs);
    if (slow) field<HTMLInputElement>('latencyMs').value = String(slow.latencyMs);
    field<HTMLOutputElement>('failureRateOut').value =
      `${Math.round(Number(field<HTMLInputElement>('failureRate').value) * 100)}%`;
    field<HTMLOutputElement>('latencyOut').value = `${field<HTMLInputElement>('latencyMs').value} ms`;
  });
}
