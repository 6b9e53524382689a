#!/usr/bin/env node
/**
 * Runs vitest with CPU hogs on the cores, to prove the suite does not depend on machine speed (issue 17).
 * Not part of `npm test` or CI: it makes the machine slow on purpose.
 * 在 CPU 满载的机器上跑测试，证明测试不依赖机器速度。不属于 `npm test` 和 CI。
 *
 *   npm run test:loaded                                  whole suite, 2 hogs
 *   npm run test:loaded -- gateways/serial/bus.test.ts   vitest arguments pass through
 *   node scripts/test-under-load.mjs --hogs=4 -- core/driver
 *
 * A hog is `yes > /dev/null` (a node busy loop when `yes` is not on PATH). Each one runs under a `sh` that waits
 * on a pipe from this script and kills its hog when the pipe closes, so the hogs stop in every exit path: a
 * normal end, a signal this script handles (it forwards it to vitest first), an exception, and also a SIGKILL of
 * this script, which no handler sees but which closes the pipe. Prints the load average before, during (sampled)
 * and after, then vitest's summary, and exits with vitest's code.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { loadavg } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SAMPLE_MS = 5_000;

let hogCount = 2;
const vitestArgs = [];
for (const arg of process.argv.slice(2)) {
  const m = /^--hogs=(\d+)$/.exec(arg);
  if (m) hogCount = Number(m[1]);
  else if (arg !== '--') vitestArgs.push(arg);
}

const fmtLoad = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const say = (line) => process.stdout.write(`[test:loaded] ${line}\n`);

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

// A node busy loop for machines without `yes`; its sh kills it like a `yes`.
const NODE_HOG = `'${process.execPath}' -e 'for(;;){}'`;
const hogCommand = onPath('yes') ? 'yes > /dev/null' : NODE_HOG;

/** @type {import('node:child_process').ChildProcess[]} */
const hogs = [];
function startHogs() {
  for (let i = 0; i < hogCount; i++) {
    // `read` returns when our end of stdin closes (we stop, or we die), then the hog is killed.
    const sh = spawn('sh', ['-c', `${hogCommand} & h=$!; read _; kill $h 2>/dev/null; wait $h 2>/dev/null; exit 0`], {
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    sh.on('error', (e) => say(`hog ${i} failed to start: ${e.message}`));
    hogs.push(sh);
  }
}

let hogsStopped = false;
/** Synchronous, so it also works in the 'exit' handler. */
function stopHogs() {
  if (hogsStopped) return;
  hogsStopped = true;
  for (const sh of hogs) {
    sh.stdin?.destroy();
    // A belt to the pipe's braces: if sh is stuck, SIGTERM it; the pipe is closed anyway, so its hog goes too.
    if (sh.exitCode === null && sh.signalCode === null) setTimeout(() => sh.kill('SIGTERM'), 1000).unref();
  }
}

/** Waits until every hog's sh has exited, so "after" is measured with the hogs gone. */
async function hogsGone() {
  await Promise.all(
    hogs.map((sh) => (sh.exitCode !== null || sh.signalCode !== null ? null : new Promise((r) => sh.once('exit', r)))),
  );
}

process.on('exit', stopHogs);
process.on('uncaughtException', (e) => {
  stopHogs();
  process.stderr.write(`[test:loaded] ${e?.stack ?? e}\n`);
  process.exit(1);
});

const before = fmtLoad();
say(`load average before (1/5/15 min): ${before}`);
say(`starting ${hogCount} hog(s): ${hogCommand}`);
startHogs();

const samples = [];
const sampler = setInterval(() => samples.push(loadavg()[0]), SAMPLE_MS);

const vitestBin = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const vitest = spawn(process.execPath, [vitestBin, 'run', ...vitestArgs], {
  cwd: root,
  stdio: ['inherit', 'pipe', 'inherit'],
  // vitest sees a pipe, not our terminal: keep its colours when we have a terminal.
  env: process.stdout.isTTY ? { ...process.env, FORCE_COLOR: '1' } : process.env,
});

// Echo vitest's output as it comes, and keep its summary and failures for the report at the end.
const ANSI = /\x1b\[[0-9;]*m/g; // eslint-disable-line no-control-regex -- stripping terminal colours
const summary = [];
const failures = [];
let partial = '';
vitest.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const lines = (partial + chunk.toString('utf8')).split('\n');
  partial = lines.pop() ?? '';
  for (const raw of lines) {
    const line = raw.replace(ANSI, '');
    if (/^\s*(Test Files|Tests|Errors|Start at|Duration)\s/.test(line)) summary.push(line.trim());
    else if (/^\s*(FAIL|×|✗)\s/.test(line) && failures.length < 50) failures.push(line.trim());
  }
});

const forwarded = new Set();
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    say(`${sig}: stopping vitest and the hogs`);
    forwarded.add(sig);
    stopHogs();
    if (vitest.exitCode === null) vitest.kill(sig);
    // If vitest does not end on its own, do not hang here.
    setTimeout(() => process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1)), 10_000).unref();
  });
}

vitest.on('error', (e) => {
  say(`vitest failed to start: ${e.message}`);
  stopHogs();
  process.exitCode = 1;
});

vitest.on('exit', async (code, signal) => {
  clearInterval(sampler);
  const during = fmtLoad();
  stopHogs();
  await hogsGone();
  const after = fmtLoad();
  const peak = samples.length ? Math.max(...samples).toFixed(2) : 'n/a';
  const low = samples.length ? Math.min(...samples).toFixed(2) : 'n/a';
  process.stdout.write('\n');
  say(`hogs: ${hogCount} × ${hogCommand}`);
  say(`load average before: ${before}`);
  say(`load average during: ${during} at the end; 1-min sampled every ${SAMPLE_MS / 1000} s: min ${low}, max ${peak}`);
  say(`load average after:  ${after} (hogs stopped; the 1-min average decays over a minute)`);
  for (const f of failures) say(`failed: ${f}`);
  for (const s of summary) say(s);
  const exit = code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1) : 1);
  say(`vitest exit code: ${exit}${signal ? ` (signal ${signal})` : ''}`);
  process.exit(exit);
});
