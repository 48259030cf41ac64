// Type-checks the TypeScript consumers in an app folder where the tarball is installed: TSX with tsc, the Vue SFC with vue-tsc.
import { execFileSync } from 'node:child_process';

/**
 * Throws with the compiler's output when any consumer has a type error (skipLibCheck is off: syncline's .d.ts
 * count too). The plain `syncline/define` and `syncline/autoload` files are checked each in a program of its own:
 * a global augmentation reached by any other import would hide one that those entries fail to bring in.
 */
export function typeConsumers(dir) {
  const failures = [];
  for (const [tool, config] of [
    ['tsc', 'tsconfig.react.json'],
    ['vue-tsc', 'tsconfig.vue.json'],
    ['tsc', 'tsconfig.define.json'],
    ['tsc', 'tsconfig.autoload.json'],
  ]) {
    try {
      execFileSync('npx', [tool, '-p', config], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      failures.push(`${tool} -p ${config} failed:\n${error.stdout}${error.stderr}`);
    }
  }
  if (failures.length) throw new Error(failures.join('\n'));
}
