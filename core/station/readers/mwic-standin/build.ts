/**
 * Builds the mwic stand-in library (替身库) with the system C compiler, for tests. Output goes to the directory
 * given (a temp dir or build/mwic/); returns the library path, or null when no compiler is available.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const STANDIN_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'mwic_standin.c');

export function compilerAvailable(): boolean {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function buildStandin(outDir: string): string | null {
  if (!compilerAvailable()) return null;
  mkdirSync(outDir, { recursive: true });
  const ext = process.platform === 'win32' ? 'dll' : process.platform === 'darwin' ? 'dylib' : 'so';
  const out = join(outDir, `libmwic_standin.${ext}`);
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(STANDIN_SOURCE).mtimeMs) return out;
  const tmp = `${out}.${process.pid}.tmp`;
  execFileSync(
    'cc',
    [
      '-std=c11',
      '-O2',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-shared',
      '-fPIC',
      '-fvisibility=hidden',
      '-o',
      tmp,
      STANDIN_SOURCE,
    ],
    { stdio: 'pipe' },
  );
  renameSync(tmp, out);
  return out;
}
