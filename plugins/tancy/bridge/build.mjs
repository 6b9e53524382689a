#!/usr/bin/env node
/**
 * Builds the Tancy .NET bridge and the Tancy stand-in assembly (替身) with a C# compiler:
 *   build/tancy/MeterHub.TancyBridge.exe   the driver host for .NET maker assemblies (x86, .NET Framework 4.x)
 *   build/tancy/Tancy.StandIn.dll          the stand-in (替身) of Tancy's C# library (x86, .NET Framework 4.x)
 *
 *   node plugins/tancy/bridge/build.mjs                  build what is out of date; exit 1 without a compiler
 *   node plugins/tancy/bridge/build.mjs --if-available   same, but a missing compiler is not an error
 *   node plugins/tancy/bridge/build.mjs --force          rebuild both
 *
 * Compiler: env MCS, else `mcs` (Mono; Debian/Ubuntu package mono-mcs), else on Windows the .NET Framework's own
 * csc.exe (C:\Windows\Microsoft.NET\Framework\v4.0.30319\csc.exe). The sources stay within C# 5 so that csc works.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const args = new Set(process.argv.slice(2));
const ifAvailable = args.has('--if-available');
const force = args.has('--force');
const outDir = join(root, 'build', 'tancy');
const rel = (f) => relative(root, f).split('\\').join('/');

function findCompiler() {
  const env = process.env.MCS?.trim();
  const candidates = env ? [env] : ['mcs'];
  for (const c of candidates) {
    const r = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return { cmd: c, name: (r.stdout || c).trim().split('\n')[0] };
  }
  if (!env && process.platform === 'win32') {
    const windir = process.env.WINDIR ?? 'C:\\Windows';
    const csc = join(windir, 'Microsoft.NET', 'Framework', 'v4.0.30319', 'csc.exe');
    if (existsSync(csc)) return { cmd: csc, name: 'csc (.NET Framework 4.x)' };
  }
  return null;
}

const compiler = findCompiler();
if (!compiler) {
  const msg = [
    '未找到 C# 编译器（mcs，或环境变量 MCS；Windows 上为 .NET Framework 4.x 自带的 csc.exe）：天信 .NET 桥接（MeterHub.TancyBridge.exe）和天信替身程序集（Tancy.StandIn.dll）没有编译。',
    '请安装 Mono（Debian/Ubuntu: apt-get install mono-mcs mono-runtime）后运行 node plugins/tancy/bridge/build.mjs。',
    'No C# compiler found (mcs, or env MCS; on Windows the .NET Framework 4.x csc.exe): the Tancy .NET bridge (MeterHub.TancyBridge.exe) and the Tancy stand-in assembly (Tancy.StandIn.dll) were NOT built.',
    'Install Mono (Debian/Ubuntu: apt-get install mono-mcs mono-runtime) and run node plugins/tancy/bridge/build.mjs.',
  ].join('\n');
  if (ifAvailable) {
    console.log(msg);
    process.exit(0);
  }
  console.error(msg);
  process.exit(1);
}

const sources = (dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.cs'))
    .sort()
    .map((f) => join(dir, f));
const mtime = (f) => {
  try {
    return statSync(f).mtimeMs;
  } catch {
    return -1;
  }
};

const TARGETS = [
  {
    label: 'stand-in assembly / 替身程序集 Tancy.StandIn',
    out: join(outDir, 'Tancy.StandIn.dll'),
    src: sources(join(here, '..', 'standin-assembly', 'src')),
    target: 'library',
  },
  {
    label: '.NET bridge / 桥接驱动宿主 MeterHub.TancyBridge',
    out: join(outDir, 'MeterHub.TancyBridge.exe'),
    src: sources(join(here, 'src')),
    target: 'exe',
  },
];

let failures = 0;
mkdirSync(outDir, { recursive: true });
for (const t of TARGETS) {
  const inputs = [...t.src, fileURLToPath(import.meta.url)];
  const out = mtime(t.out);
  if (!force && out >= 0 && inputs.every((i) => mtime(i) < out)) {
    console.log(`up-to-date  ${rel(t.out)}  ${t.label}`);
    continue;
  }
  // Compile into a temporary folder under the final file name (the assembly's name comes from it), then rename:
  // a bridge being started never sees half a file.
  const tmpDir = join(outDir, `.tmp-${process.pid}`);
  mkdirSync(tmpDir, { recursive: true });
  const tmp = join(tmpDir, basename(t.out));
  const r = spawnSync(
    compiler.cmd,
    [
      '-nologo',
      `-target:${t.target}`,
      '-platform:x86',
      '-langversion:5',
      '-optimize+',
      '-warn:4',
      '-r:System.dll',
      '-r:System.Core.dll',
      `-out:${tmp}`,
      ...t.src,
    ],
    { cwd: root, encoding: 'utf8' },
  );
  if (r.status !== 0) {
    rmSync(tmpDir, { recursive: true, force: true });
    console.error(`FAILED      ${rel(t.out)}  ${t.label}\n${r.stdout}${r.stderr}${r.error ?? ''}`);
    failures++;
    continue;
  }
  const warnings = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /warning/i.test(l));
  if (warnings.length) console.error(warnings.join('\n'));
  renameSync(tmp, t.out);
  rmSync(tmpDir, { recursive: true, force: true });
  console.log(`built       ${rel(t.out)}  ${t.label}`);
}

writeFileSync(
  join(outDir, 'manifest.json'),
  `${JSON.stringify(
    {
      note: "Tancy.StandIn.dll is a stand-in (替身) for Tancy's C# library: MeterHub's simulated CPU card + PSAM, not Tancy's code.",
      compiler: compiler.name,
      bridge: rel(TARGETS[1].out),
      standIn: rel(TARGETS[0].out),
    },
    null,
    2,
  )}\n`,
);
process.exit(failures > 0 ? 1 : 0);
