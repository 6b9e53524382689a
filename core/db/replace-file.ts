/**
 * Replaces a file with a freshly written temp file. On Windows the rename fails with EPERM/EACCES/EBUSY while
 * another program holds the target open without FILE_SHARE_DELETE (antivirus, backup, an editor; seen under
 * wine with a second Node process): it is retried briefly, and if the file stays held the temp file is removed
 * and a stable, bilingual error says so. The old file is never touched on failure.
 */
import { renameSync, rmSync } from 'node:fs';
import { defineError } from '../errors/meterhub-error.ts';

export const FileInUse = defineError(
  'FILE_IN_USE',
  503,
  '文件被其他程序占用，未能保存（原文件未改动）；请关闭占用它的程序（如杀毒软件、备份、编辑器）后重试',
  'The file is held open by another program and was not saved (the old file is unchanged); close that program ' +
    '(antivirus, backup, an editor) and try again',
);

const HELD = new Set(['EPERM', 'EACCES', 'EBUSY']);
/** About 2.5 s in all: long enough for a scanner's brief look, short enough for a CLI or a request. */
const DELAYS_MS = [20, 50, 100, 200, 400, 700, 1000];

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function replaceFileSync(tmp: string, target: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      renameSync(tmp, target);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (HELD.has(code) && attempt < DELAYS_MS.length) {
        pause(DELAYS_MS[attempt]!);
        continue;
      }
      rmSync(tmp, { force: true });
      if (HELD.has(code)) throw FileInUse({ file: target, cause: code }, { zh: target, en: `${target} (${code})` });
      throw e;
    }
  }
}
