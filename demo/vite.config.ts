// Dev server for the demo: Vite serves the page, the reference sync server is mounted at /api in the same process.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { synclineServer } from '../server/vite-plugin.ts';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  plugins: [react(), synclineServer({ dbFile: fileURLToPath(new URL('../data/demo.sqlite', import.meta.url)) })],
  server: {
    host: '127.0.0.1',
    port: Number(process.env.PORT ?? 5173),
    // The demo imports the library straight from ../src and ../components.
    fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] },
  },
});
