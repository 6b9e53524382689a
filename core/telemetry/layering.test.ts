/**
 * Telemetry is a low layer: it defines the profile registry and its sink, and plugins push into it. An import of
 * plugins (the bundled folder, core/plugins) from here would bring back the module-global scan of issue 15.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('core/telemetry layering', () => {
  it('no telemetry module imports plugins or core/plugins', () => {
    const dir = import.meta.dirname;
    const offenders: string[] = [];
    for (const f of readdirSync(dir)
      .filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))
      .sort()) {
      const text = readFileSync(join(dir, f), 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        if (/(^|\/)plugins(\/|$)/.test(m[1]!)) offenders.push(`${f}: ${m[1]}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
