/**
 * Crash between the ledger commit and the response: the server (a real `meterhub serve` child process) kills
 * itself with SIGKILL right after committing a purchase (METERHUB_FAULT=kill-after-ledger-commit, armed
 * through METERHUB_ALLOW_FAULTS=1 by core/chaos/serve-child.ts). After a restart the same Idempotency-Key
 * returns the same card data and keys, and the ledger holds exactly one purchase. SQLite and PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openServerDatabase } from '../../core/server/server.ts';
import { TokenStore } from '../../core/auth/token-store.ts';
import { KeyVault } from '../../core/ledger/key-vault.ts';
import { LedgerStore } from '../../core/ledger/ledger-store.ts';
import { createPgDatabase } from '../../core/ledger/testing/databases.ts';
import { serviceAvailable } from '../../core/testing/services.ts';
import { startServe } from '../../core/chaos/serve-child.ts';
import { freshCardNo } from './support.ts';
import { meterWriteBack } from '../../core/testing/stand-in-meter.ts';

const pgOk = await serviceAvailable('postgres');

async function post(url: string, path: string, token: string, body: unknown, idem?: string) {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...(idem ? { 'idempotency-key': idem } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe.skipIf(kind === 'postgres' && !pgOk)(`crash after the ledger commit (${kind})`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), `mh-crash-${kind}-`));
    let drop = async () => {};
    afterAll(async () => {
      await drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('same Idempotency-Key after restart: same data and keys, exactly one purchase', async () => {
      let databaseUrl: string | undefined;
      if (kind === 'postgres') {
        const p = await createPgDatabase();
        drop = p.drop;
        databaseUrl = p.url;
      }
      const setup = await openServerDatabase({ dataDir, ...(databaseUrl ? { databaseUrl } : {}) });
      const token = (await new TokenStore(setup).create('crash-counter', 'counter')).token;
      await setup.close();

      // 1. A normal server: issue and confirm a card; graceful shutdown on SIGTERM.
      const s1 = await startServe({ dataDir, ...(databaseUrl ? { databaseUrl } : {}) });
      const cardNo = freshCardNo();
      const issue = await post(s1.url, '/v1/cards/issue', token, {
        maker: 'kingcard',
        cardType: '4442',
        cardNo,
        gas: 0,
        meterKind: 1,
      });
      expect(issue.status).toBe(201);
      expect(
        (await post(s1.url, `/v1/transactions/${issue.body.transactionId}/confirm`, token, { data: issue.body.data }))
          .status,
      ).toBe(200);
      s1.proc.kill('SIGTERM');
      expect(await s1.exited).toEqual({ code: 0, signal: null });
      const card = meterWriteBack('kingcard', '4442', issue.body.data);

      // 2. With the fault: the purchase commits, then the process dies before answering.
      const s2 = await startServe({
        dataDir,
        ...(databaseUrl ? { databaseUrl } : {}),
        fault: 'kill-after-ledger-commit',
      });
      const key = `crash-${kind}-${cardNo}`;
      const body = { cardType: '4442', data: card, cardNo, gas: 25 };
      await expect(post(s2.url, '/v1/cards/purchase', token, body, key)).rejects.toThrow();
      expect((await s2.exited).signal).toBe('SIGKILL');

      // The ledger already holds the purchase, with its data, and only one.
      const db = await openServerDatabase({ dataDir, ...(databaseUrl ? { databaseUrl } : {}) });
      const ledger = new LedgerStore(db, KeyVault.load({ dataDir }));
      const rows = await ledger.db
        .selectFrom('ledger_transactions')
        .selectAll()
        .where('card_no', '=', cardNo)
        .where('op', '=', 'purchase')
        .execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ state: 'PREPARED', count: 2, gas: 25, idem_key: key });
      const keys = ledger.keysOf(rows[0]!);

      // 3. Restart without the fault: the retry gets the recorded answer, not a new sale.
      const s3 = await startServe({ dataDir, ...(databaseUrl ? { databaseUrl } : {}) });
      const retry = await post(s3.url, '/v1/cards/purchase', token, body, key);
      expect(retry.status).toBe(201);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(retry.body).toMatchObject({
        transactionId: rows[0]!.id,
        data: rows[0]!.data,
        count: 2,
        gas: 25,
        oldKey: keys.oldKey,
        newKey: keys.newKey,
      });
      const again = await post(s3.url, '/v1/cards/purchase', token, body, key);
      expect(again.body).toEqual(retry.body);
      const other = await post(s3.url, '/v1/cards/purchase', token, body, `${key}-other`);
      expect(other.status).toBe(409);
      expect(other.body.error.code).toBe('LAST_WRITE_UNCONFIRMED');
      const c = await post(s3.url, `/v1/transactions/${retry.body.transactionId}/confirm`, token, {
        data: retry.body.data,
      });
      expect(c.body.state).toBe('CONFIRMED');
      const after = await ledger.db
        .selectFrom('ledger_transactions')
        .select(['id'])
        .where('card_no', '=', cardNo)
        .where('op', '=', 'purchase')
        .execute();
      expect(after).toHaveLength(1);
      await db.close();
      s3.proc.kill('SIGTERM');
      expect((await s3.exited).code).toBe(0);
    }, 120_000);
  });
}
