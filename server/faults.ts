// Fault injection for tests and the demo: scripted outages, error statuses, latency and lost responses.
import { decodePath } from './api.ts';
import { ApiError, type ApiResult } from './http.ts';

export interface FaultRule {
  id: string;
  /**
   * Matched against the path as routed (percent-decoded; stored decoded too), so an encoded spelling of a
   * path cannot slip past a rule. The batch request itself is matched only by a prefix at or under the batch
   * path; a broader one (`/api`) applies to each of its ops under the op's own path instead.
   */
  pathPrefix: string;
  methods?: string[];
  /**
   * Destroy the connection before processing, as an unreachable server would. On a batch op: the batch
   * connection is cut before that op, the ops before it stay applied.
   */
  offline?: boolean;
  /**
   * Process the request, then destroy the connection: the effect happens, the client never hears. On a
   * batch op: that op is applied, then the batch connection is cut (a reply lost mid-batch).
   */
  drop?: boolean;
  /** Chance that a matching request fails (offline, drop or status); 1 when omitted. */
  failureRate?: number;
  status?: number;
  /** Seconds, sent as Retry-After with an injected status. */
  retryAfter?: number;
  body?: unknown;
  latencyMs?: number;
  /** Matching requests left before the rule removes itself. */
  times?: number;
}

export type FaultOutcome =
  | { kind: 'pass' }
  | { kind: 'offline' }
  | { kind: 'drop' }
  | { kind: 'status'; status: number; headers: Record<string, string>; body: unknown };

export interface FaultPlan {
  latencyMs: number;
  outcome: FaultOutcome;
}

/** The answer an injected status gives, in place of the request's own. */
export function injectedResult(outcome: Extract<FaultOutcome, { kind: 'status' }>): ApiResult {
  return {
    status: outcome.status,
    headers: { 'content-type': 'application/json', ...outcome.headers },
    body: outcome.body,
  };
}

export const NO_FAULT: FaultPlan = { latencyMs: 0, outcome: { kind: 'pass' } };
const RULE_KEYS = new Set([
  'id',
  'pathPrefix',
  'methods',
  'offline',
  'drop',
  'failureRate',
  'status',
  'retryAfter',
  'body',
  'latencyMs',
  'times',
]);
const MAX_LATENCY_MS = 10 * 60 * 1000;

export interface FaultInjectorOptions {
  /** The batch route (e.g. `/api/_batch`), or null when batching is off. */
  batchPath?: string | null;
  random?: () => number;
}

export class FaultInjector {
  readonly #basePath: string;
  readonly #batchPath: string | null;
  readonly #random: () => number;
  #rules: FaultRule[] = [];
  #nextId = 1;
  readonly #requestsByPath = new Map<string, number>();

  constructor(basePath: string, options: FaultInjectorOptions = {}) {
    this.#basePath = basePath;
    this.#batchPath = options.batchPath ?? null;
    this.#random = options.random ?? Math.random;
  }

  list(): FaultRule[] {
    return this.#rules.map((rule) => ({ ...rule }));
  }

  add(input: unknown): FaultRule {
    const rule = this.#validate(input, this.#rules);
    this.#rules.push(rule);
    return { ...rule };
  }

  replace(input: unknown): FaultRule[] {
    if (!isRecord(input) || !Array.isArray(input['rules'])) {
      throw new ApiError(400, 'bad-rule', 'Send { "rules": [ ... ] }.');
    }
    const rules: FaultRule[] = [];
    for (const item of input['rules']) rules.push(this.#validate(item, rules));
    this.#rules = rules;
    return this.list();
  }

  /** Removes every rule, or only those with exactly `pathPrefix`; returns how many went. */
  clear(pathPrefix?: string): number {
    const before = this.#rules.length;
    const prefix = pathPrefix === undefined ? undefined : decodePath(pathPrefix);
    this.#rules = prefix === undefined ? [] : this.#rules.filter((rule) => rule.pathPrefix !== prefix);
    return before - this.#rules.length;
  }

  /**
   * Decides what happens to one request and counts it: an HTTP request, or one op of a batch under the
   * op's own path (so a batch of 3 ops counts 4 requests). Every matching rule contributes its latency and
   * uses up one of its `times`; the first matching rule that fails decides the outcome. `pathname` is matched
   * as routed (percent-decoded). A rule whose prefix merely covers the batch path (`/api`) leaves the batch
   * request alone: it is meant for the ops, which meet it under their own paths, so a `times: 1` is not
   * used up by the batch carrying them.
   */
  plan(method: string, pathname: string): FaultPlan {
    const path = decodePath(pathname);
    this.#requestsByPath.set(path, (this.#requestsByPath.get(path) ?? 0) + 1);
    if (this.#rules.length === 0) return NO_FAULT;
    const batch = this.#batchPath !== null && path === this.#batchPath ? this.#batchPath : null;
    let latencyMs = 0;
    let outcome: FaultOutcome = { kind: 'pass' };
    for (const rule of this.#rules) {
      if (!path.startsWith(rule.pathPrefix)) continue;
      if (batch !== null && !rule.pathPrefix.startsWith(batch)) continue;
      if (rule.methods && !rule.methods.includes(method.toUpperCase())) continue;
      if (rule.times !== undefined) rule.times -= 1;
      latencyMs += rule.latencyMs ?? 0;
      if (outcome.kind !== 'pass') continue;
      const fails = rule.offline || rule.drop || rule.status !== undefined;
      if (!fails || this.#random() >= (rule.failureRate ?? 1)) continue;
      if (rule.offline) outcome = { kind: 'offline' };
      else if (rule.drop) outcome = { kind: 'drop' };
      else
        outcome = {
          kind: 'status',
          status: rule.status!,
          headers: rule.retryAfter === undefined ? {} : { 'retry-after': String(rule.retryAfter) },
          body: rule.body ?? { error: 'injected', message: `Injected fault (rule ${rule.id}).` },
        };
    }
    this.#rules = this.#rules.filter((rule) => rule.times === undefined || rule.times > 0);
    return { latencyMs, outcome };
  }

  /** Requests seen (admin ones excluded) whose path, as routed, starts with `pathPrefix`. */
  requests(pathPrefix: string): number {
    const prefix = decodePath(pathPrefix);
    let total = 0;
    for (const [path, count] of this.#requestsByPath) if (path.startsWith(prefix)) total += count;
    return total;
  }

  resetStats(): void {
    this.#requestsByPath.clear();
  }

  #validate(input: unknown, siblings: FaultRule[]): FaultRule {
    if (!isRecord(input)) throw bad('A rule is a JSON object.');
    for (const key of Object.keys(input)) if (!RULE_KEYS.has(key)) throw bad(`Unknown rule field "${key}".`);
    const rule: FaultRule = { id: '', pathPrefix: this.#basePath };
    const { id, pathPrefix, methods, offline, drop, failureRate, status, retryAfter, body, latencyMs, times } = input;
    if (id !== undefined) {
      if (typeof id !== 'string' || id.length === 0 || id.length > 100) throw bad('id must be a non-empty string.');
      if (siblings.some((other) => other.id === id)) throw bad(`A rule with id "${id}" exists.`);
      rule.id = id;
    } else {
      do rule.id = `rule-${this.#nextId++}`;
      while (siblings.some((other) => other.id === rule.id));
    }
    if (pathPrefix !== undefined) {
      if (typeof pathPrefix !== 'string' || !pathPrefix.startsWith('/')) throw bad('pathPrefix must start with "/".');
      rule.pathPrefix = decodePath(pathPrefix);
    }
    if (methods !== undefined) {
      if (!Array.isArray(methods) || !methods.every((m) => typeof m === 'string' && /^[A-Za-z]+$/.test(m))) {
        throw bad('methods must be an array of method names.');
      }
      rule.methods = methods.map((m: string) => m.toUpperCase());
    }
    if (offline !== undefined) rule.offline = boolean('offline', offline);
    if (drop !== undefined) rule.drop = boolean('drop', drop);
    if (failureRate !== undefined) rule.failureRate = number('failureRate', failureRate, 0, 1);
    if (status !== undefined) {
      if (!Number.isInteger(status) || (status as number) < 200 || (status as number) > 599) {
        throw bad('status must be an integer from 200 to 599.');
      }
      rule.status = status as number;
    }
    if (retryAfter !== undefined) rule.retryAfter = Math.round(number('retryAfter', retryAfter, 0, 86_400));
    if (body !== undefined) rule.body = body;
    if (latencyMs !== undefined) rule.latencyMs = number('latencyMs', latencyMs, 0, MAX_LATENCY_MS);
    if (times !== undefined) {
      if (!Number.isInteger(times) || (times as number) < 1) throw bad('times must be a positive integer.');
      rule.times = times as number;
    }
    return rule;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(message: string): ApiError {
  return new ApiError(400, 'bad-rule', message);
}

function boolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw bad(`${name} must be true or false.`);
  return value;
}

function number(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw bad(`${name} must be a number from ${min} to ${max}.`);
  }
  return value;
}
