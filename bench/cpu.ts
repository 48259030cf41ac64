// CPU time by process (Linux /proc) for BENCH_CPU=1: where a drain's work goes, beside the raw loop's, on a machine where the server and the browser share the cores.
import { readdirSync, readFileSync } from 'node:fs';

/** Milliseconds of CPU (user + system) each process kind has used so far: Chromium's by role, and this Node process (the server). */
export type CpuSnapshot = Map<string, number>;

const TICK_MS = 10; // USER_HZ is 100 on Linux.

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
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = (Number(fields[11]) + Number(fields[12])) * TICK_MS;
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
