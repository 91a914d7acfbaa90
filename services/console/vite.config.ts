import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Production: static files under dist/, served by the API at /console. Development: this dev
// server, which forwards the API's paths to API_URL (default the API of `npm run up`).
const api = process.env.API_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // No inline assets: the Content-Security-Policy allows files of this origin only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    host: '127.0.0.1',
    port: Number(process.env.CONSOLE_PORT ?? 5173),
    strictPort: true,
    proxy: { '/v1': api },
  },
});
