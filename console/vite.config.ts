import { defineConfig } from 'vite';

// The console is served by `cloudpact serve` at `/`, and may be put behind a prefix by a
// reverse proxy, so every asset URL is relative. During development `npm run dev` proxies
// the API to a running server (CLOUDPACT_URL, default http://127.0.0.1:8080).
const api = process.env.CLOUDPACT_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    target: 'es2022',
    // One origin, no CDN: every asset is bundled and served by cloudpact itself.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    proxy: {
      '/v1': { target: api, changeOrigin: false },
      '/ledger': { target: api, changeOrigin: false },
    },
  },
});
