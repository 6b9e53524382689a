/**
 * The shared wire patterns are written once: no source file outside core/wire/patterns.ts spells them again
 * (a second copy is how a maker id becomes valid in one place and refused in another).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CARD_NO_PATTERN,
  CARD_NO_SEARCH_PATTERN,
  isCardNo,
  isMakerId,
  MAKER_ID_PATTERN,
  TX_ID_PATTERN,
} from './patterns.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const HOME = 'core/wire/patterns.ts';

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    if (e === 'node_modules' || e === 'build' || e.startsWith('.')) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.(ts|tsx|mjs|js)$/.test(e) && !/\.test\.tsx?$/.test(e)) out.push(relative(ROOT, p));
  }
  return out;
}

describe('shared wire patterns', () => {
  it('are spelt only in core/wire/patterns.ts (as a JSON Schema string or a RegExp literal)', () => {
    const files = ['core', 'gateways', 'plugins', 'sdk', 'console/src', 'bin', 'scripts'].flatMap((d) =>
      sources(join(ROOT, d)),
    );
    expect(files).toContain(HOME);
    // The distinctive part of each pattern, as a string in a schema or inside a regex literal.
    const bodies = [MAKER_ID_PATTERN, CARD_NO_PATTERN, CARD_NO_SEARCH_PATTERN, TX_ID_PATTERN].map((p) =>
      p.slice(1, -1),
    );
    const copies = files
      .filter((f) => f !== HOME)
      .flatMap((f) => {
        const text = readFileSync(join(ROOT, f), 'utf8');
        return bodies.filter((b) => text.includes(b)).map((b) => `${f}: ${b}`);
      });
    expect(copies).toEqual([]);
  });

  it('testers agree with the schema patterns', () => {
    expect(['kingcard', 'ab', 'a-1'].map(isMakerId)).toEqual([true, true, true]);
    expect(['K', 'a', '1abc', 'a_b', 'a'.repeat(41), 5, null].map(isMakerId)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(['0', '1'.repeat(32)].map(isCardNo)).toEqual([true, true]);
    expect(['', '1'.repeat(33), '12a', 12].map(isCardNo)).toEqual([false, false, false, false]);
  });
});

describe('core/wire stays importable by the station and the console', () => {
  it('its modules import only typebox, each other and core/cards/card-types.ts (no node, no fastify)', () => {
    const dir = join(ROOT, 'core', 'wire');
    const imports = readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .flatMap((f) => {
        const text = readFileSync(join(dir, f), 'utf8');
        return [...text.matchAll(/^import\s[^'"]*['"]([^'"]+)['"]/gm)].map((m) => `${f} -> ${m[1]}`);
      });
    expect(imports.length).toBeGreaterThan(5);
    const allowed = /-> (typebox|\.\/[a-z-]+\.ts|\.\.\/cards\/card-types\.ts)$/;
    expect(imports.filter((i) => !allowed.test(i))).toEqual([]);
  });
});
