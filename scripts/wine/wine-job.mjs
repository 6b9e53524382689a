#!/usr/bin/env node
/**
 * The Windows path, proven under wine64 (CI: .ci/run; by hand: docs/deploy/station-windows.md §7).
 * Runs the Windows x64 Node (win32-x64) on the stand-ins cross-built as Windows DLLs:
 *   1. the driver host from its TypeScript source under Node 22's type stripping (no tsx, no bundle);
 *   2. `meterhub conformance` on the kingcard stand-in DLL with every bundled peer (the supervisor starts
 *      node.exe driver hosts from the bundle; Windows paths throughout);
 *   3. METERHUB_PLUGIN_PATH with two folders separated by `;`, `plugins enable` (plugins.json written by
 *      temp file + rename on Windows) and `plugins list` with a driver started from the path's DLL.
 *      Then another Windows process holds plugins.json open while the CLI replaces it: replaced, or a clean
 *      FILE_IN_USE with the old file intact and no temp file left.
 *   4. the station with the mwic stand-in built as a Windows DLL (mwic_64.dll), paired like a real client,
 *      issuing one card against a central server (Linux): CONFIRMED, in the ledger, the card's password changed.
 * Under wine, Node's stdout to a Linux pipe fails with EBADF: every step writes to a file, read here.
 * 32-bit cannot run on these machines (the kernel has no 32-bit emulation): win32-ia32 is proven by
 * inspection only. Exit 1 on any failure, with the step, its files and what was expected.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, openSync, closeSync, existsSync } from 'node:fs';
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
  // win32-modules: koffi's Windows build; wine-keepalive: lets fetch connect under wine (see the file).
  NODE_OPTIONS: ['win32-modules.mjs', 'wine-keepalive.mjs']
    .map((f) => `--import=${winUrl(join(ROOT, 'scripts', 'wine', f))}`)
    .join(' '),
  METERHUB_PLUGIN_PATH: '',
  CI: 'true',
};

const failures = [];
/** WINE_JOB_ONLY=station runs one step (for working on it by hand); CI runs them all. */
const ONLY = process.env.WINE_JOB_ONLY;
const runs = (name) => !ONLY || ONLY === name;
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
  const r = spawnSync(WINE, [NODE_EXE, ...args], {
    cwd: ROOT,
    env: { ...env, ...extraEnv },
    stdio: fds,
    timeout: STEP_TIMEOUT_MS,
  });
  for (const fd of fds) if (typeof fd === 'number') closeSync(fd);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`      [${step}] node.exe ${args.join(' ')} → exit ${r.status ?? r.signal} in ${seconds} s (${out})`);
  return { status: r.status, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
}

function frames(text) {
  return text
    .split(/\r?\n/)
    .filter((l) => l.includes(MARK))
    .map((l) => JSON.parse(l.slice(l.indexOf(MARK) + MARK.length)));
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
if (!WINE || !existsSync(NODE_EXE)) {
  console.error(`wine64 or ${NODE_EXE} missing: run scripts/wine/setup.sh first`);
  process.exit(1);
}
const KINGCARD = join(ROOT, 'plugins', 'kingcard', 'lib', 'win32-x64', 'goldcard.dll');

// 1. The driver host straight from TypeScript: Node 22 strips the types itself.
if (runs('host')) {
  const step = 'host-strip-types';
  const requests = join(OUT, `${step}.in`);
  writeFileSync(
    requests,
    [
      { id: 1, method: '$load', params: { path: win(KINGCARD) } },
      { id: 2, method: 'WriteNew4442Card', params: { kh: '1234567890', ql: 25, cs: 1, klx: 1 } },
      { id: 3, method: 'GasCardErrorText', params: { code: -9 } },
    ]
      .map((f) => JSON.stringify(f))
      .join('\n') + '\n',
  );
  const r = runWinNode(step, [join('core', 'driver', 'host', 'main.ts').split('/').join('\\')], { stdin: requests });
  const f = frames(r.stdout);
  check(step, r.status === 0, `exit 0 (stderr: ${r.stderr.trim().split('\n').slice(-2).join(' | ')})`);
  check(
    step,
    f[0]?.event === 'ready' && f[0].platform === 'win32' && f[0].arch === 'x64' && /^node v22\./.test(f[0].runtime),
    `ready from win32-x64 Node 22: ${JSON.stringify(f[0])}`,
  );
  check(
    step,
    Array.isArray(f[1]?.result?.functions) && f[1].result.functions.includes('WriteNew4442Card'),
    'loaded goldcard.dll (Windows path) through koffi',
  );
  check(
    step,
    f[2]?.result?.rc === 0 && /^[0-9A-F]+$/.test(f[2].result.data ?? ''),
    'WriteNew4442Card computed a card image',
  );
  check(step, f[3]?.result?.rc === 0 && typeof f[3].result.out === 'string', 'GasCardErrorText answered');
}

// 2. meterhub conformance with the peers, under the Windows Node.
if (runs('conformance')) {
  const step = 'conformance';
  const r = runWinNode(step, [...CLI, 'conformance', '--lib', win(KINGCARD), '--json', '--timeout', '20000']);
  let report;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    report = undefined;
  }
  check(
    step,
    r.status === 0 && report?.passed === true,
    `exit 0 and passed (stderr: ${r.stderr.trim().split('\n').slice(-3).join(' | ')})`,
  );
  const failed = report?.checks?.filter((c) => c.status !== 'pass') ?? [];
  check(
    step,
    report !== undefined && failed.length === 0,
    `every check passes${failed.length ? `: ${JSON.stringify(failed.slice(0, 3))}` : ''}`,
  );
  const peers = (report?.checks ?? [])
    .filter((c) => c.id.includes('.check.other.'))
    .map((c) => c.id)
    .sort();
  const want = [
    '102.check.other.songchuan',
    '102.check.other.zenner',
    '4442.check.other.chint',
    '4442.check.other.lanbaoshi',
    '4442.check.other.songchuan',
  ];
  check(step, JSON.stringify(peers) === JSON.stringify(want), `every peer checked: ${peers.join(', ')}`);
  check(step, (report?.checks ?? []).length > 50, `${report?.checks?.length ?? 0} checks ran`);
}

// 3. Two plugin folders in METERHUB_PLUGIN_PATH, separated by ';'; state written and read back.
if (runs('plugin-path')) {
  const step = 'plugin-path';
  const dirs = ['plugins a', 'plugins-b'].map((d) => join(OUT, d));
  for (const [i, d] of dirs.entries()) {
    const id = `wine${'ab'[i]}`;
    mkdirSync(join(d, id), { recursive: true });
    writeFileSync(
      join(d, id, 'meterhub-plugin.json'),
      JSON.stringify({
        id,
        name: { 'zh-CN': id, en: id },
        cardTypes: ['4442'],
        standIn: true,
        library: { 'win32-x64': win(KINGCARD) },
        catalogues: { returnCodes: [], toolCards: [] },
      }),
    );
  }
  const extraEnv = { METERHUB_PLUGIN_PATH: dirs.map(win).join(';') };
  const data = win(join(OUT, 'data'));
  const en = runWinNode(`${step}-enable`, [...CLI, 'plugins', 'enable', 'wineb', '--data', data], { extraEnv });
  check(step, en.status === 0, `plugins enable wineb (stderr: ${en.stderr.trim().split('\n').slice(-2).join(' | ')})`);
  const r = runWinNode(`${step}-list`, [...CLI, 'plugins', 'list', '--json', '--data', data], { extraEnv });
  let list;
  try {
    list = JSON.parse(r.stdout).plugins;
  } catch {
    list = undefined;
  }
  const a = list?.find((p) => p.id === 'winea');
  const b = list?.find((p) => p.id === 'wineb');
  check(
    step,
    r.status === 0 && !!a && !!b,
    `both folders of "a;b" were searched (${(list ?? []).map((p) => p.id).join(', ')})`,
  );
  check(
    step,
    b?.enabled === true && a?.enabled === false,
    'plugins.json written on Windows (temp file + rename) and read back',
  );
  check(
    step,
    b?.libraryFound === true && b?.driver?.state === 'ready',
    `driver started from the path's DLL: ${JSON.stringify(b?.driver ?? null)}`,
  );

  // File locking on Windows: another Windows process holds plugins.json open while the CLI replaces it.
  const stateFile = join(OUT, 'data', 'plugins.json');
  const held = join(OUT, `${step}-held.txt`);
  const holderJs = join(OUT, 'hold-open.mjs');
  writeFileSync(
    holderJs,
    [
      "import { openSync, readSync, writeFileSync } from 'node:fs';",
      'const fd = openSync(process.argv[2], "r");',
      'readSync(fd, Buffer.alloc(16), 0, 16, 0);',
      'writeFileSync(process.argv[3], "held");',
      'setTimeout(() => {}, 600000);',
    ].join('\n'),
  );
  const hfds = ['ignore', ...['out', 'err'].map((x) => openSync(join(OUT, `${step}-holder.${x}`), 'w'))];
  const holder = spawn(WINE, [NODE_EXE, win(holderJs), win(stateFile), win(held)], { cwd: ROOT, env, stdio: hfds });
  for (const fd of hfds) if (typeof fd === 'number') closeSync(fd);
  try {
    await until(
      () => existsSync(held),
      'a Windows process to hold plugins.json open',
      () => holder.exitCode !== null,
    );
    const disable = [...CLI, 'plugins', 'disable', 'wineb', '--data', data];
    const dis = runWinNode(`${step}-disable-held`, disable, { extraEnv });
    const after = JSON.parse(readFileSync(stateFile, 'utf8'));
    const leftovers = readdirSync(join(OUT, 'data')).filter((f) => f.endsWith('.tmp'));
    // Windows may refuse to replace a file another process holds open (wine does, with EPERM). Either the
    // new file is in place, or the CLI says FILE_IN_USE cleanly and the old file is intact: never a crash.
    const replaced = dis.status === 0 && after.plugins?.wineb?.enabled === false;
    const refused = dis.status === 2 && /\[FILE_IN_USE\]/.test(dis.stderr) && after.plugins?.wineb?.enabled === true;
    const tail = dis.stderr.trim().split('\n').slice(-3).join(' | ');
    const outcome = replaced ? 'replaced' : refused ? 'FILE_IN_USE, old file intact' : `exit ${dis.status}, ${tail}`;
    check(step, replaced || refused, `plugins.json held open by another process: ${outcome}`);
    check(step, leftovers.length === 0, `no temp file left beside plugins.json (${leftovers.join(', ') || 'none'})`);
  } catch (e) {
    check(step, false, e.message);
  } finally {
    if (holder.exitCode === null) holder.kill('SIGTERM');
  }
}

// 4. The station under the Windows Node with the mwic stand-in built as a Windows DLL (mwic_64.dll), paired
//    like a real client, issuing one card against a central server (Linux, as in production a separate host).
if (runs('station')) await stationSale();

async function stationSale() {
  const step = 'station-sale';
  const linuxCli = (args) =>
    spawnSync(process.execPath, [join(ROOT, 'bin', 'meterhub.mjs'), ...args], {
      cwd: ROOT,
      env: { ...process.env, METERHUB_PLUGIN_PATH: '' },
      encoding: 'utf8',
      timeout: STEP_TIMEOUT_MS,
    });
  const centralData = join(OUT, 'central');
  const serveArgs = ['serve', '--port', '0', '--data', centralData, '--log-level', 'warn'];
  const central = spawn(process.execPath, [join(ROOT, 'bin', 'meterhub.mjs'), ...serveArgs], {
    cwd: ROOT,
    env: { ...process.env, METERHUB_PLUGIN_PATH: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let cOut = '';
  let cErr = '';
  central.stdout.on('data', (d) => {
    cOut += d;
  });
  central.stderr.on('data', (d) => {
    cErr += d;
  });
  const stationOut = join(OUT, `${step}.out`);
  let station;
  try {
    const url = await until(() => /METERHUB_LISTENING (\S+)/.exec(cOut)?.[1], 'the central server to listen');
    const ops = /Authorization: Bearer (\S+)/.exec(cErr)?.[1];
    check(step, !!url && !!ops, `central server at ${url}`);
    const tok = linuxCli([
      'token',
      'create',
      '--role',
      'counter',
      '--name',
      'wine-counter',
      '--data',
      centralData,
      '--json',
    ]);
    const counterToken = JSON.parse(tok.stdout).token;
    // Pairing and the stand-in's card: files in the station's folders, made before it starts.
    const stationData = join(OUT, 'station');
    const pair = linuxCli(['station', 'pair', '--name', 'wine', '--data', stationData, '--json']);
    const key = JSON.parse(pair.stdout).key;
    const state = join(OUT, 'mwic-state.txt');
    const made = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        [
          "import { Sle4442 } from './core/station/chips/sle4442.ts';",
          "import { emptyState, insertImage, writeState } from './core/station/readers/mwic-standin/state-file.ts';",
          `writeState(${JSON.stringify(state)}, insertImage(emptyState(), Sle4442.factory().toImage()));`,
        ].join('\n'),
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    check(step, made.status === 0, `blank 4442 card in the stand-in's state file (${made.stderr.trim().slice(-200)})`);
    const fds = ['ignore', openSync(stationOut, 'w'), openSync(join(OUT, `${step}.err`), 'w')];
    station = spawn(
      WINE,
      [
        NODE_EXE,
        ...CLI,
        'station',
        '--server',
        url,
        '--token',
        counterToken,
        '--reader',
        'mwic:0',
        '--port',
        '0',
        '--data',
        win(stationData),
        '--mwic-library',
        win(join(ROOT, 'build', 'win32-x64', 'mwic', 'mwic_64.dll')),
      ],
      { cwd: ROOT, env: { ...env, MWIC_STANDIN_STATE: win(state) }, stdio: fds },
    );
    for (const fd of fds) if (typeof fd === 'number') closeSync(fd);
    const stationUrl = await until(
      () => /METERHUB_STATION_LISTENING (\S+)/.exec(readFileSync(stationOut, 'utf8'))?.[1],
      'the Windows station to listen',
      () => station.exitCode !== null,
    );
    check(step, !!stationUrl, `station (win32-x64, mwic_64.dll) listening at ${stationUrl}`);
    const cardNo = `32${String(Date.now()).slice(-8)}`;
    const res = await fetch(`${stationUrl}/v1/station/issue`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'x-meterhub-clerk': 'clerk-wine', 'content-type': 'application/json' },
      body: JSON.stringify({ maker: 'kingcard', cardNo, gas: 8 }),
    });
    const body = await res.json();
    check(
      step,
      res.status === 200 && body.state === 'CONFIRMED' && body.count === 1,
      `issue confirmed: ${res.status} ${JSON.stringify(body)}`,
    );
    const ledger = await fetch(`${url}/v1/transactions?maker=kingcard&cardNo=${cardNo}`, {
      headers: { authorization: `Bearer ${ops}` },
    });
    const rows = ledger.status === 200 ? (await ledger.json()).transactions : [];
    check(
      step,
      rows.length === 1 && rows[0].state === 'CONFIRMED',
      `the server's ledger has one confirmed transaction: ${rows.map((r) => `${r.operation}:${r.state}`).join(', ')}`,
    );
    check(
      step,
      !/^psc=FFFFFF$/m.test(readFileSync(state, 'utf8')),
      "the card in mwic_64.dll's state file has a new password",
    );
  } catch (e) {
    const out = existsSync(stationOut) ? readFileSync(stationOut, 'utf8').slice(-300) : 'none';
    check(step, false, `${e.message} (station output: ${out})`);
  } finally {
    if (station && station.exitCode === null) station.kill('SIGTERM');
    central.kill('SIGTERM');
  }
}

/** Polls `get` until it gives a value; wine starts a Windows Node in up to ~100 s on a loaded machine. */
async function until(get, what, failed = () => false) {
  const end = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const v = get();
    if (v) return v;
    if (failed() || Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

if (failures.length) {
  console.error(`\nwine job: ${failures.length} check(s) failed; outputs in ${OUT}`);
  process.exit(1);
}
console.log('\nwine job: every check passed (win32-x64 under wine64)');
