// Type-checks the TypeScript consumers in an app folder where the tarball is installed: TSX with tsc, the Vue SFC with vue-tsc.
import { execFileSync } from 'node:child_process';

/** Throws with the compiler's output when either consumer has a type error (skipLibCheck is off: syncline's .d.ts count too). */
export function typeConsumers(dir) {
  for (const [tool, config] of [
    ['tsc', 'tsconfig.react.json'],
    ['vue-tsc', 'tsconfig.vue.json'],
  ]) {
    try {
      execFileSync('npx', [tool, '-p', config], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      throw new Error(`${tool} -p ${config} failed:\n${error.stdout}${error.stderr}`, { cause: error });
    }
  }
}
