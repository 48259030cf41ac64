// Launcher for `npm run bench`: runs the TypeScript benchmark runner (bench/runner.ts) under tsx and passes on its exit code.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const runner = fileURLToPath(new URL('./runner.ts', import.meta.url));
const child = spawn(process.execPath, ['--import', 'tsx', runner, ...process.argv.slice(2)], {
  stdio: 'inherit',
  cwd: fileURLToPath(new URL('..', import.meta.url)),
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
