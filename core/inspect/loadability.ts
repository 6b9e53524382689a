/**
 * Can THIS host's driver host (a Node process using koffi) load the library? A process can only load a
 * library of its own OS family and architecture; a 32-bit DLL needs a 32-bit driver host, and the last
 * official 32-bit Windows Node is 22 (reference node-platform.md §0, §1.8).
 */
import type { HostInfo, Loadability, ParsedBinary } from './types.ts';

/** OSes whose dynamic loader takes ELF shared objects. */
const ELF_PLATFORMS = new Set(['linux', 'android', 'freebsd', 'openbsd', 'netbsd', 'sunos', 'aix']);

const OS_NAME: Record<string, string> = { win32: 'Windows', linux: 'Linux', darwin: 'macOS' };

/** Byte order of the Node builds for each arch (Node's ppc64 is ppc64le). */
const hostEndianness = (arch: string): 'little' | 'big' =>
  ['s390x', 's390', 'mips', 'ppc'].includes(arch) ? 'big' : 'little';

export function currentHost(): HostInfo {
  return { platform: process.platform, arch: process.arch };
}

export function assessLoadability(bin: ParsedBinary, host: HostInfo): Loadability {
  const hostName = `${host.platform}-${host.arch}`;
  const osName = OS_NAME[host.platform] ?? host.platform;
  const v = (verdict: Loadability['verdict'], en: string, zh: string): Loadability => ({ host, verdict, en, zh });
  const isPe = bin.format.startsWith('PE');
  const arch = bin.machine.nodeArch;

  if (isPe && bin.dotNet) {
    return v(
      'cannot-load',
      '.NET assembly: koffi cannot bind it; it needs a .NET bridge host',
      '.NET 程序集：koffi 无法直接调用，需要 .NET 桥接宿主',
    );
  }
  if (!bin.isLibrary) {
    return v(
      'cannot-load',
      `not a ${isPe ? 'DLL (the DLL flag is not set: an .exe?)' : 'shared object (ET_DYN)'}; nothing to load`,
      `不是${isPe ? ' DLL（未设置 DLL 标志，可能是 .exe）' : '共享库（ET_DYN）'}；无法加载`,
    );
  }
  if (isPe && host.platform !== 'win32') {
    return v(
      'cannot-load',
      `Windows DLL on ${osName}: inspect only; load on Windows${arch === 'ia32' ? ' (with a 32-bit driver host)' : ''}`,
      `${osName} 上的 Windows DLL：仅可检查；请在 Windows 上加载${arch === 'ia32' ? '（使用 32 位驱动宿主）' : ''}`,
    );
  }
  if (!isPe && !ELF_PLATFORMS.has(host.platform)) {
    return v(
      'cannot-load',
      `ELF shared object on ${osName}: inspect only; load on Linux`,
      `${osName} 上的 ELF 共享库：仅可检查；请在 Linux 上加载`,
    );
  }
  if (arch === null) {
    return v(
      'cannot-load',
      `no Node.js build runs ${bin.machine.name} code`,
      `没有可运行 ${bin.machine.name} 代码的 Node.js 版本`,
    );
  }
  if (!isPe && arch === host.arch && bin.endianness !== hostEndianness(host.arch)) {
    return v(
      'cannot-load',
      `${bin.endianness}-endian ${bin.machine.name} library cannot be loaded by this ${hostName} host`,
      `${bin.endianness === 'big' ? '大端' : '小端'} ${bin.machine.name} 库无法由本机（${hostName}）加载`,
    );
  }
  if (arch === host.arch) {
    return v('direct', `loads directly in this ${hostName} driver host`, `可在本机（${hostName}）驱动宿主中直接加载`);
  }
  if (isPe && arch === 'ia32' && (host.arch === 'x64' || host.arch === 'arm64')) {
    return v(
      'needs-32bit-host',
      '32-bit PE on a 64-bit host: run the driver host under a 32-bit Node 22 (win32-ia32) — set driver.execPath in the plugin manifest',
      '64 位主机上的 32 位 DLL：需用 32 位 Node 22（win32-ia32）运行驱动宿主 —— 在插件清单中设置 driver.execPath',
    );
  }
  if (isPe && arch === 'x64' && host.arch === 'arm64') {
    return v(
      'needs-other-host',
      'x64 DLL on Windows ARM64: run the driver host under an x64 Node (emulated) — set driver.execPath',
      'ARM64 Windows 上的 x64 DLL：需用 x64 Node（仿真运行）作为驱动宿主 —— 设置 driver.execPath',
    );
  }
  if (!isPe && arch === 'ia32' && host.arch === 'x64') {
    return v(
      'cannot-load',
      '32-bit (i386) shared object on a 64-bit Linux host: needs a 32-bit Node, which nodejs.org no longer ships for Linux; ask the maker for an x86-64 build',
      '64 位 Linux 上的 32 位（i386）共享库：需要 32 位 Node，而 nodejs.org 已不再提供 Linux 32 位版本；请向厂家索取 x86-64 版本',
    );
  }
  return v(
    'cannot-load',
    `${bin.machine.name} library cannot be loaded by this ${hostName} host`,
    `${bin.machine.name} 库无法由本机（${hostName}）加载`,
  );
}
