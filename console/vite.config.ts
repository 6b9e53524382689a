/**
 * Vite config of the ops console (React + antd). Built by console/build.mjs into build/console, which the
 * server serves at /console (core/server/console/static.ts). Hashed file names under assets/ are what lets the
 * server cache them for a year.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/console/',
  plugins: [react()],
  // The dev server proxies the API to a running `meterhub serve` (npm start): `npx vite console`.
  server: { proxy: { '/v1': 'http://127.0.0.1:8080' } },
  build: {
    outDir: fileURLToPath(new URL('../build/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // No inline script may be emitted: the console's CSP is script-src 'self'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2000,
    sourcemap: false,
    // Libraries change less often than the console: separate chunks stay cached across console releases.
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            { name: 'react', test: /node_modules[\\/](react|react-dom|scheduler)[\\/]/, priority: 3 },
            { name: 'echarts', test: /node_modules[\\/](echarts|zrender|echarts-for-react)[\\/]/, priority: 2 },
            {
              name: 'antd',
              test: /node_modules[\\/](antd|@ant-design|@rc-component|rc-[a-z-]+|dayjs)[\\/]/,
              priority: 1,
            },
          ],
        },
      },
    },
  },
});
