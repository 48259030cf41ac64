// Size budget: gzip size of the page bundle (what a page loads up front) and of the worker, from the built dist/; fails when over.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { bundle } from './build.mjs';

// KB here is 1,000 bytes, gzip level 9: the stricter reading of "25 KB".
const BUDGET = { page: 25_000, worker: 20_000 };
const RESULTS = 'bench/results.json';

if (!existsSync('dist/src/index.js')) {
  console.error('size: dist/ is missing; run `npm run build` first.');
  process.exit(1);
}

const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
const kb = (n) => `${(n / 1000).toFixed(1)} KB`;

/** Output files reachable from the entry through static imports: what the browser fetches before the page runs. */
function staticClosure(meta, entryOut) {
  const seen = new Set();
  const visit = (out) => {
    if (seen.has(out)) return;
    seen.add(out);
    for (const imp of meta.outputs[out].imports) if (imp.kind === 'import-statement' && !imp.external) visit(imp.path);
  };
  visit(entryOut);
  return seen;
}

/** Minified bytes per package (or per folder of ours, or per file with `byFile`) in the given outputs, largest first. */
function contributors(meta, outs, byFile = false) {
  const by = new Map();
  for (const out of outs) {
    for (const [input, { bytesInOutput }] of Object.entries(meta.outputs[out].inputs)) {
      const pkg =
        /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ??
        (byFile ? input.replace(/^.*?dist\//, '') : input.replace(/^.*?dist\/((?:src|components)\/[^/]+).*$/, '$1'));
      by.set(pkg, (by.get(pkg) ?? 0) + bytesInOutput);
    }
  }
  return [...by].sort((a, b) => b[1] - a[1]).filter(([, n]) => n > 0);
}

const { page, worker } = await bundle({ write: false, metafile: true });
const files = (result) =>
  new Map(
    result.outputFiles.filter((f) => f.path.endsWith('.js')).map((f) => [relative(process.cwd(), f.path), f.contents]),
  );

const pageFiles = files(page);
const pageMeta = page.metafile;
const entryOut = Object.keys(pageMeta.outputs).find(
  (o) => pageMeta.outputs[o].entryPoint && basename(o) === 'syncline.js',
);
const upFront = staticClosure(pageMeta, entryOut);
/** Gzip and minified bytes of some output files. */
const measure = (contents, outs) => ({
  gzip: [...outs].reduce((n, o) => n + gz(contents.get(o)), 0),
  minified: [...outs].reduce((n, o) => n + contents.get(o).length, 0),
});
const lazy = Object.keys(pageMeta.outputs).filter((o) => o.endsWith('.js') && !upFront.has(o));
// A page that uses all six tags: the up-front files and every tag's chunk with what it imports (not the engine,
// which loads only in a tab that runs it, nor the virtualizer, which loads only for long outboxes).
const everyTag = new Set(upFront);
for (const out of Object.keys(pageMeta.outputs))
  if (/components\/[^/]+\/define\.js$/.test(pageMeta.outputs[out].entryPoint ?? ''))
    for (const file of staticClosure(pageMeta, out)) everyTag.add(file);
// The worker as a tab starts it (its entry and what that imports); then what its engine loads as it opens (the
// queue's commands and drain), and what loads with the first collection (Background Sync), each with the files it
// imports that are not loaded already.
const workerFiles = files(worker);
const workerMeta = worker.metafile;
const workerOutput = (test) => Object.keys(workerMeta.outputs).find((o) => test(o, workerMeta.outputs[o]));
const workerEntry = workerOutput((o, meta) => meta.entryPoint && basename(o) === 'worker.js');
const workerUpFront = staticClosure(workerMeta, workerEntry);
/** A lazily loaded module's chunk with what it imports, less the files in `loaded`. */
const lazyPart = (module, loaded) => {
  const out = workerOutput((_o, meta) => meta.entryPoint?.endsWith(`src/engine/${module}.js`));
  if (!out) throw new Error(`size: no chunk of its own for src/engine/${module}.ts in the worker build`);
  return [...staticClosure(workerMeta, out)].filter((o) => !loaded.has(o));
};
const workerAtOpen = lazyPart('queue', workerUpFront);
const workerCollections = lazyPart('background', new Set([...workerUpFront, ...workerAtOpen]));

const size = {
  measuredAt: new Date().toISOString(),
  unit: 'bytes, gzip -9',
  page: { ...measure(pageFiles, upFront), budget: BUDGET.page },
  pageLazy: { gzip: measure(pageFiles, lazy).gzip, files: lazy.length },
  pageEveryTag: { gzip: measure(pageFiles, everyTag).gzip, files: everyTag.size },
  worker: { ...measure(workerFiles, workerUpFront), files: workerUpFront.size, budget: BUDGET.worker },
  workerAtOpen: { gzip: measure(workerFiles, workerAtOpen).gzip, files: workerAtOpen.length },
  workerCollections: { gzip: measure(workerFiles, workerCollections).gzip, files: workerCollections.length },
  pageContributors: Object.fromEntries(contributors(pageMeta, upFront)),
  workerContributors: Object.fromEntries(contributors(workerMeta, workerUpFront, true)),
};

const line = (name, s) =>
  `${name.padEnd(8)} ${kb(s.gzip).padStart(9)} gzip  (${kb(s.minified)} minified)  budget ${kb(s.budget)}  ${s.gzip <= s.budget ? 'ok' : 'OVER'}`;
console.log(line('page', size.page));
console.log(line('worker', size.worker));
console.log(`lazy     ${kb(size.pageLazy.gzip).padStart(9)} gzip in ${size.pageLazy.files} chunk(s) loaded on demand`);
console.log(
  `worker+  ${kb(size.workerAtOpen.gzip).padStart(9)} gzip in ${size.workerAtOpen.files} file(s) the worker loads as its engine opens (the queue)`,
);
console.log(
  `worker++ ${kb(size.workerCollections.gzip).padStart(9)} gzip in ${size.workerCollections.files} file(s) the worker loads with the first collection`,
);
console.log(
  `all tags ${kb(size.pageEveryTag.gzip).padStart(9)} gzip in ${size.pageEveryTag.files} file(s): a page using all six tags`,
);
console.log('page bundle by source (minified bytes):');
for (const [name, bytes] of Object.entries(size.pageContributors).slice(0, 10))
  console.log(`  ${name.padEnd(28)} ${kb(bytes).padStart(9)}`);
console.log('worker as a tab starts it, by source (minified bytes):');
for (const [name, bytes] of Object.entries(size.workerContributors).slice(0, 10))
  console.log(`  ${name.padEnd(28)} ${kb(bytes).padStart(9)}`);

// Keep the figures beside the benchmark's (the file is the bench's record; other keys stay as they are).
const results = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, 'utf8')) : {};
results.size = size;
writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);

// `--only page` (or `--only worker`) checks one budget; both by default, as npm test does.
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const over = ['page', 'worker'].filter((k) => (!only || k === only) && size[k].gzip > size[k].budget);
if (over.length) {
  console.error(`size: over budget: ${over.join(', ')}`);
  process.exit(1);
}
