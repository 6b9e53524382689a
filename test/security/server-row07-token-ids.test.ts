/**
 * Issue 13 #7: tokens were identified by name. A new token that reused a revoked token's name replayed the old
 * token's Idempotency-Keys (receiving its card keys) and could rewrite its writes. Ownership and keys now
 * belong to the token's immutable id; ledger_0004 ties the rows written before it to the token that held the
 * name at the time.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenStore } from '../../core/auth/token-store.ts';
import { backfillTokenIds } from '../../core/ledger/ledger-schema.ts';
import { freshCardNo, startTestServer, type TestServer } from '../api/support.ts';

describe('issue 13 #7: a reused token name inherits nothing', () => {
  let s: TestServer;
  let store: TokenStore;
  beforeAll(async () => {
    s = await startTestServer();
    store = new TokenStore(s.db.database, 0);
  });
  afterAll(async () => s?.close());

  it("no replay of the old token's Idempotency-Keys, no rewrite or confirm of its writes", async () => {
    const old = await store.create('desk-3', 'counter');
    const cardNo = freshCardNo();
    const body = { maker: 'kingcard', cardType: '4442', cardNo, gas: 4, meterKind: 1 };
    const issue = await s.call('POST', '/v1/cards/issue', { token: old.token, idem: 'desk3-issue-1', body });
    expect(issue.status).toBe(201);
    expect(issue.body.actor).toMatchObject({ tokenId: old.info.id, name: 'desk-3' });
    // The old token's own retry replays (same keys).
    const retry = await s.call('POST', '/v1/cards/issue', { token: old.token, idem: 'desk3-issue-1', body });
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.newKey).toBe(issue.body.newKey);

    await store.revoke('desk-3');
    const reused = await store.create('desk-3', 'counter');
    expect(reused.info.id).not.toBe(old.info.id);

    const replay = await s.call('POST', '/v1/cards/issue', { token: reused.token, idem: 'desk3-issue-1', body });
    expect(replay.headers.get('idempotent-replayed')).toBeNull();
    expect(JSON.stringify(replay.body)).not.toContain(issue.body.newKey);
    // Not a replay: a new request, refused by the card rules (the old write is still pending on this card).
    expect(replay.status).toBe(409);

    for (const path of ['rewrite', 'reverse']) {
      const r = await s.call('POST', `/v1/transactions/${issue.body.transactionId}/${path}`, { token: reused.token });
      expect(r.status, path).toBe(403);
    }
    const confirm = await s.call('POST', `/v1/transactions/${issue.body.transactionId}/confirm`, {
      token: reused.token,
      body: { data: issue.body.data },
    });
    expect(confirm.status).toBe(403);
    expect((await s.call('GET', `/v1/transactions/${issue.body.transactionId}`)).body.state).toBe('PREPARED');
  });

  it('ledger_0004 ties old rows to the token that held the name then; unmatched keys can never replay', async () => {
    const db = s.db.database.db;
    const t = (iso: string) => `2020-01-01T00:00:${iso}.000Z`;
    // Two tokens named "till-1" (the first revoked), written as before the migration.
    await db
      .insertInto('api_tokens')
      .values([
        {
          id: 'tok-old',
          name: 'till-1',
          role: 'counter',
          token_sha256: 'a'.repeat(64),
          created_at: t('01'),
          revoked_at: t('05'),
        },
        {
          id: 'tok-new',
          name: 'till-1',
          role: 'counter',
          token_sha256: 'b'.repeat(64),
          created_at: t('06'),
          revoked_at: null,
        },
      ])
      .execute();
    const row = (id: string, at: string) => ({
      id,
      op: 'tool',
      base_op: 'tool',
      state: 'CONFIRMED',
      maker: 'kingcard',
      card_type: '4442',
      card_no: null,
      gas: null,
      refunded_gas: null,
      count: null,
      meter_kind: null,
      tool: 'CHECK',
      tool_params: '{}',
      data: null,
      keys_enc: null,
      source_sha256: null,
      ref_id: null,
      seq_live: 0,
      card_before: null,
      actor_name: 'till-1',
      actor_role: 'counter',
      channel: 'counter',
      idem_key: null,
      error_code: null,
      error_message: null,
      created_at: at,
      updated_at: at,
      confirmed_at: at,
      card_observed: null,
      read_back: null,
      actor_token_id: null,
      clerk: null,
    });
    await db
      .insertInto('ledger_transactions')
      .values([row('tx_migrateold01', t('02')), row('tx_migratenew01', t('07'))])
      .execute();
    const idem = (scope: string, key: string, at: string) => ({
      scope,
      idem_key: key,
      request_hash: 'h',
      tx_id: null,
      status: 201,
      response: '{}',
      created_at: at,
    });
    await db
      .insertInto('ledger_idempotency')
      .values([idem('till-1', 'k-old', t('03')), idem('till-1', 'k-new', t('08')), idem('gone-9', 'k-gone', t('04'))])
      .execute();

    await backfillTokenIds(db, s.db.database.dialect);

    const txs = await sql<{
      id: string;
      actor_token_id: string;
    }>`select id, actor_token_id from ledger_transactions where id like 'tx_migrate%' order by id`.execute(db);
    expect(txs.rows).toEqual([
      { id: 'tx_migratenew01', actor_token_id: 'tok-new' },
      { id: 'tx_migrateold01', actor_token_id: 'tok-old' },
    ]);
    const keys = await sql<{
      idem_key: string;
      scope: string;
    }>`select idem_key, scope from ledger_idempotency where idem_key like 'k-%' order by idem_key`.execute(db);
    expect(keys.rows).toEqual([
      { idem_key: 'k-gone', scope: 'legacy:gone-9' },
      { idem_key: 'k-new', scope: 'tok-new' },
      { idem_key: 'k-old', scope: 'tok-old' },
    ]);
  });
});
