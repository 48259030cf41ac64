// Serves chosen test modules bundled by esbuild: React ships CommonJS only and React and Vue read
// process.env.NODE_ENV, so the framework interop test gets them as one browser-ready ES module.
import { build } from 'esbuild';

/** @param {string[]} paths served paths (e.g. "/test/support/frameworks.ts") to bundle */
export function bundledModules(paths) {
  const cache = new Map();
  return {
    name: 'syncline-bundled-modules',
    async serve(context) {
      if (!paths.includes(context.path)) return undefined;
      if (!cache.has(context.path)) {
        const result = await build({
          entryPoints: [`.${context.path}`],
          bundle: true,
          format: 'esm',
          target: 'es2022',
          write: false,
          logLevel: 'silent',
          define: {
            'process.env.NODE_ENV': '"development"',
            __VUE_OPTIONS_API__: 'true',
            __VUE_PROD_DEVTOOLS__: 'false',
            __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
          },
        });
        cache.set(context.path, result.outputFiles[0].text);
      }
      return { body: cache.get(context.path), type: 'js' };
    },
  };
}
