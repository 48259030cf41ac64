// React and Vue for the interop test, bundled into one module by test/support/bundle-plugin.mjs.
export { createElement } from 'react';
export { flushSync } from 'react-dom';
export { createRoot, type Root } from 'react-dom/client';
export { createApp, h, type App } from 'vue';
