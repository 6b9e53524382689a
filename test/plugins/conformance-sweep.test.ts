/**
 * The kit sweeps the input space the server can send: every card-number length 1..32 (33 refused), gas
 * 0/1/max, count 1/mid/32767, each meter kind. A library that crashes only for some lengths fails, and the
 * report names each input that crashed; the kit survives every crash.
 */
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runConformance } from '../../core/conformance/kit.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

describe('conformance input sweep', () => {
  it('a conformant stand-in passes every swept input, 33 digits refused', async () => {
    const report = await runConformance({
      library: join(ROOT, 'plugins/kingcard/lib/linux-x64/libgascard_kingcard.so'),
      cardTypes: ['4442'],
    });
    const sweep = report.checks.filter((c) => c.id.startsWith('4442.sweep.'));
    expect(sweep.map((c) => c.id)).toEqual([
      ...Array.from({ length: 32 }, (_, i) => `4442.sweep.kh.${i + 1}`),
      '4442.sweep.kh.33',
      '4442.sweep.ql.0',
      '4442.sweep.ql.1',
      '4442.sweep.ql.99999999',
      '4442.sweep.cs.1',
      '4442.sweep.cs.16384',
      '4442.sweep.cs.32767',
      '4442.sweep.klx.1',
      '4442.sweep.klx.2',
    ]);
    expect(sweep.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(report.passed).toBe(true);
  }, 120_000);

  it('a library that crashes only for 17..20-digit card numbers fails, naming each crashing length', async () => {
    const report = await runConformance({
      library: join(ROOT, 'build/native/faults/libgascard_fault_kh_length.so'),
      cardTypes: ['4442'],
      callTimeoutMs: 3000,
    });
    const failed = report.checks.filter((c) => c.status !== 'pass');
    expect(failed.map((c) => c.id)).toEqual([
      '4442.sweep.kh.17',
      '4442.sweep.kh.18',
      '4442.sweep.kh.19',
      '4442.sweep.kh.20',
    ]);
    for (const c of failed) {
      expect(c.finding).toBe('crash');
      expect(c.detail).toContain(`kh of ${c.id.split('.').pop()} digits`);
    }
    expect(report.passed).toBe(false);
    expect(report.driverRestarts).toBe(4);
    // After the crashes the kit went on: 21 digits and the rest of the sweep passed in a new host.
    expect(report.checks.find((c) => c.id === '4442.sweep.kh.21')?.status).toBe('pass');
  }, 120_000);
});
