#!/usr/bin/env node
/**
 * The Windows path, proven under wine64 (CI: .ci/run; by hand: docs/deploy/station-windows.md §7).
 * Runs the Windows x64 Node (win32-x64) on the stand-ins cross-built as Windows DLLs:
 *   1. the driver host from its TypeScript source under Node 22's type stripping (no tsx, no bundle);
 *   2. `meterhub conformance` on the kingcard stand-in DLL with every bundled peer (the supervisor starts
 *      node.exe driver hosts from the bundle; Windows paths throughout);
 *   3. METERHUB_PLUGIN_PATH with two folders separated by `;`, `plugins enable` (plugins.json written by
 *      temp file + rename on Windows) and `plugins list` with a driver started from the path's DLL.
 * Under wine, Node's stdout to a Linux pipe fails with EBADF: every step writes to a file, read here.
 * 32-bit cannot run on these machines (the kernel has no 32-bit emulation): win32-ia32 is proven by
 * inspection only. Exit 1 on any failure, with the step, its files and what was expected.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, openSync, closeSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT = join(ROOT, 'build', 'wine-job');
const NODE_EXE = join(ROOT, 'build', 'win32-x64', 'node', 'node.exe');
const WINE = process.env.WINE ?? ['/usr/bin/wine64', '/usr/bin/wine', '/usr/lib/wine/wine64'].find(existsSync);
const STEP_TIMEOUT_MS = 240_000;

/** Z:\ is wine's view of the Linux root. */
const win = (p) => `Z:${p.split('/').join('\\')}`;
const winUrl = (p) => `file:///Z:${p}`;
const MARK = '\u001eMH1 ';
/**
 * The CLI without tsx: tsx needs esbuild's Windows binary, a Go program that wine 8 cannot start
 * (bcryptprimitives.dll missing). Node 22 transforms the TypeScript itself; driver hosts run the bundle.
 */
const CLI = ['--experimental-transform-types', 'scripts\\wine\\meterhub.mjs'];

const env = {
  ...process.env,
  WINEPREFIX: join(ROOT, 'build', 'wine-prefix'),
  WINEDEBUG: '-all',
  WINEDLLOVERRIDES: 'mscoree,mshtml=',
  NODE_OPTIONS: `--import=${winUrl(join(ROOT, 'scripts', 'wine', 'win32-modules.mjs'))}`,
  METERHUB_PLUGIN_PATH: '',
  CI: 'true',
};

const failures = [];
function check(step, ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'}  [${step}] ${what}`);
  if (!ok) failures.push(`${step}: ${what}`);
}

/** Runs node.exe under wine with stdin from a file (or nothing) and stdout/stderr to files. */
function runWinNode(step, args, { stdin, extraEnv = {} } = {}) {
  const out = join(OUT, `${step}.out`);
  const err = join(OUT, `${step}.err`);
  const fds = [stdin ? openSync(stdin, 'r') : 'ignore', openSync(out, 'w'), openSync(err, 'w')];
  const started = Date.now();
  const r = spawnSync(WINE, [NODE_EXE, ...args], { cwd: ROOT, env: { ...env, ...extraEnv }, stdio: fds, timeout: STEP_TIMEOUT_MS });
  for (const fd of fds) if (typeof fd === 'number') closeSync(fd);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`      [${step}] node.exe ${args.join(' ')} → exit ${r.status ?? r.signal} in ${seconds} s (${out})`);
  return { status: r.status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
}

function frames(text) {
  return text.split(/\r?\n/).filter((l) => l.includes(MARK)).map((l) => JSON.parse(l.slice(l.indexOf(MARK) + MARK.length)));
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
if (!WINE || !existsSync(NODE_EXE)) {
  console.error(`wine64 or ${NODE_EXE} missing: run scripts/wine/setup.sh first`);
  process.exit(1);
}
const KINGCARD = join(ROOT, 'plugins', 'kingcard', 'lib', 'win32-x64', 'goldcard.dll');

// 1. The driver host straight from TypeScript: Node 22 strips the types itself.
{
  const step = 'host-strip-types';
  const requests = join(OUT, `${step}.in`);
  writeFileSync(requests, [
    { id: 1, method: '$load', params: { path: win(KINGCARD) } },
    { id: 2, method: 'WriteNew4442Card', params: { kh: '1234567890', ql: 25, cs: 1, klx: 1 } },
    { id: 3, method: 'GasCardErrorText', params: { code: -9 } },
  ].map((f) => JSON.stringify(f)).join('\n') + '\n');
  const r = runWinNode(step, [join('core', 'driver', 'host', 'main.ts').split('/').join('\\')], { stdin: requests });
  const f = frames(r.stdout);
  check(step, r.status === 0, `exit 0 (stderr: ${r.stderr.trim().split('\n').slice(-2).join(' | ')})`);
  check(step, f[0]?.event === 'ready' && f[0].platform === 'win32' && f[0].arch === 'x64' && /^node v22\./.test(f[0].runtime),
    `ready from win32-x64 Node 22: ${JSON.stringify(f[0])}`);
  check(step, Array.isArray(f[1]?.result?.functions) && f[1].result.functions.includes('WriteNew4442Card'), 'loaded goldcard.dll (Windows path) through koffi');
  check(step, f[2]?.result?.rc === 0 && /^[0-9A-F]+$/.test(f[2].result.data ?? ''), 'WriteNew4442Card computed a card image');
  check(step, f[3]?.result?.rc === 0 && typeof f[3].result.out === 'string', 'GasCardErrorText answered');
}

// 2. meterhub conformance with the peers, under the Windows Node.
{
  const step = 'conformance';
  const r = runWinNode(step, [...CLI, 'conformance', '--lib', win(KINGCARD), '--json', '--timeout', '20000']);
  let report;
  try { report = JSON.parse(r.stdout); } catch { report = undefined; }
  check(step, r.status === 0 && report?.passed === true, `exit 0 and passed (stderr: ${r.stderr.trim().split('\n').slice(-3).join(' | ')})`);
  const failed = report?.checks?.filter((c) => c.status !== 'pass') ?? [];
  check(step, report !== undefined && failed.length === 0, `every check passes${failed.length ? `: ${JSON.stringify(failed.slice(0, 3))}` : ''}`);
  const peers = (report?.checks ?? []).filter((c) => c.id.includes('.check.other.')).map((c) => c.id).sort();
  const want = ['102.check.other.songchuan', '102.check.other.zenner', '4442.check.other.chint', '4442.check.other.lanbaoshi', '4442.check.other.songchuan'];
  check(step, JSON.stringify(peers) === JSON.stringify(want), `every peer checked: ${peers.join(', ')}`);
  check(step, (report?.checks ?? []).length > 50, `${report?.checks?.length ?? 0} checks ran`);
}

// 3. Two plugin folders in METERHUB_PLUGIN_PATH, separated by ';'; state written and read back.
{
  const step = 'plugin-path';
  const dirs = ['plugins a', 'plugins-b'].map((d) => join(OUT, d));
  for (const [i, d] of dirs.entries()) {
    const id = `wine${'ab'[i]}`;
    mkdirSync(join(d, id), { recursive: true });
    writeFileSync(join(d, id, 'meterhub-plugin.json'), JSON.stringify({
      id, name: { 'zh-CN': id, en: id }, cardTypes: ['4442'], standIn: true,
      library: { 'win32-x64': win(KINGCARD) }, catalogues: { returnCodes: [], toolCards: [] },
    }));
  }
  const extraEnv = { METERHUB_PLUGIN_PATH: dirs.map(win).join(';') };
  const data = win(join(OUT, 'data'));
  const en = runWinNode(`${step}-enable`, [...CLI, 'plugins', 'enable', 'wineb', '--data', data], { extraEnv });
  check(step, en.status === 0, `plugins enable wineb (stderr: ${en.stderr.trim().split('\n').slice(-2).join(' | ')})`);
  const r = runWinNode(`${step}-list`, [...CLI, 'plugins', 'list', '--json', '--data', data], { extraEnv });
  let list;
  try { list = JSON.parse(r.stdout).plugins; } catch { list = undefined; }
  const a = list?.find((p) => p.id === 'winea');
  const b = list?.find((p) => p.id === 'wineb');
  check(step, r.status === 0 && !!a && !!b, `both folders of "a;b" were searched (${(list ?? []).map((p) => p.id).join(', ')})`);
  check(step, b?.enabled === true && a?.enabled === false, 'plugins.json written on Windows (temp file + rename) and read back');
  check(step, b?.libraryFound === true && b?.driver?.state === 'ready', `driver started from the path's DLL: ${JSON.stringify(b?.driver ?? null)}`);
}

if (failures.length) {
  console.error(`\nwine job: ${failures.length} check(s) failed; outputs in ${OUT}`);
  process.exit(1);
}
console.log('\nwine job: every check passed (win32-x64 under wine64)');
