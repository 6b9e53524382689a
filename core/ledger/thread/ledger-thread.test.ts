/**
 * The ledger thread itself: errors cross intact, calls of one turn share a message, a dead thread answers
 * 503 for what was in flight and the next call gets a new one, close lets in-flight units finish, and the
 * audit log's appends through it are chained and verifiable. The ledger's rules through the thread are the
 * contract suite's (ledger-store.test.ts, "sqlite-thread").
 */
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, type AuditEntry } from '../../audit/audit-log.ts';
import { KeyVault } from '../key-vault.ts';
import { ThreadedLedgerStore } from '../threaded-ledger-store.ts';
import { openTestDatabase, type TestDatabase } from '../testing/databases.ts';
import type { Actor } from '../ledger-store.ts';
import { LedgerThread } from './ledger-thread.ts';

const counter: Actor = { name: 'counter-1', role: 'counter', channel: 'counter' };
const M = 'kingcard';
let seq = 0;
const cardNo = () => `7${String(++seq).padStart(7, '0')}`;
const write = { data: 'AB', oldKey: 'O1', newKey: 'N1' };

describe('ledger thread', () => {
  let t: TestDatabase;
  let thread: LedgerThread;
  let store: ThreadedLedgerStore;
  const vault = KeyVault.random();
  let exits: number[];

  beforeEach(async () => {
    exits = [];
    t = await openTestDatabase('sqlite');
    thread = new LedgerThread({ file: t.database.location, vault, onExit: (x) => exits.push(x.code) });
    await thread.start();
    store = new ThreadedLedgerStore(t.database, vault, thread);
  });
  afterEach(async () => {
    await thread.close();
    await t.cleanup();
  });

  const issue = (no: string, gas = 0) =>
    store.commitIssue({ actor: counter, maker: M, cardType: '4442', cardNo: no, gas, count: 1, meterKind: 1, write });

  it('commits on the thread: the main connection reads the row the thread wrote, keys decrypt here', async () => {
    const no = cardNo();
    const r = await issue(no, 20);
    expect(r).toMatchObject({
      status: 201,
      replayed: false,
      body: { operation: 'issue', count: 1, oldKey: 'O1', newKey: 'N1' },
    });
    const row = await store.tx(r.transactionId!);
    expect(row).toMatchObject({ card_no: no, state: 'PREPARED' });
    expect(store.keysOf(row!)).toEqual({ oldKey: 'O1', newKey: 'N1' });
  });

  it('a refusal arrives as the same MeterHubError: code, status, texts and details', async () => {
    const no = cardNo();
    await issue(no);
    const e = await issue(no).catch((x: unknown) => x);
    expect(e).toMatchObject({
      name: 'MeterHubError',
      code: 'CARD_ALREADY_ISSUED',
      status: 409,
      details: { cardNo: no, ledgerCount: 1, nextStep: 'reissue' },
    });
    expect((e as { zh: string }).zh).toContain('台账次数 1');
    expect((e as { en: string }).en).toContain('ledger count 1');
  });

  it('a call that cannot be copied to the thread fails alone; the thread and the other calls go on', async () => {
    const no = cardNo();
    // In the same turn, so both ride in one message until the copy fails.
    const bad = store.commitIssue({
      actor: counter,
      maker: M,
      cardType: '4442',
      cardNo: cardNo(),
      gas: 0,
      count: 1,
      meterKind: 1,
      write,
      decorate: (() => ({})) as never,
    });
    const good = issue(no);
    await expect(bad).rejects.toThrow(/could not be cloned/);
    expect(await good).toMatchObject({ status: 201 });
    expect(await issue(cardNo())).toMatchObject({ status: 201 });
    expect(thread.starts).toBe(1);
  });

  it('calls made in one event-loop turn travel in one message', async () => {
    const before = thread.messages;
    const rs = await Promise.all(Array.from({ length: 10 }, () => issue(cardNo())));
    expect(rs.every((r) => r.status === 201)).toBe(true);
    expect(thread.messages - before).toBe(1);
  });

  it('a thread that dies answers 503 LEDGER_THREAD_DOWN for the calls in flight; the next call starts a new thread', async () => {
    const no = cardNo();
    const idem = { scope: 'counter-1', key: 'k-crash', requestHash: 'h' };
    const body = {
      actor: counter,
      maker: M,
      cardType: '4442',
      cardNo: no,
      gas: 5,
      count: 1,
      meterKind: 1,
      write,
      idem,
    };
    // Another connection holds the write lock, so the thread's unit is in flight (waiting in busy_timeout) when
    // the thread is killed; it cannot have committed.
    const other = new Database(t.database.location);
    other.exec('begin immediate');
    const inFlight = store.commitIssue(body).then(
      () => 'committed',
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 200));
    const killed = thread.kill();
    other.exec('rollback');
    other.close();
    await killed;
    expect(await inFlight).toMatchObject({
      code: 'LEDGER_THREAD_DOWN',
      status: 503,
      details: { retryAfterSeconds: 1 },
    });
    expect(exits).toEqual([1]);
    expect(await store.card(M, no)).toBeUndefined();
    // The retry with the same key commits once, on a new thread.
    const retry = await store.commitIssue(body);
    expect(retry).toMatchObject({ status: 201, replayed: false });
    expect(thread.starts).toBe(2);
    expect(await store.commitIssue(body)).toMatchObject({
      status: 201,
      replayed: true,
      transactionId: retry.transactionId,
    });
    const rows = await store.db.selectFrom('ledger_transactions').select('id').where('card_no', '=', no).execute();
    expect(rows).toHaveLength(1);
  });

  it('close lets every call in flight commit and answer, then stops the thread', async () => {
    const nos = Array.from({ length: 20 }, cardNo);
    const calls = nos.map((no) => issue(no));
    const closed = thread.close();
    const rs = await Promise.all(calls);
    await closed;
    expect(rs.map((r) => r.status)).toEqual(nos.map(() => 201));
    for (const no of nos) expect(await store.card(M, no)).toMatchObject({ count: 1 });
    await expect(issue(cardNo())).rejects.toMatchObject({ code: 'LEDGER_THREAD_CLOSING', status: 503 });
  });

  it('audit appends through the thread are chained and verify on the main connection', async () => {
    const audit = new AuditLog(t.database, { thread });
    const entry = (n: number): AuditEntry => ({
      at: new Date().toISOString(),
      requestId: `r${n}`,
      actor: 'counter-1',
      role: 'counter',
      channel: 'counter',
      method: 'POST',
      path: '/v1/cards/purchase',
      route: '/v1/cards/purchase',
      status: 201,
      transactionId: null,
      idempotencyKey: null,
      ip: null,
      durationMs: 1,
    });
    await Promise.all(Array.from({ length: 25 }, (_, n) => audit.append(entry(n))));
    await audit.flush();
    const v = await audit.verify();
    expect(v).toMatchObject({ ok: true, rows: 25, lastSeq: 25 });
  });
});
