/**
 * A stand-in for a 32-bit node.exe on a machine that cannot run 32-bit code (no 32-bit emulation in this
 * kernel): this Node, whose ready event says `arch: "ia32"` exactly as a real 32-bit Node's would. Only the
 * frame is changed (process.arch itself must stay true: koffi picks its own binary by it). It still loads
 * 64-bit libraries, which is what lets a test see which library the supervisor handed it.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export function fakeArchExecPath(dir: string, arch: string): string {
  const preload = join(dir, `fake-${arch}.mjs`);
  writeFileSync(
    preload,
    [
      'const write = process.stdout.write.bind(process.stdout);',
      'let said = false;',
      'process.stdout.write = (chunk, ...rest) => {',
      '  if (!said && typeof chunk === "string" && chunk.includes(\'"event":"ready"\')) {',
      '    said = true;',
      `    chunk = chunk.replace(/"arch":"[^"]*"/, ${JSON.stringify(`"arch":"${arch}"`)});`,
      '  }',
      '  return write(chunk, ...rest);',
      '};',
      '',
    ].join('\n'),
  );
  const exe = join(dir, `node-${arch}`);
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(exe, `#!/bin/sh\nexec ${q(process.execPath)} --import ${q(pathToFileURL(preload).href)} "$@"\n`);
  chmodSync(exe, 0o755);
  return exe;
}
