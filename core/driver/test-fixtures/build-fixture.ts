/**
 * Builds core/driver/test-fixtures/fixture-gascard.c with the system C compiler into a temp dir (tests only).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const SOURCE = join(HERE, 'fixture-gascard.c');
const INCLUDE = resolve(HERE, '../../../sdk/include');

export type FixtureFlag = 'NOISY' | 'OMIT_USAGE102' | 'RENAME_BUY';

let dir: string | undefined;

/** Compiles the fixture with the given -D flags and returns the shared object's path. */
export function buildFixture(flags: FixtureFlag[] = []): string {
  dir ??= mkdtempSync(join(tmpdir(), 'meterhub-driver-fixture-'));
  const name = ['libfixture', ...flags.map((f) => f.toLowerCase())].join('_');
  const out = join(dir, `${name}.so`);
  execFileSync(
    process.env.CC ?? 'cc',
    [
      '-shared',
      '-fPIC',
      '-O1',
      '-Wall',
      '-Werror',
      '-fvisibility=hidden',
      '-DGASCARD_BUILD',
      `-I${INCLUDE}`,
      ...flags.map((f) => `-D${f}`),
      '-o',
      out,
      SOURCE,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return out;
}
