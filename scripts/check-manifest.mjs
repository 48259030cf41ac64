// Fails when custom-elements.json is not what the analyzer makes of components/ now (a stale manifest).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const outdir = mkdtempSync(join(tmpdir(), 'syncline-cem-'));
// The analyzer also rewrites package.json's "customElements" to its outdir: keep package.json as it was.
const packageJson = readFileSync('package.json', 'utf8');
try {
  execFileSync('npx', ['cem', 'analyze', '--litelement', '--globs', 'components/**/*.ts', '--exclude', 'components/**/*.test.ts', '--exclude', 'components/test/**', '--outdir', relative(process.cwd(), outdir)], { stdio: 'inherit' });
} finally {
  writeFileSync('package.json', packageJson);
}
// The analyzer resolves --outdir against the working directory, hence the relative path above.
const fresh = readFileSync(join(outdir, 'custom-elements.json'), 'utf8');
rmSync(outdir, { recursive: true, force: true });
const current = existsSync('custom-elements.json') ? readFileSync('custom-elements.json', 'utf8') : '';
if (fresh.trim() !== current.trim()) {
  console.error('custom-elements.json is stale: run `npm run analyze` and commit the result.');
  process.exit(1);
}
console.log('custom-elements.json is up to date.');
