#!/usr/bin/env node
/**
 * Builds the ops console (console/) with Vite into build/console, which `meterhub serve` serves at /console.
 *
 *   node console/build.mjs             build (fails loudly on any error)
 *   node console/build.mjs --if-stale  build only when a source is newer than the last build (npm test)
 *   node console/build.mjs --if-deps   as --if-stale, but when the build tools are not installed
 *                                      (npm install --omit=dev) say so plainly and exit 0 (postinstall)
 *
 * After the build, every text asset gets a .gz sibling that the server sends to gzip-capable browsers.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const out = join(root, 'build', 'console');
const stamp = join(out, '.build-stamp');
const args = new Set(process.argv.slice(2));
const ifDeps = args.has('--if-deps');
const ifStale = ifDeps || args.has('--if-stale');

function newestMtime(paths) {
  let newest = 0;
  const walk = (p) => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else newest = Math.max(newest, st.mtimeMs);
  };
  for (const p of paths) walk(p);
  return newest;
}

// The console also bundles core/wire (the state machine table, shared patterns and types): a change there rebuilds it.
const inputs = [
  join(here, 'src'),
  join(here, 'public'),
  join(here, 'index.html'),
  join(here, 'vite.config.ts'),
  join(here, 'build.mjs'),
  join(root, 'package-lock.json'),
  join(root, 'core', 'wire'),
];

const upToDate = () =>
  existsSync(stamp) && existsSync(join(out, 'index.html')) && statSync(stamp).mtimeMs >= newestMtime(inputs);

// One build at a time (test files run in parallel and each makes sure the console is built): the others
// wait for it and then find the build up to date. A lock older than five minutes is a crashed build's.
const lock = join(root, 'build', '.console-build.lock');
mkdirSync(dirname(lock), { recursive: true });
for (let waited = 0; ; waited += 200) {
  try {
    closeSync(openSync(lock, 'wx'));
    break;
  } catch (e) {
    if (e.code !== 'EEXIST') throw e;
    try {
      if (Date.now() - statSync(lock).mtimeMs > 5 * 60_000) rmSync(lock, { force: true });
    } catch {
      /* removed meanwhile */
    }
    if (waited > 180_000) throw new Error(`console: another build holds ${lock}`, { cause: e });
    await new Promise((r) => setTimeout(r, 200));
  }
}
process.on('exit', () => rmSync(lock, { force: true }));

if (ifStale && upToDate()) {
  console.log('console: build/console is up to date / 运维控制台已是最新构建');
  process.exit(0);
}

// Looked up on disk rather than resolved: some of these packages do not export their package.json.
const missing = [
  'vite',
  '@vitejs/plugin-react',
  'react',
  'react-dom',
  'antd',
  '@ant-design/icons',
  'echarts',
  'echarts-for-react',
].filter((m) => !existsSync(join(root, 'node_modules', m, 'package.json')));
if (missing.length) {
  const text = `console: not built, missing ${missing.join(', ')} (install dev dependencies: npm install) / 运维控制台未构建：缺少 ${missing.join('、')}`;
  if (ifDeps) {
    console.warn(text);
    process.exit(0);
  }
  console.error(text);
  process.exit(1);
}

const { build } = await import('vite');
const started = Date.now();
await build({ configFile: join(here, 'vite.config.ts'), logLevel: 'warn' });

let files = 0;
let raw = 0;
let packed = 0;
const compress = (dir) => {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    const st = statSync(p);
    if (st.isDirectory()) compress(p);
    else if (/\.(js|mjs|css|html|svg|json|txt)$/.test(e)) {
      const body = readFileSync(p);
      const gz = gzipSync(body, { level: 9 });
      // Tiny files gain nothing; the server sends the plain file when there is no .gz.
      if (gz.length < body.length * 0.9) {
        writeFileSync(p + '.gz', gz);
        files++;
        raw += body.length;
        packed += gz.length;
      }
    }
  }
};
compress(out);
writeFileSync(stamp, `${new Date().toISOString()}\n`);
console.log(
  `console: built ${relative(root, out)} in ${Date.now() - started} ms (${files} files gzipped, ${(raw / 1024).toFixed(0)} KiB -> ${(packed / 1024).toFixed(0)} KiB)`,
);
