// Fails when custom-elements.json is not what the analyzer makes of components/ now (a stale manifest).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const outdir = mkdtempSync(join(tmpdir(), 'syncline-cem-'));
execFileSync('npx', ['cem', 'analyze', '--litelement', '--globs', 'components/**/*.ts', '--exclude', 'components/**/*.test.ts', '--outdir', outdir], { stdio: 'inherit' });
const fresh = readFileSync(join(outdir, 'custom-elements.json'), 'utf8');
const current = existsSync('custom-elements.json') ? readFileSync('custom-elements.json', 'utf8') : '';
if (fresh.trim() !== current.trim()) {
  console.error('custom-elements.json is stale: run `npm run analyze` and commit the result.');
  process.exit(1);
}
console.log('custom-elements.json is up to date.');
