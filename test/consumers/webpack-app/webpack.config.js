// webpack 5 defaults: no loader, no plugin. webpack follows `new SharedWorker(new URL(...), ...)` itself.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export default {
  mode: 'production',
  entry: './src/index.js',
  output: { path: resolve(here, 'dist'), clean: true },
  devtool: 'source-map',
};
