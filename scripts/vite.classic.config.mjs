// dist/switchboard.js: the module as one classic script (global `Switchboard`), for pages that
// load their client with <script src>, as Skapi's examples do. Vite's library mode inlines the
// wasm, so this one file is the whole client.
import { defineConfig } from 'vite';

export default defineConfig({
  logLevel: 'warn',
  define: { 'import.meta.url': 'document.currentScript.src' },
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    copyPublicDir: false,
    minify: false,
    rollupOptions: { output: { exports: 'named' } },
    lib: { entry: 'dist/index.js', formats: ['iife'], name: 'Switchboard', fileName: () => 'switchboard.js' },
  },
});
