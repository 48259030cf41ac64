// Generates custom-elements.json from the components' JSDoc (`npm run analyze`), or checks it is current (`--check`).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const MANIFEST = 'custom-elements.json';

/** The analyzer's manifest, with modules in path order (it emits them in an order that varies run to run). */
function generate() {
  const outdir = mkdtempSync(join(tmpdir(), 'syncline-cem-'));
  // The analyzer rewrites package.json's "customElements" to its outdir: keep package.json as it was.
  const packageJson = readFileSync('package.json', 'utf8');
  try {
    execFileSync(
      'npx',
      [
        'cem',
        'analyze',
        '--litelement',
        '--globs',
        'components/**/*.ts',
        '--exclude',
        'components/**/*.test.ts',
        '--exclude',
        'components/test/**',
        // The analyzer resolves --outdir against the working directory.
        '--outdir',
        relative(process.cwd(), outdir),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const manifest = JSON.parse(readFileSync(join(outdir, MANIFEST), 'utf8'));
    manifest.modules.sort((a, b) => a.path.localeCompare(b.path));
    return `${JSON.stringify(manifest, null, 2)}\n`;
  } finally {
    writeFileSync('package.json', packageJson);
    rmSync(outdir, { recursive: true, force: true });
  }
}

const fresh = generate();
if (process.argv.includes('--check')) {
  const current = existsSync(MANIFEST) ? readFileSync(MANIFEST, 'utf8') : '';
  if (fresh !== current) {
    console.error(`${MANIFEST} is stale: run \`npm run analyze\` and commit the result.`);
    process.exit(1);
  }
  console.log(`${MANIFEST} is up to date.`);
} else {
  writeFileSync(MANIFEST, fresh);
  console.log(`wrote ${MANIFEST}`);
}
