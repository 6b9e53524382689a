/**
 * x86 name decoration. MSVC exports `__declspec(dllexport) __stdcall` functions as `_Name@N`; mingw-w64
 * exports them as `Name@N` (no underscore) unless linked with --kill-at or a .def file. N is the bytes
 * the callee pops: on x86 every gascard.h parameter (int, __int16, pointer) is pushed as 4 bytes.
 * __fastcall (`@Name@N`) is recognised so it is not mistaken for an interface function: it is the wrong
 * calling convention for this interface.
 */
export type Decoration = 'none' | 'stdcall' | 'stdcall-underscore' | 'fastcall' | 'vectorcall';

export interface Undecorated {
  base: string;
  decoration: Decoration;
  /** N from the suffix, when decorated. */
  argBytes?: number;
}

const STDCALL = /^(_?)([A-Za-z_$?][\w$?]*)@(\d{1,4})$/;
const FASTCALL = /^@([A-Za-z_$][\w$]*)@(\d{1,4})$/;
const VECTORCALL = /^([A-Za-z_$][\w$]*)@@(\d{1,4})$/;

export function undecorate(name: string): Undecorated {
  let m = STDCALL.exec(name);
  if (m) return { base: m[2]!, decoration: m[1] ? 'stdcall-underscore' : 'stdcall', argBytes: Number(m[3]) };
  m = FASTCALL.exec(name);
  if (m) return { base: m[1]!, decoration: 'fastcall', argBytes: Number(m[2]) };
  m = VECTORCALL.exec(name);
  if (m) return { base: m[1]!, decoration: 'vectorcall', argBytes: Number(m[2]) };
  return { base: name, decoration: 'none' };
}

/** Bytes a conforming x86 `__stdcall` export pops for a function with this many parameters. */
export const expectedStdcallBytes = (paramCount: number): number => paramCount * 4;
