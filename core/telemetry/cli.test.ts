import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cliBudgetMs, cliTimeoutMs } from '../testing/work-budget.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/meterhub.mjs', 'telemetry', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: cliTimeoutMs(),
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

const SAMPLE_OK =
  '68 10 44 33 22 11 00 33 78 81 16 1F 90 00 00 77 66 55 2C 00 77 66 55 2C 31 01 22 11 05 15 20 21 84 13 16';
const SAMPLE_PUBLISHED = SAMPLE_OK.replace(/13 16$/, '08 16');

describe('meterhub telemetry (CLI)', () => {
  it(
    'decode --json prints the frame and the unified reading',
    () => {
      const r = run('decode', SAMPLE_OK, '--profile', 'le', '--json');
      expect(r.code).toBe(0);
      const j = JSON.parse(r.out);
      expect(j.frame).toMatchObject({ address: '78330011223344', di: '901F', ser: 0 });
      expect(j.reading).toMatchObject({
        cumulative: '556677.00',
        settlement: '556677.00',
        meterTime: '2015-05-11T22:01:31',
      });
    },
    cliBudgetMs(1),
  );

  it(
    'decode prints Chinese and English text',
    () => {
      const r = run('decode', SAMPLE_OK, '--profile', 'le');
      expect(r.code).toBe(0);
      expect(r.out).toContain('当前累计 Cumulative:    556677.00 m³');
      expect(r.out).toContain('阀门 Valve:             关 closed');
    },
    cliBudgetMs(1),
  );

  it(
    'the published sample exits 2 with FRAME_CHECKSUM',
    () => {
      const r = run('decode', SAMPLE_PUBLISHED, '--profile', 'le');
      expect(r.code).toBe(2);
      expect(r.err).toContain('FRAME_CHECKSUM');
      const j = run('decode', SAMPLE_PUBLISHED, '--json');
      expect(j.code).toBe(2);
      expect(JSON.parse(j.out).code).toBe('FRAME_CHECKSUM');
    },
    cliBudgetMs(2),
  );

  it(
    'encode read / valve / read-address print request hex',
    () => {
      expect(run('encode', 'read', '--address', '78330011223344').out.trim()).toBe(
        'FE FE FE FE 68 30 44 33 22 11 00 33 78 01 03 1F 90 00 A0 16',
      );
      expect(
        run(
          'encode',
          'read',
          '--address',
          '78330011223344',
          '--di',
          'D120',
          '--ser',
          '2',
          '--profile',
          'be',
          '--preamble',
          '0',
        ).out.trim(),
      ).toBe('68 30 44 33 22 11 00 33 78 01 03 D1 20 02 E4 16');
      expect(
        run(
          'encode',
          'valve',
          '--address',
          '78330011223344',
          '--action',
          'open',
          '--ser',
          '1',
          '--preamble',
          '0',
        ).out.trim(),
      ).toBe('68 30 44 33 22 11 00 33 78 04 04 17 A0 01 55 02 16');
      expect(run('encode', 'read-address').out.trim()).toBe(
        'FE FE FE FE 68 AA AA AA AA AA AA AA AA 03 03 0A 81 00 49 16',
      );
    },
    cliBudgetMs(4),
  );

  it.each([
    [['decode', 'xyz'], 'TELEMETRY_BAD_HEX'],
    [['decode', SAMPLE_OK, '--profile', 'nope'], 'TELEMETRY_PROFILE_UNKNOWN'],
    [['encode', 'read', '--address', '123'], 'TELEMETRY_BAD_ADDRESS'],
    [['encode', 'read'], 'TELEMETRY_BAD_VALUE'],
    [['encode', 'read', '--address', '78330011223344', '--di', '90'], 'TELEMETRY_BAD_DI'],
    [['encode', 'read', '--address', '78330011223344', '--ser', '256'], 'TELEMETRY_BAD_VALUE'],
    [['encode', 'valve', '--address', '78330011223344'], 'TELEMETRY_BAD_VALUE'],
    [['encode', 'write', '--address', '78330011223344'], 'TELEMETRY_BAD_VALUE'],
    [['encode', 'read', '--bogus'], 'unknown option'],
    [['decode'], 'missing required argument'],
  ])(
    'bad input %j → exit 2 (%s)',
    (args, text) => {
      const r = run(...(args as string[]));
      expect(r.code).toBe(2);
      expect(r.err).toContain(text);
    },
    cliBudgetMs(1),
  );
});
