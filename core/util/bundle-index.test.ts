/**
 * A bundle runs only while no source it was built from is newer than it: an edited source must never run as
 * stale bundled code (the callers then fall back to the TypeScript through tsx).
 */
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, bundleIndex, freshBundle } from './bundle-index.mjs';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A bundle directory built from package.json, its bundle dated `bundleAfterSourceS` seconds after that source. */
function bundleDir(bundleAfterSourceS: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'mh-bundle-index-'));
  dirs.push(dir);
  writeFileSync(
    join(dir, 'inputs.json'),
    JSON.stringify({ entries: { 'core/x/entry.ts': 'x.mjs' }, bundles: ['x.mjs'], inputs: ['package.json'] }),
  );
  writeFileSync(join(dir, 'x.mjs'), '');
  const { mtimeMs } = statSync(join(ROOT, 'package.json'));
  const t = new Date(mtimeMs + bundleAfterSourceS * 1000);
  utimesSync(join(dir, 'x.mjs'), t, t);
  return dir;
}

describe('bundle index', () => {
  it('a bundle newer than every source is used, by relative or absolute entry', () => {
    const dir = bundleDir(+60);
    expect(bundleIndex(dir)?.fresh).toBe(true);
    expect(freshBundle(dir, 'core/x/entry.ts')).toBe(join(dir, 'x.mjs'));
    expect(freshBundle(dir, join(ROOT, 'core/x/entry.ts'))).toBe(join(dir, 'x.mjs'));
    expect(freshBundle(dir, 'core/x/other.ts')).toBeUndefined();
  });

  it('a source newer than the bundle makes it stale', () => {
    const dir = bundleDir(-60);
    expect(bundleIndex(dir)?.fresh).toBe(false);
    expect(freshBundle(dir, 'core/x/entry.ts')).toBeUndefined();
  });

  it('no index: no bundle', () => {
    expect(bundleIndex(join(tmpdir(), 'mh-no-such-bundle-dir'))).toBeNull();
  });
});
