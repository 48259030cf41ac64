// Statistics and the printed table for the benchmark runner: medians, percentiles, one row per figure.

export interface Row {
  id: string;
  label: string;
  unit: string;
  figure?: number;
  raw?: number;
  baseline?: string;
  ratio?: number;
  target?: { op: '>=' | '<='; value: number };
  pass?: boolean;
  runs?: number[];
  rawRuns?: number[];
  /** Each run's figure over the raw figure of the same run, where both were measured in every run. */
  runRatios?: number[];
  skipped?: string;
  [extra: string]: unknown;
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0..100); NaN for no values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  if (p === 50 && sorted.length % 2 === 0) return (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

const num = (v: number | undefined, unit = '') =>
  v === undefined || Number.isNaN(v)
    ? ''
    : `${v >= 100 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toFixed(2)}${unit ? ' ' + unit : ''}`;

export function formatTable(rows: Row[], header = true): string {
  const cells = rows.map((r) => {
    if (r.skipped) return [r.id, r.label, '—', '—', '—', '—', `skipped: ${r.skipped}`];
    const result = r.pass === undefined ? 'info' : r.pass ? 'PASS' : 'MISS';
    return [
      r.id,
      r.label,
      num(r.figure, r.unit),
      r.raw === undefined ? '' : `${num(r.raw, r.unit)}  (${r.baseline})`,
      r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}×`,
      r.target ? `${r.target.op} ${r.target.value}×` : '',
      result,
    ];
  });
  const head = ['id', 'scenario', 'syncline', 'raw limit', 'ratio', 'target', 'result'];
  const all = header ? [head, ...cells] : cells;
  const widths = head.map((_, i) => Math.max(...all.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i]!))
      .join(' │ ')
      .trimEnd();
  return (header ? [line(head), widths.map((w) => '─'.repeat(w)).join('─┼─')] : []).concat(cells.map(line)).join('\n');
}

/** A figure (median of its runs), beside the median of its raw runs when it has them: the ratio of the two. */
export function measuredRow(
  id: string,
  label: string,
  unit: string,
  figures: number[],
  raw?: number[],
  baseline?: string,
  extra: Record<string, unknown> = {},
): Row {
  const figure = median(figures);
  if (!raw) return { id, label, unit, figure, runs: figures, ...extra };
  const limit = median(raw);
  return {
    id,
    label,
    unit,
    figure,
    raw: limit,
    baseline,
    ratio: figure / limit,
    runs: figures,
    rawRuns: raw,
    ...(figures.length > 1 && figures.length === raw.length ? { runRatios: figures.map((f, i) => f / raw[i]!) } : {}),
    ...extra,
  };
}

/**
 * The spread behind each target's ratio: every run's figure over the raw figure of that same run. The verdict stays
 * on the ratio of the medians; these show how near the line each run fell.
 */
export function formatRunRatios(rows: Row[]): string {
  const lines = rows
    .filter((r) => r.target && r.runRatios)
    .map((r) => `${r.id} ${r.runRatios!.map((v) => v.toFixed(3)).join(' ')}`);
  return lines.length ? `per-run ratios (run's figure ÷ same run's raw): ${lines.join(' · ')}` : '';
}

/** A measured row with a target on its ratio, and whether the ratio meets it. */
export function ratioRow(
  id: string,
  label: string,
  unit: string,
  figures: number[],
  raw: number[],
  baseline: string,
  op: '>=' | '<=',
  target: number,
  extra: Record<string, unknown> = {},
): Row {
  const row = measuredRow(id, label, unit, figures, raw, baseline, extra);
  const ratio = row.ratio!;
  return { ...row, target: { op, value: target }, pass: op === '>=' ? ratio >= target : ratio <= target };
}
