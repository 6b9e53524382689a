/**
 * The gateway's own durable queue for MQTT publishes (gateway_outbound). A publish is "sent" only when
 * the broker's PUBACK has arrived; until then the row stays pending and survives broker outages and
 * gateway crashes. mqtt.js's in-memory outgoing store is never the place a message waits.
 */
import type { Kysely, Transaction } from 'kysely';

export interface OutboundMessage {
  id: number;
  topic: string;
  payload: string;
  qos: 0 | 1;
  retain: boolean;
  commandId: string | null;
  createdAt: number;
}

export class OutboundQueue {
  constructor(
    private readonly db: Kysely<any>,
    readonly gatewayId: string,
  ) {}

  async enqueue(
    msg: { topic: string; payload: string; qos?: 0 | 1; retain?: boolean; commandId?: string },
    trx: Kysely<any> | Transaction<any> = this.db,
    now = Date.now(),
  ): Promise<number> {
    const row = await trx
      .insertInto('gateway_outbound')
      .values({
        gateway_id: this.gatewayId,
        topic: msg.topic,
        payload: msg.payload,
        qos: msg.qos ?? 1,
        retain: msg.retain ? 1 : 0,
        status: 'pending',
        attempts: 0,
        command_id: msg.commandId ?? null,
        created_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  async pending(limit: number, excludeIds: Set<number> = new Set()): Promise<OutboundMessage[]> {
    const rows = await this.db
      .selectFrom('gateway_outbound')
      .selectAll()
      .where('gateway_id', '=', this.gatewayId)
      .where('status', '=', 'pending')
      .orderBy('id')
      .limit(limit + excludeIds.size)
      .execute();
    return rows
      .filter((r) => !excludeIds.has(Number(r.id)))
      .slice(0, limit)
      .map((r) => ({
        id: Number(r.id),
        topic: r.topic,
        payload: r.payload,
        qos: Number(r.qos) as 0 | 1,
        retain: Number(r.retain) === 1,
        commandId: r.command_id ?? null,
        createdAt: Number(r.created_at),
      }));
  }

  async markSent(id: number, now = Date.now()): Promise<void> {
    await this.db
      .updateTable('gateway_outbound')
      .set({ status: 'sent', sent_at: now, attempts: 1 })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .execute();
  }

  /** Drops an unsent message (e.g. a command past its expiry must never be delivered late). */
  async cancel(id: number): Promise<boolean> {
    const r = await this.db
      .updateTable('gateway_outbound')
      .set({ status: 'cancelled' })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async cancelCommand(commandId: string): Promise<boolean> {
    const r = await this.db
      .updateTable('gateway_outbound')
      .set({ status: 'cancelled' })
      .where('command_id', '=', commandId)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async backlog(): Promise<number> {
    const r = await this.db
      .selectFrom('gateway_outbound')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('gateway_id', '=', this.gatewayId)
      .where('status', '=', 'pending')
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }
}
