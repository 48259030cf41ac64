// Builds the package into dist/: compiled modules with types and source maps for bundlers, and a self-contained bundle for pages with no build.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { generateJsxTypes } from 'custom-element-jsx-integration';
import { generateVsCodeCustomElementData } from 'custom-element-vs-code-integration';
import { generateVuejsTypes } from 'custom-element-vuejs-integration';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const dist = join(root, 'dist');

/**
 * The no-build bundle: the client API, the strings and events of the elements, and autoload() watching the
 * document, so each tag's code (and Lit) loads the first time the page uses the tag. The element classes are not
 * exported here (that would load them all up front): `customElements.get(tag)` gives each once it is defined.
 */
const PAGE_EXPORTS = [
  ['*', 'src/index.js'],
  ['{ autoload }', 'components/autoload.js'],
  ['*', 'components/events.js'],
  ['{ defaultStrings, layerStrings, resolveStrings }', 'components/strings.js'],
  ['{ langOf, registerStrings, stringsFor }', 'components/localize.js'],
  ['{ plural, timeAgo, timeUntil }', 'components/intl.js'],
];
/** The type-only exports beside them, for the bundle's types. */
const PAGE_TYPE_EXPORTS = [
  ['{ SynclineStrings }', 'components/strings.js'],
  ['{ PluralForms }', 'components/intl.js'],
];
const exportLines = (list, from, type = '') =>
  list.map(([names, path]) => `export ${type}${names} from '${from}${path}';\n`);
/** The bundle's entry (beside src/ and components/ in dist/), which also starts the watch of the document. */
const PAGE_ENTRY = `${exportLines(PAGE_EXPORTS, './').join('')}import { autoload } from './components/autoload.js';
autoload();
`;
/** The string tables shipped beside the English defaults (components/locales/*.ts). */
const LOCALES = readdirSync(join(root, 'components/locales'))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .map((f) => f.slice(0, -'.ts'.length));
/** Its types (in dist/bundle/). */
const PAGE_TYPES = [...exportLines(PAGE_EXPORTS, '../'), ...exportLines(PAGE_TYPE_EXPORTS, '../', 'type ')].join('');

/**
 * esbuild options shared by the build and the size check, so the budget measures exactly what ships.
 * rxjs resolves through its ES2015 build (its default export condition is an ES5 build, larger and slower).
 */
export const bundleOptions = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  conditions: ['es2015'],
  minify: true,
  sourcemap: 'linked',
  // License texts of Lit and friends go to a file beside the bundle instead of into every page load.
  legalComments: 'linked',
  logLevel: 'warning',
};

/**
 * Bundles the page and the worker (each split at dynamic imports, so lazily loaded parts stay lazy) from the
 * compiled modules in dist/.
 */
export async function bundle({ write = true, metafile = false } = {}) {
  // Written inside dist/ (and removed after) so the source maps name it by a stable relative path.
  const entry = join(dist, 'syncline-entry.js');
  writeFileSync(entry, PAGE_ENTRY);
  try {
    const outdir = join(dist, 'bundle');
    const page = await build({
      ...bundleOptions,
      write,
      metafile,
      outdir,
      splitting: true,
      // Each locale is an entry of its own (bundle/locales/de.js), sharing the bundle's chunk of the string registry:
      // a page with no build imports it beside the bundle, and its table lands in the registry the elements read.
      entryPoints: [
        { in: entry, out: 'syncline' },
        ...LOCALES.map((lang) => ({ in: join(dist, `components/locales/${lang}.js`), out: `locales/${lang}` })),
      ],
      chunkNames: '[name]-[hash]',
    });
    // The client's default worker URL is './worker.js' beside the module that creates it: here, beside the bundle.
    // Split like the page: Background Sync's code loads when the first collection exists. Every file is named
    // worker*.js, so an app serving the worker from its own origin copies that one pattern.
    const worker = await build({
      ...bundleOptions,
      write,
      metafile,
      outdir,
      splitting: true,
      entryPoints: [{ in: join(dist, 'src/worker.js'), out: 'worker' }],
      chunkNames: 'worker-[name]-[hash]',
    });
    return { page, worker };
  } finally {
    rmSync(entry, { force: true });
  }
}

function* jsFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* jsFiles(path);
    else if (entry.name.endsWith('.js')) yield path;
  }
}

/**
 * tsc rewrites `.ts` import specifiers but not the worker URL in `new URL('./worker.ts', import.meta.url)`,
 * which bundlers follow to emit the worker: point those at the compiled `.js` (same length, so source maps hold).
 */
function rewriteWorkerUrls() {
  const pattern = /new URL\((['"])(\.{1,2}\/[^'"]+)\.ts\1,\s*import\.meta\.url\)/g;
  let rewritten = 0;
  for (const file of jsFiles(dist)) {
    const text = readFileSync(file, 'utf8');
    const next = text.replace(pattern, (_m, q, path) => {
      rewritten++;
      return `new URL(${q}${path}.js${q}, import.meta.url)`;
    });
    if (next !== text) writeFileSync(file, next);
    // Anything still naming a .ts module would 404 in a consumer's app: fail the build rather than ship it.
    const left = /(['"])\.{1,2}\/[^'"\s]+\.ts\1/.exec(next);
    if (left) throw new Error(`${file} still refers to ${left[0]}`);
  }
  if (rewritten === 0)
    throw new Error('found no worker URL to rewrite: has the SharedWorker line in src/client.ts changed?');
}

/** Vue's names: `heading-level` → `headingLevel`, and the handler key of an event (`sync-now` → `onSyncNow`). */
const camelize = (name) => name.replace(/-(\w)/g, (_m, c) => c.toUpperCase());
const handlerKey = (event) => `on${camelize(event).replace(/^\w/, (c) => c.toUpperCase())}`;

/**
 * vue-tsc looks a template's `:heading-level` and `@sync-now` up as the props `headingLevel` and `onSyncNow` (what
 * Vue's compiler turns them into); the generator keys them `"heading-level"` and `"onsync-now"`, which match nothing,
 * so a wrong value passed and a handler's parameter was implicitly `any`. Rekeys them the way Vue does.
 */
function vueKeys(text, elements) {
  const keys = new Map();
  for (const element of elements) {
    for (const { name } of element.attributes ?? []) keys.set(name, camelize(name));
    for (const { name } of element.events ?? []) keys.set(`on${name}`, handlerKey(name));
  }
  const next = text.replace(/"([^"]+)"\?:/g, (whole, key) => (keys.has(key) ? `${keys.get(key)}?:` : whole));
  // A key still quoted is one this did not rename (a new generator's output?): it would be unusable in templates.
  const left = /"([^"]+)"\?:/.exec(next);
  if (left) throw new Error(`dist/types/vue.d.ts: no Vue name for the prop ${left[0]}`);
  return next;
}

/**
 * React 19's JSX for syncline's tags: each tag's own attributes, properties and `onsync-*` events (jsx.d.ts), over
 * React's props for an HTML element of its class (onClick, role, aria-*, className, style, children), with a `ref`
 * typed for that class. The generic JSX typings type `ref` as unknown and know no React prop.
 */
function reactTypes(elements) {
  const list = (names) => `{\n${names.map((n) => `  ${n},\n`).join('')}}`;
  const names = elements.map((e) => e.name);
  return `// React 19: syncline's elements in JSX, with React's props for an element of each one's class. Load once, e.g. \`import type {} from 'syncline/react';\`
import type { HTMLAttributes, RefAttributes } from 'react';
import type ${list(names)} from '../components/index.js';
import type ${list(names.map((n) => `${n}Props`))} from './jsx.js';

/**
 * A tag's props: its own (which win where a name is in both) over React's HTML attributes and handlers for its
 * element class, \`ref\` and \`key\`.
 */
export type ReactElementProps<E extends HTMLElement, Own> = Partial<Own> &
  Omit<HTMLAttributes<E>, keyof Own> &
  RefAttributes<E> & {
    /** The part names of the element, for \`::part()\` from outside the shadow tree that holds it. */
    part?: string;
    /** Part names of the element's shadow tree exposed on the element, for \`::part()\` from further out. */
    exportparts?: string;
  };

export type SynclineIntrinsicElements = {
${elements.map((e) => `  '${e.tagName}': ReactElementProps<${e.name}, ${e.name}Props>;`).join('\n')}
};

declare module 'react' {
  namespace JSX {
    interface IntrinsicElements extends SynclineIntrinsicElements {}
  }
}
`;
}

/**
 * Framework typings and editor data, generated from custom-elements.json by the cem-tools generators:
 * dist/types/jsx.d.ts (any JSX), react.d.ts (React's JSX.IntrinsicElements), vue.d.ts (Vue's GlobalComponents)
 * and the VS Code custom data files.
 */
function generateFrameworkTypes() {
  const manifest = JSON.parse(readFileSync(join(root, 'custom-elements.json'), 'utf8'));
  const elements = manifest.modules.flatMap((m) => m.declarations ?? []).filter((d) => d.customElement && d.tagName);
  const outdir = join(dist, 'types');
  // One module exports every element class and event class, so the typings import from it.
  const common = { outdir, globalTypePath: '../components/index.js', hideLogs: true };
  // Read-only members (getters: a badge's count, a resolver's conflicts) are what an element shows, not what a page
  // sets: offered as props, React 19 assigns them and the whole tree fails ("has only a getter").
  const settable = structuredClone(manifest);
  for (const element of settable.modules.flatMap((m) => m.declarations ?? []))
    if (element.members) element.members = element.members.filter((member) => !member.readonly);
  generateJsxTypes(settable, { ...common, fileName: 'jsx.d.ts' });
  generateVuejsTypes(settable, { ...common, fileName: 'vue.d.ts' });
  generateVsCodeCustomElementData(manifest, {
    outdir: dist,
    htmlFileName: 'vscode.html-custom-data.json',
    cssFileName: 'vscode.css-custom-data.json',
    hideLogs: true,
  });
  // The generators type a listener's argument as CustomEvent<T>, the convention for events that carry `detail`.
  // syncline's events are Event subclasses with their own readonly fields: the listener gets T itself.
  const events = [
    ...readFileSync(join(root, 'components/events.ts'), 'utf8').matchAll(/export class (\w+) extends Event\b/g),
  ].map((m) => m[1]);
  for (const file of ['jsx.d.ts', 'vue.d.ts']) {
    const path = join(outdir, file);
    let text = readFileSync(path, 'utf8').replace(/CustomEvent<(\w+)>/g, (whole, type) =>
      events.includes(type) ? type : whole,
    );
    if (file === 'vue.d.ts') text = vueKeys(text, elements);
    writeFileSync(path, text);
  }
  writeFileSync(join(outdir, 'react.d.ts'), reactTypes(elements));
  // The typing entries are types only; an empty module answers a runtime import of them.
  for (const name of ['jsx', 'react', 'vue']) writeFileSync(join(outdir, `${name}.js`), 'export {};\n');
}

export async function buildPackage() {
  rmSync(dist, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')],
    { stdio: 'inherit' },
  );
  rewriteWorkerUrls();
  generateFrameworkTypes();
  await bundle();
  writeFileSync(join(dist, 'bundle/syncline.d.ts'), PAGE_TYPES);
  for (const lang of LOCALES)
    writeFileSync(join(dist, `bundle/locales/${lang}.d.ts`), `export * from '../../components/locales/${lang}.js';\n`);
  // The worker is a script to serve, not a module to import: it exports nothing.
  writeFileSync(join(dist, 'bundle/worker.d.ts'), 'export {};\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildPackage();
  console.log('built dist/');
}
