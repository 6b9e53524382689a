/**
 * `meterhub import meters` as ops run it: the dry run prints the report and writes nothing (exit 3: a row was
 * refused), the real import writes the meters and appends the batch to the audit trail, a re-run changes nothing —
 * on SQLite (--data) and PostgreSQL (--database-url).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../core/ledger/testing/databases.ts';
import { CLI } from '../station/support.ts';
import { expectCliAudit } from '../golive/import-support.ts';

const CSV = [
  'address,maker,profile,transport,busPath,busPosition',
  '31000000000001,chint,chint,serial,/dev/ttyUSB0,1',
  '31000000000002,chint,chint,serial,/dev/ttyUSB0,', // no position
].join('\n');

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`meterhub import meters (${kind})`, () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await openTestDatabase(kind);
    });
    afterAll(async () => t?.cleanup());

    const cli = (...args: string[]) =>
      spawnSync(
        process.execPath,
        [CLI, 'import', 'meters', ...args, ...(kind === 'postgres' ? ['--database-url', t.url] : []), '--data', t.dir],
        { encoding: 'utf8', env: { ...process.env, METERHUB_PLUGIN_PATH: '', DATABASE_URL: '' } },
      );
    const meters = () => t.database.db.selectFrom('meters').selectAll().execute();

    it('dry run, import, re-run; the batch is in the audit trail', async () => {
      const file = join(t.dir, 'old-meters.csv');
      writeFileSync(file, CSV);
      const dry = cli('--file', file, '--dry-run');
      expect(dry.status, dry.stderr).toBe(3);
      expect(dry.stdout).toMatch(/DRY RUN/);
      expect(dry.stdout).toMatch(/第 3 行 line 3 \[IMPORT_TRANSPORT_INCOMPLETE\] 31000000000002: 通道字段不全/);
      expect(await meters()).toHaveLength(0);

      const real = cli('--file', file, '--json');
      expect(real.status, real.stderr).toBe(3);
      const report = JSON.parse(real.stdout);
      expect(report).toMatchObject({ kind: 'meters', inserted: 1, invalid: 1, fileName: 'old-meters.csv' });
      expect(await meters()).toEqual([
        expect.objectContaining({
          address: '31000000000001',
          import_batch_id: report.batchId,
          import_sha256: report.sourceSha256,
        }),
      ]);
      await expectCliAudit(t.database, 'meters', report);

      const again = cli('--file', file, '--json');
      expect(JSON.parse(again.stdout)).toMatchObject({ inserted: 0, unchanged: 1 });
    }, 240_000); // three CLI processes, each starting tsx and the plugin host: slow on a loaded machine
  });
}
