// Checks the packed tarball as npm would publish it: its file list, publint, and @arethetypeswrong/cli on every export.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

/** Packs the working tree (dist/ must be built) into a temp dir; returns the tarball's path and its file list. */
export function packTarball(dir = mkdtempSync(join(tmpdir(), 'syncline-pack-'))) {
  // --ignore-scripts: the caller has just built; prepack would build a second time.
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    encoding: 'utf8',
  });
  const [info] = JSON.parse(out);
  return { tarball: join(dir, info.filename), files: info.files.map((f) => f.path), dir };
}

const isMain = process.argv[1] && import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const { tarball, files, dir } = packTarball();
  let problems = 0;
  try {
    // What must ship, and what must not (the repo's tests, demo, server and bench are not the package).
    const required = [
      'package.json',
      'LICENSE',
      'README.md',
      'custom-elements.json',
      // The README links to it: what a server must do for the queue's promises.
      'docs/server-contract.md',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/index.js.map',
      'dist/src/worker.js',
      'dist/components/define.js',
      'dist/bundle/syncline.js',
      'dist/bundle/worker.js',
    ];
    for (const f of required)
      if (!files.includes(f)) {
        console.error(`package: ${f} is missing from the tarball`);
        problems++;
      }
    const stray = files.filter(
      (f) =>
        !/^(package\.json|LICENSE|README\.md|custom-elements\.json|docs\/server-contract\.md|dist\/)/.test(f) ||
        /\.test\.|\.ts$(?<!\.d\.ts)/.test(f),
    );
    for (const f of stray) {
      console.error(`package: ${f} should not be in the tarball`);
      problems++;
    }
    console.log(`package: ${files.length} files, ${tarball}`);

    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    // Caret ranges, so an app's own Lit 3 (and rxjs, idb) is shared rather than installed twice.
    for (const [name, range] of Object.entries(pkg.dependencies)) {
      if (!/^\^\d/.test(range)) {
        console.error(`package: dependency ${name} is "${range}", not a caret range`);
        problems++;
      }
    }
    const bytes = readFileSync(tarball);
    // publint takes an ArrayBuffer: exactly the tarball's bytes, whatever memory the Buffer sits in.
    const { messages } = await publint({
      pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) },
      level: 'suggestion',
      strict: true,
    });
    for (const m of messages) {
      console.error(`publint ${m.type}: ${formatMessage(m, pkg)}`);
      problems++;
    }
    if (!messages.length) console.log('publint: no issues');

    // ESM only (as Lit is): the CommonJS resolutions attw would otherwise test do not apply.
    // Its table runs to a screenful: shown only when something is wrong.
    try {
      execFileSync('npx', ['attw', tarball, '--profile', 'esm-only', '--format', 'table-flipped', '--no-color'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      console.log(`attw: no problems in ${Object.keys(pkg.exports).length} entry points`);
    } catch (error) {
      console.error(`${error.stdout ?? ''}${error.stderr ?? ''}`);
      problems++;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (problems) {
    console.error(`package: ${problems} problem(s)`);
    process.exit(1);
  }
}
