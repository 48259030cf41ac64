// CPU time by process (Linux /proc) for BENCH_CPU=1: where a drain's work goes, beside the raw loop's, on a machine where the server and the browser share the cores.
import { readdirSync, readFileSync } from 'node:fs';

/** Milliseconds of CPU (user + system) each process kind has used so far: Chromium's by role, and this Node process (the server). */
export type CpuSnapshot = Map<string, number>;

const TICK_MS = 10; // USER_HZ is 100 on Linux.

/** CPU milliseconds (user + system) in a `/proc/.../stat` line, of a process or of one of its threads. */
function cpuMsOf(stat: string): number {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/**
 * Chromium's role for a process from its command line: `browser` (no --type: it hosts IndexedDB's backend),
 * `network` (the utility process for the network service), `renderer` (pages and their workers), `gpu`, `other`.
 */
function roleOf(args: string[]): string | null {
  const exe = args[0]?.split('/').pop() ?? '';
  if (!/chrom/.test(exe)) return null;
  const type = args.find((a) => a.startsWith('--type='))?.slice('--type='.length);
  if (!type) return 'browser';
  if (type === 'renderer') return 'renderer';
  if (type === 'gpu-process') return 'gpu';
  if (type === 'utility') {
    const sub = args.find((a) => a.startsWith('--utility-sub-type='))?.toLowerCase() ?? '';
    return sub.includes('network') ? 'network' : 'other';
  }
  return 'other';
}

export function cpuSnapshot(): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  const add = (role: string, ms: number) => out.set(role, (out.get(role) ?? 0) + ms);
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const ms = cpuMsOf(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      if (Number(pid) === process.pid) {
        add('server', ms);
        continue;
      }
      // Chromium rewrites the command lines of its child processes into one string: split on spaces too.
      const role = roleOf(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/));
      if (role) add(role, ms);
    } catch {
      /* the process ended meanwhile */
    }
  }
  return out;
}

/** CPU µs per op by process kind between two snapshots (a process that ended meanwhile is not counted). */
export function cpuPerOp(before: CpuSnapshot, after: CpuSnapshot, ops: number): Record<string, number> {
  const out: Record<string, number> = {};
  let total = 0;
  for (const [role, ms] of after) {
    const used = Math.max(0, ms - (before.get(role) ?? 0));
    out[role] = Math.round((used * 1000) / ops);
    total += out[role]!;
  }
  out.total = total;
  return out;
}

/** One line: `browser 580 · network 1,190 · renderer 1,580 · server 1,120 · total 4,470 µs/op`. */
export function formatCpu(perOp: Record<string, number>): string {
  const order = ['browser', 'network', 'renderer', 'server', 'gpu', 'other', 'total'];
  return (
    order
      .filter((k) => perOp[k] !== undefined && (perOp[k]! > 0 || k === 'total'))
      .map((k) => `${k} ${perOp[k]!.toLocaleString('en-US')}`)
      .join(' · ') + ' µs/op'
  );
}

/**
 * Milliseconds of CPU each thread of Chromium's browser, network and renderer processes has used so far, keyed
 * `<role>:<thread name>` (threads of one name summed, a trailing number dropped): which of a process's threads does
 * the work, IndexedDB's backend being the browser's `ThreadPoolForeg(roundWorker)` threads. BENCH_CPU=threads.
 */
export function threadSnapshot(): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const role = roleOf(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/));
      if (role !== 'browser' && role !== 'renderer' && role !== 'network') continue;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const key = `${role}:${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '')}`;
        out.set(key, (out.get(key) ?? 0) + cpuMsOf(stat));
      }
    } catch {
      /* the process or thread ended meanwhile */
    }
  }
  return out;
}

/** The threads where either side spent at least 5 µs per op, most added by the engine first, one per line. */
export function formatThreads(raw: Record<string, number>, syncline: Record<string, number>): string[] {
  return [...new Set([...Object.keys(raw), ...Object.keys(syncline)])]
    .filter((k) => k !== 'total' && ((raw[k] ?? 0) >= 5 || (syncline[k] ?? 0) >= 5))
    .sort((a, b) => (syncline[b] ?? 0) - (raw[b] ?? 0) - ((syncline[a] ?? 0) - (raw[a] ?? 0)))
    .map(
      (k) =>
        `${k.padEnd(34)} raw ${String(raw[k] ?? 0).padStart(5)} · syncline ${String(syncline[k] ?? 0).padStart(5)} µs/op`,
    );
}
