/**
 * Writes the station has started but not finished (the ledger holds them as PREPARED). Kept in memory only,
 * because they hold the card keys the server handed out: after a restart, recovery goes through the server
 * (rewrite/reverse). The public view never shows a key.
 */
import type { CardState, WriteStep } from './readers/card-io.ts';
import type { CardSnapshot } from './card-guard.ts';
import type { RecoveryAction } from './operator-messages.ts';

export interface PendingWrite {
  transactionId: string;
  operation: string;
  cardType: '4442' | '102';
  maker: string;
  cardNo: string | null;
  /** Target card data; null for a format (the station computes the erase). */
  data: string | null;
  oldKey: string;
  newKey: string | null;
  snapshot: CardSnapshot;
  /** The card already carries newKey (the password change went through). */
  passwordChanged: boolean;
  cardState: CardState;
  failedStep?: WriteStep | undefined;
  causeCode?: string | undefined;
  recovery: RecoveryAction[];
  createdAt: string;
}

export type PendingView = Omit<PendingWrite, 'oldKey' | 'newKey' | 'data' | 'snapshot'> & { hasData: boolean };

export class PendingWrites {
  private readonly map = new Map<string, PendingWrite>();

  set(p: PendingWrite): void {
    this.map.set(p.transactionId, p);
  }
  get(id: string): PendingWrite | undefined {
    return this.map.get(id);
  }
  delete(id: string): void {
    this.map.delete(id);
  }

  list(): PendingView[] {
    return [...this.map.values()].map(({ oldKey: _o, newKey: _n, data, snapshot: _s, ...rest }) => ({
      ...rest,
      hasData: data !== null,
    }));
  }
}
