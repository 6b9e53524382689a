/**
 * Durable record of every meter command (valve open/close) and its outcome, whatever the transport.
 */
import type { Kysely } from 'kysely';

export type CommandStatus = 'queued' | 'sent' | 'replied' | 'rejected' | 'timeout' | 'failed';

export interface CommandRecord {
  id: string;
  meterId: string;
  transport: 'serial' | 'mqtt';
  action: string;
  ser: number;
  requestFrame: string;
  status: CommandStatus;
  replyFrame: string | null;
  errorCode: string | null;
  createdAt: number;
  updatedAt: number;
}

export class CommandLog {
  constructor(private readonly db: Kysely<any>) {}

  async create(
    c: Omit<CommandRecord, 'status' | 'replyFrame' | 'errorCode' | 'createdAt' | 'updatedAt'> & {
      status?: CommandStatus;
    },
    now = Date.now(),
  ): Promise<void> {
    await this.db
      .insertInto('meter_commands')
      .values({
        id: c.id,
        meter_id: c.meterId,
        transport: c.transport,
        action: c.action,
        ser: c.ser,
        request_frame: c.requestFrame,
        status: c.status ?? 'queued',
        reply_frame: null,
        error_code: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
  }

  async update(
    id: string,
    patch: { status: CommandStatus; replyFrame?: string | null; errorCode?: string | null },
    now = Date.now(),
  ): Promise<void> {
    await this.db
      .updateTable('meter_commands')
      .set({
        status: patch.status,
        ...(patch.replyFrame !== undefined ? { reply_frame: patch.replyFrame } : {}),
        ...(patch.errorCode !== undefined ? { error_code: patch.errorCode } : {}),
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
  }

  async get(id: string): Promise<CommandRecord | undefined> {
    const r = await this.db.selectFrom('meter_commands').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) return undefined;
    return {
      id: r.id,
      meterId: r.meter_id,
      transport: r.transport,
      action: r.action,
      ser: Number(r.ser),
      requestFrame: r.request_frame,
      status: r.status,
      replyFrame: r.reply_frame ?? null,
      errorCode: r.error_code ?? null,
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
    };
  }
}
