// Runs every suite (types, lint, manifest, build, package checks, size budget, server, consumers, browser) and closes with one plain "N passed, N failed" line.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { ensureChromium } from './ensure-chromium.mjs';
import { ensureFirefox, ensureWebKit } from './ensure-engines.mjs';

// Node 20's --test takes no globs: list the TypeScript suites explicitly.
const serverTests = () =>
  readdirSync('server/test')
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => `server/test/${f}`);
// Whole browsers driven from Node, for what needs a browser of its own (a Firefox with a tiny storage limit).
const engineTests = () =>
  readdirSync('test/engines')
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => `test/engines/${f}`);

const steps = [
  { name: 'typecheck', cmd: ['npx', 'tsc', '-p', 'tsconfig.json'], counts: false },
  { name: 'typecheck server', cmd: ['npx', 'tsc', '-p', 'server/tsconfig.json'], counts: false },
  { name: 'lint', cmd: ['npm', 'run', 'lint'], counts: false },
  { name: 'manifest', cmd: ['node', 'scripts/manifest.mjs', '--check'], counts: false },
  { name: 'build', cmd: ['node', 'scripts/build.mjs'], counts: false },
  { name: 'package', cmd: ['node', 'scripts/package-check.mjs'], counts: false },
  // Both budgets: the page's up front, and the worker's as a tab starts it.
  { name: 'size', cmd: ['node', 'scripts/size.mjs'], counts: false },
  {
    name: 'server',
    cmd: ['node', '--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...serverTests()],
    counts: 'node',
  },
  {
    name: 'engines',
    cmd: ['node', '--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...engineTests()],
    counts: 'node',
    before: () => {
      ensureChromium();
      ensureFirefox();
    },
  },
  // The packed tarball in fresh apps (Vite, webpack, no build from a second origin, strict CSP, TypeScript consumers).
  {
    name: 'consumers',
    cmd: ['node', '--import', 'tsx', 'test/consumers/run.mjs'],
    counts: 'wtr',
    before: ensureChromium,
  },
  // One engine per run: in parallel they starve each other on 2 cores. WebKit is opt-in (npm run test:webkit),
  // as all three take more than the ten minutes npm test should; .ci/run runs it after npm test.
  ...[
    ['chromium', ensureChromium],
    ['firefox', ensureFirefox],
    ['webkit', ensureWebKit],
  ].map(([engine, ensure]) => ({
    name: `browser ${engine}`,
    optIn: engine === 'webkit',
    env: { SYNCLINE_BROWSERS: engine },
    counts: 'wtr',
    before: ensure,
    cmd: ['node', '--import', 'tsx', 'node_modules/@web/test-runner/dist/bin.js', '--static-logging'],
  })),
];

function run(step) {
  return new Promise((resolve) => {
    const child = spawn(step.cmd[0], step.cmd.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...step.env },
    });
    let out = '';
    const take = (stream, sink) =>
      stream.on('data', (d) => {
        out += d;
        sink.write(d);
      });
    take(child.stdout, process.stdout);
    take(child.stderr, process.stderr);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** Titles of failed tests in a runner's output: node's spec reporter marks them ✖, the test runner ❌. */
function failedTitles(text) {
  const titles = new Set();
  let file = '';
  // eslint-disable-next-line no-control-regex -- cursor moves (ESC [ 2K …) come before the runner's file names
  for (const line of text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').split('\n')) {
    // The test runner prints each file's name, then its failures under it.
    const header = /^(\S+\.test\.ts):\s*$/.exec(line);
    if (header) file = header[1];
    const mark = /^\s*(?:✖|❌)\s+(.+?)\s*$/.exec(line);
    // Node prints a "failing tests:" recap of the same ✖ lines; the set keeps one of each.
    if (mark && !/^failing tests/.test(mark[1]))
      titles.add(file && line.includes('❌') ? `${file} › ${mark[1]}` : mark[1]);
  }
  return [...titles].slice(0, 20);
}

// Strip ANSI colour codes before reading a runner's summary.
// eslint-disable-next-line no-control-regex -- ESC starts every ANSI code
const plain = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');

let passed = 0;
let failed = 0;
let exitCode = 0;
// What failed, by step and test title, repeated at the end: a long log's tail is often all a reader gets.
const failures = [];
const timings = [];
const started = Date.now();
const only = process.argv.slice(2);
for (const step of steps) {
  // A name picks a step ("size") or a family ("browser"); opt-in steps run only when named in full ("browser webkit").
  const picked = only.includes(step.name) || (!step.optIn && only.includes(step.name.split(' ')[0]));
  if (only.length ? !picked : step.optIn) continue;
  const t0 = Date.now();
  console.log(`\n=== ${step.name} ===`);
  step.before?.();
  const { code, out } = await run(step);
  const text = plain(out);
  if (step.counts === 'node') {
    passed += Number(/ℹ pass (\d+)/.exec(text)?.[1] ?? 0);
    failed += Number(/ℹ fail (\d+)/.exec(text)?.[1] ?? 0);
  } else if (step.counts === 'wtr') {
    const m = [...text.matchAll(/(\d+) passed, (\d+) failed/g)].pop();
    if (m) {
      passed += Number(m[1]);
      failed += Number(m[2]);
    }
  } else {
    code === 0 ? passed++ : failed++;
  }
  if (code !== 0) {
    exitCode = 1;
    console.error(`\n${step.name} failed (exit ${code})`);
    const titles = failedTitles(text);
    failures.push(...(titles.length ? titles.map((t) => `${step.name}: ${t}`) : [`${step.name}: exit ${code}`]));
  }
  timings.push(`${step.name} ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
console.log(`\ntimes: ${timings.join(', ')}; total ${((Date.now() - started) / 1000).toFixed(0)} s`);
// SYNCLINE_TOTALS names a file that carries the counts across runs (.ci/run: npm test, then WebKit), so the
// closing line is the total over every suite so far.
if (process.env.SYNCLINE_TOTALS) {
  const before = existsSync(process.env.SYNCLINE_TOTALS)
    ? JSON.parse(readFileSync(process.env.SYNCLINE_TOTALS, 'utf8') || '{}')
    : {};
  passed += before.passed ?? 0;
  failed += before.failed ?? 0;
  failures.unshift(...(before.failures ?? []));
  writeFileSync(process.env.SYNCLINE_TOTALS, JSON.stringify({ passed, failed, failures }));
}
if (failures.length) console.log(`\nfailed:\n${failures.map((f) => `  ${f}`).join('\n')}`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(exitCode || (failed > 0 ? 1 : 0));
