#!/usr/bin/env node
/**
 * Builds the stand-in card libraries (替身库), the fault builds and the demo with the system C compiler.
 *
 *   node scripts/build-native.mjs                 build what is out of date; exit 1 if no compiler
 *   node scripts/build-native.mjs --if-compiler   same, but a missing compiler is not an error (postinstall)
 *   node scripts/build-native.mjs --force         rebuild everything
 *   node scripts/build-native.mjs --target=win32-x64
 *       cross-build the stand-ins as Windows x64 DLLs with mingw-w64 (x86_64-w64-mingw32-gcc), named as the
 *       plugin manifests' win32-x64 entries, plus the mwic stand-in (build/win32-x64/mwic/): the wine CI job
 *
 * Outputs (gitignored): plugins/<maker>/lib/<platform>-<arch>/libgascard_<maker>.<ext>,
 * build/native/faults/libgascard_fault_<name>.<ext>, build/native/demo/gascard_demo[.exe],
 * build/native/manifest.json. Env CC / CXX override the compiler.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const ifCompiler = args.has('--if-compiler');
const force = args.has('--force');

/** Fixed per maker; other parts (plugin manifests, driver host, tests) rely on it. */
const MAKERS = [
  { maker: 'kingcard', cardTypes: ['4442', '102'], toolKinds: ['CLEAR', 'TRANSFER'] },
  { maker: 'zenner', cardTypes: ['102'], toolKinds: ['CLEAR', 'CHECK', 'SETUP'] },
  { maker: 'lanbaoshi', cardTypes: ['4442'], toolKinds: ['CLEAR', 'VALVE_OPEN', 'SETUP'] },
  { maker: 'songchuan', cardTypes: ['4442', '102'], toolKinds: ['CLEAR', 'CHECK', 'CLOCK'] },
  { maker: 'chint', cardTypes: ['4442'], toolKinds: ['CLEAR', 'CHECK', 'VALVE_OPEN', 'VALVE_CLOSE'] },
  { maker: 'tancy', cardTypes: ['cpu'], toolKinds: ['CLEAR', 'VALVE_OPEN', 'VALVE_CLOSE', 'CHECK', 'TRANSFER'] },
];
const FAULTS = ['SEGV', 'ABORT', 'HANG', 'OVERRUN', 'GARBAGE', 'CLAIM_ALL', 'NONDET', 'KH_LENGTH'];
const FAULT_BASE = 'kingcard';

const platformArch = `${process.platform}-${process.arch}`;
const libExt = process.platform === 'win32' ? 'dll' : process.platform === 'darwin' ? 'dylib' : 'so';
const exeExt = process.platform === 'win32' ? '.exe' : '';

const p = (...parts) => join(root, ...parts);
const rel = (f) => relative(root, f).split('\\').join('/');

function splitCommand(s) {
  return s.trim().split(/\s+/).filter(Boolean);
}

function works(cmd) {
  const [bin, ...pre] = cmd;
  const r = spawnSync(bin, [...pre, '--version'], { encoding: 'utf8' });
  return r.status === 0;
}

function findCompiler(envName, candidates) {
  const env = process.env[envName];
  if (env && env.trim()) {
    const cmd = splitCommand(env);
    return works(cmd) ? cmd : null;
  }
  for (const c of candidates) if (works([c])) return [c];
  return null;
}

function noCompiler() {
  const msg = [
    '未找到C编译器（cc/gcc/clang，或环境变量CC），替身库（stand-in libraries）、故障库和demo没有编译。',
    '请安装gcc（Debian/Ubuntu: apt-get install gcc）后运行 npm run build:native。',
    'No C compiler found (cc/gcc/clang, or env CC): the stand-in libraries, fault builds and demo were NOT built.',
    'Install gcc (Debian/Ubuntu: apt-get install gcc) and run npm run build:native.',
  ].join('\n');
  if (ifCompiler) {
    console.log(msg);
    process.exit(0);
  }
  console.error(msg);
  process.exit(1);
}

const cc = findCompiler('CC', ['cc', 'gcc', 'clang']);
if (!cc) noCompiler();
const cxx = findCompiler('CXX', ['g++', 'clang++', 'c++']);

const refDir = p('sdk', 'reference');
const commonInputs = [
  p('sdk', 'include', 'gascard.h'),
  join(refDir, 'gascard_ref.c'),
  join(refDir, 'gc_util.h'),
  fileURLToPath(import.meta.url),
];

function mtime(f) {
  try {
    return statSync(f).mtimeMs;
  } catch {
    return -1;
  }
}

function upToDate(output, inputs) {
  if (force) return false;
  const out = mtime(output);
  if (out < 0) return false;
  return inputs.every((i) => {
    const t = mtime(i);
    if (t < 0) throw new Error(`missing input ${rel(i)}`);
    return t < out;
  });
}

let failures = 0;

/** Compiles into a temporary file then renames, so a process loading the library never sees half a file. */
function compile(label, output, inputs, compilerArgs, compiler = cc) {
  if (upToDate(output, inputs)) {
    console.log(`up-to-date  ${rel(output)}  ${label}`);
    return true;
  }
  mkdirSync(dirname(output), { recursive: true });
  const tmp = `${output}.tmp-${process.pid}`;
  const [bin, ...pre] = compiler;
  const r = spawnSync(bin, [...pre, ...compilerArgs, '-o', tmp], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    console.error(`FAILED      ${rel(output)}  ${label}\n${r.stderr || r.error}`);
    failures++;
    return false;
  }
  if (r.stderr.trim()) console.error(r.stderr.trim());
  renameSync(tmp, output);
  console.log(`built       ${rel(output)}  ${label}`);
  return true;
}

const libFlags = ['-O2', '-Wall', '-Wextra', '-fvisibility=hidden', `-I${p('sdk', 'include')}`, `-I${refDir}`];
if (process.platform === 'darwin') libFlags.push('-dynamiclib');
else libFlags.push('-shared');
if (process.platform !== 'win32') libFlags.push('-fPIC');
else libFlags.push('-Wl,--kill-at', '-static-libgcc'); // mingw: undecorated __stdcall names

const target = process.argv.find((a) => a.startsWith('--target='))?.slice('--target='.length);
if (target) {
  if (target !== 'win32-x64') {
    console.error(`--target: only win32-x64 is supported (32-bit cannot run here; see docs/deploy/station-windows.md)`);
    process.exit(1);
  }
  const mingw = ['x86_64-w64-mingw32-gcc'];
  if (!works(mingw)) {
    console.error('x86_64-w64-mingw32-gcc not found (apt-get install gcc-mingw-w64-x86-64)');
    process.exit(1);
  }
  // mingw: undecorated names, no libgcc DLL to ship.
  const winFlags = [
    '-O2',
    '-Wall',
    '-Wextra',
    `-I${p('sdk', 'include')}`,
    `-I${refDir}`,
    '-shared',
    '-Wl,--kill-at',
    '-static-libgcc',
  ];
  for (const m of MAKERS) {
    const pm = JSON.parse(readFileSync(p('plugins', m.maker, 'meterhub-plugin.json'), 'utf8'));
    const rel = pm.library?.[target];
    if (!rel) continue;
    const layout = join(refDir, 'layouts', `${m.maker}.h`);
    compile(
      `stand-in library / 替身库 ${m.maker} (${target})`,
      p('plugins', m.maker, rel),
      [...commonInputs, layout],
      [...winFlags, `-DGASCARD_LAYOUT="layouts/${m.maker}.h"`, join(refDir, 'gascard_ref.c')],
      mingw,
    );
  }
  const mwic = p('core', 'station', 'readers', 'mwic-standin', 'mwic_standin.c');
  compile(
    `mwic reader stand-in / 读卡器替身库 (${target})`,
    p('build', target, 'mwic', 'mwic_64.dll'),
    [mwic, fileURLToPath(import.meta.url)],
    ['-std=c11', '-O2', '-Wall', '-Wextra', '-shared', '-Wl,--kill-at', '-static-libgcc', mwic],
    mingw,
  );
  process.exit(failures > 0 ? 1 : 0);
}

const manifest = {
  note: "Stand-in libraries (替身库): MeterHub-invented card layouts, not the makers' real formats. Fault builds misbehave on purpose.",
  platformArch,
  compiler: cc.join(' '),
  makers: [],
  faults: [],
  demo: null,
  headerCheck: {},
};

// (a) one stand-in per maker
for (const m of MAKERS) {
  const layout = join(refDir, 'layouts', `${m.maker}.h`);
  const out = p('plugins', m.maker, 'lib', platformArch, `libgascard_${m.maker}.${libExt}`);
  const ok = compile(
    `stand-in library / 替身库 ${m.maker} [${m.cardTypes.join(',')}]`,
    out,
    [...commonInputs, layout],
    [...libFlags, `-DGASCARD_LAYOUT="layouts/${m.maker}.h"`, join(refDir, 'gascard_ref.c')],
  );
  if (ok)
    manifest.makers.push({
      maker: m.maker,
      cardTypes: m.cardTypes,
      toolKinds: m.toolKinds,
      path: rel(out),
      standIn: true,
    });
}

// (b) fault builds, all on the kingcard stand-in layout
const baseLayout = join(refDir, 'layouts', `${FAULT_BASE}.h`);
const baseInfo = MAKERS.find((m) => m.maker === FAULT_BASE);
for (const f of FAULTS) {
  const name = f.toLowerCase();
  const out = p('build', 'native', 'faults', `libgascard_fault_${name}.${libExt}`);
  const ok = compile(
    `fault build ${f} (on ${FAULT_BASE} stand-in)`,
    out,
    [...commonInputs, baseLayout],
    [...libFlags, `-DGASCARD_LAYOUT="layouts/${FAULT_BASE}.h"`, `-DGASCARD_FAULT=${f}`, join(refDir, 'gascard_ref.c')],
  );
  if (ok)
    manifest.faults.push({
      name,
      fault: f,
      basedOn: FAULT_BASE,
      cardTypes: baseInfo.cardTypes,
      path: rel(out),
      standIn: true,
    });
}

// (c) the demo
{
  const src = p('sdk', 'demo', 'gascard_demo.c');
  const out = p('build', 'native', 'demo', `gascard_demo${exeExt}`);
  if (existsSync(src)) {
    const extra = process.platform === 'linux' ? ['-ldl'] : [];
    const ok = compile(
      'demo',
      out,
      [src, p('sdk', 'include', 'gascard.h'), fileURLToPath(import.meta.url)],
      ['-O2', '-Wall', '-Wextra', `-I${p('sdk', 'include')}`, src, ...extra],
    );
    if (ok) manifest.demo = { path: rel(out) };
  } else {
    console.log(`skipped     ${rel(out)}  demo (no sdk/demo/gascard_demo.c yet)`);
  }
}

// (d) the header compiles as C89-ish C and as C++
{
  const header = p('sdk', 'include', 'gascard.h');
  const stampDir = p('build', 'native', 'header-check');
  const probe = join(stampDir, 'probe.c');
  mkdirSync(stampDir, { recursive: true });
  const probeText =
    '#include "gascard.h"\nint gascard_header_probe(void) { return GASCARD_4442_HEX + GC_E_CHECKSUM; }\n';
  if (!existsSync(probe) || readFileSync(probe, 'utf8') !== probeText) writeFileSync(probe, probeText);
  const checks = [
    {
      name: 'c89',
      compiler: cc,
      args: [
        '-std=c89',
        '-pedantic',
        '-Wall',
        '-Wextra',
        '-fsyntax-only',
        `-I${p('sdk', 'include')}`,
        '-x',
        'c',
        probe,
      ],
    },
  ];
  if (cxx)
    checks.push({
      name: 'c++',
      compiler: cxx,
      args: ['-Wall', '-Wextra', '-fsyntax-only', `-I${p('sdk', 'include')}`, '-x', 'c++', probe],
    });
  else console.log('skipped     header check as C++ (no g++/clang++ found)');
  for (const c of checks) {
    const stamp = join(stampDir, `${c.name}.ok`);
    if (upToDate(stamp, [header, probe, fileURLToPath(import.meta.url)])) {
      console.log(`up-to-date  sdk/include/gascard.h compiles as ${c.name}`);
      manifest.headerCheck[c.name] = 'ok';
      continue;
    }
    const [bin, ...pre] = c.compiler;
    const r = spawnSync(bin, [...pre, ...c.args], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) {
      console.error(`FAILED      sdk/include/gascard.h as ${c.name}\n${r.stderr}`);
      manifest.headerCheck[c.name] = 'failed';
      failures++;
      continue;
    }
    if (r.stderr.trim()) console.error(r.stderr.trim());
    writeFileSync(stamp, `${new Date().toISOString()}\n`);
    manifest.headerCheck[c.name] = 'ok';
    console.log(`checked     sdk/include/gascard.h compiles as ${c.name}`);
  }
}

const manifestPath = p('build', 'native', 'manifest.json');
mkdirSync(dirname(manifestPath), { recursive: true });
const text = `${JSON.stringify(manifest, null, 2)}\n`;
if (!existsSync(manifestPath) || readFileSync(manifestPath, 'utf8') !== text) {
  const tmp = `${manifestPath}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, manifestPath);
}
console.log(`manifest    ${rel(manifestPath)}`);

if (failures > 0) {
  console.error(`${failures} native build step(s) failed / 有 ${failures} 个编译步骤失败`);
  process.exit(1);
}

// The Tancy .NET bridge and its stand-in assembly, when Mono's compiler is present (CI installs it).
{
  const bridge = spawnSync(process.execPath, [p('plugins', 'tancy', 'bridge', 'build.mjs'), '--if-available'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (bridge.status !== 0) process.exit(bridge.status ?? 1);
}
