/**
 * The ledger with its writes on the ledger thread (core/ledger/thread/): every commit method goes to the
 * thread, where the same LedgerStore code runs it inside the shared group commit; reads, prechecks and
 * replays stay here on the main thread's connection. Used on SQLite, where a commit would otherwise run its
 * statements and its fsync on the event loop. PostgreSQL needs none of it (the server does that work).
 */
import type { MeterHubDatabase } from '../db/database.ts';
import type { KeyVault } from './key-vault.ts';
import type { Decoration } from './ledger-present.ts';
import {
  LedgerStore,
  type Actor,
  type CardWriteOut,
  type FormatInput,
  type Idem,
  type IssueInput,
  type PurchaseInput,
  type RefundInput,
  type ReissueInput,
  type ToolInput,
  type Verdict,
  type WriteResult,
} from './ledger-store.ts';
import type { LedgerThread } from './thread/ledger-thread.ts';
import type { LedgerWrite } from './thread/wire.ts';

export class ThreadedLedgerStore extends LedgerStore {
  constructor(
    database: MeterHubDatabase,
    vault: KeyVault,
    readonly thread: LedgerThread,
  ) {
    super(database, vault);
  }

  private remote(op: LedgerWrite, args: unknown[]): Promise<WriteResult> {
    return this.thread.call<WriteResult>(op, args);
  }

  override commitPurchase(i: PurchaseInput): Promise<WriteResult> {
    return this.remote('commitPurchase', [i]);
  }
  override commitRefund(i: RefundInput): Promise<WriteResult> {
    return this.remote('commitRefund', [i]);
  }
  override commitIssue(i: IssueInput): Promise<WriteResult> {
    return this.remote('commitIssue', [i]);
  }
  override commitReissue(i: ReissueInput): Promise<WriteResult> {
    return this.remote('commitReissue', [i]);
  }
  override commitFormat(i: FormatInput): Promise<WriteResult> {
    return this.remote('commitFormat', [i]);
  }
  override commitTool(i: ToolInput): Promise<WriteResult> {
    return this.remote('commitTool', [i]);
  }
  override rewrite(id: string, actor: Actor, idem?: Idem, decorate?: Decoration): Promise<WriteResult> {
    return this.remote('rewrite', [id, actor, idem, decorate]);
  }
  override reverse(id: string, actor: Actor, idem?: Idem, readBack?: string): Promise<WriteResult> {
    return this.remote('reverse', [id, actor, idem, readBack]);
  }
  override cancelReissue(
    id: string,
    i: { actor: Actor; write: CardWriteOut; idem?: Idem | undefined; decorate?: Decoration | undefined },
  ): Promise<WriteResult> {
    return this.remote('cancelReissue', [id, i]);
  }
  override confirm(id: string, verdict: Verdict, idem?: Idem, readBack?: string): Promise<WriteResult> {
    return this.remote('confirm', [id, verdict, idem, readBack]);
  }
}
