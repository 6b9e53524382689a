/** Machine codes → names and the Node `process.arch` that can execute them. */
import type { MachineInfo } from './types.ts';

const PE_MACHINES: Record<number, [string, string | null]> = {
  0x014c: ['i386', 'ia32'],
  0x8664: ['x86-64', 'x64'],
  0xaa64: ['ARM64', 'arm64'],
  0xa641: ['ARM64EC', null],
  0xa64e: ['ARM64X', 'arm64'],
  0x01c0: ['ARM', 'arm'],
  0x01c2: ['ARM Thumb', 'arm'],
  0x01c4: ['ARMv7 (ARMNT)', 'arm'],
  0x0200: ['IA-64', null],
  0x5064: ['RISC-V 64', 'riscv64'],
  0x6264: ['LoongArch64', 'loong64'],
};

const ELF_MACHINES: Record<number, [string, string | null]> = {
  2: ['SPARC', null],
  3: ['i386', 'ia32'],
  8: ['MIPS', 'mips'],
  20: ['PowerPC', 'ppc'],
  21: ['PowerPC64', 'ppc64'],
  22: ['S/390', 's390x'],
  40: ['ARM', 'arm'],
  43: ['SPARC V9', null],
  62: ['x86-64', 'x64'],
  183: ['ARM64 (AArch64)', 'arm64'],
  243: ['RISC-V', 'riscv64'],
  258: ['LoongArch', 'loong64'],
};

function lookup(table: Record<number, [string, string | null]>, code: number): MachineInfo {
  const hit = table[code];
  return hit
    ? { code, name: hit[0], nodeArch: hit[1] }
    : { code, name: `unknown (0x${code.toString(16)})`, nodeArch: null };
}

export const peMachine = (code: number): MachineInfo => lookup(PE_MACHINES, code);

/** ELF needs the class too: EM_MIPS/EM_RISCV cover 32 and 64 bits, and mipsel is a little-endian MIPS. */
export function elfMachine(code: number, bits: 32 | 64, endian: 'little' | 'big'): MachineInfo {
  const m = lookup(ELF_MACHINES, code);
  if (code === 8)
    return {
      ...m,
      name: bits === 64 ? 'MIPS64' : 'MIPS',
      nodeArch: bits === 64 ? (endian === 'little' ? 'mips64el' : null) : endian === 'little' ? 'mipsel' : 'mips',
    };
  if (code === 243)
    return { ...m, name: bits === 64 ? 'RISC-V 64' : 'RISC-V 32', nodeArch: bits === 64 ? 'riscv64' : null };
  if (code === 20 && bits === 64) return { ...m, nodeArch: 'ppc64' };
  return m;
}
