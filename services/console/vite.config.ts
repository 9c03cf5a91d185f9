import { defineConfig } from 'vite';

// The console is served by the api at /console under a CSP without 'unsafe-inline': no module-preload
// polyfill (an inline script), CSS in files, and JSX compiled for Preact by esbuild (no plugin needed).
export default defineConfig({
  base: '/console/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
