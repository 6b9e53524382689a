/**
 * Telemetry tables: readings, the per-sink outbox, the REST feed, sink state, the gateways' durable
 * outbound MQTT queue, valve commands, collector upload progress and the quarantine of readings from unknown meters.
 * One schema for SQLite and PostgreSQL.
 *
 * Volumes are decimal strings: TEXT in SQLite (its NUMERIC affinity would turn "12.30" into a REAL) and
 * unconstrained NUMERIC in PostgreSQL (which keeps the scale it was given, so "12.30" reads back as "12.30").
 */
import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../db/database.ts';
import type { DomainMigration } from '../db/migrations.ts';

function serialPk(dialect: DialectName): string {
  return dialect === 'postgres' ? 'bigserial primary key' : 'integer primary key autoincrement';
}

function volume(dialect: DialectName): string {
  return dialect === 'postgres' ? 'numeric' : 'text';
}

async function exec(db: Kysely<any>, text: string): Promise<void> {
  await sql.raw(text).execute(db);
}

export const READINGS_MIGRATIONS: DomainMigration[] = [
  {
    name: 'telemetry_0001_readings',
    async up(db, dialect) {
      const big = dialect === 'postgres' ? 'bigint' : 'integer';
      await exec(
        db,
        `create table readings (
        seq ${serialPk(dialect)},
        id text not null unique,
        dedupe_key text not null,
        meter_id text not null,
        maker text not null,
        meter_type integer not null,
        meter_time text,
        received_at text not null,
        cumulative ${volume(dialect)},
        settlement ${volume(dialect)},
        history text not null,
        status text not null,
        source text not null,
        origin text,
        raw_frame text not null,
        meta text not null,
        stored_at ${big} not null
      )`,
      );
      await exec(db, 'create index readings_meter on readings (meter_id, meter_time)');
      // One row per reading per sink, written in the reading's transaction; deleted once delivered.
      await exec(
        db,
        `create table reading_outbox (
        id ${serialPk(dialect)},
        reading_id text not null,
        sink text not null,
        status text not null,
        attempts integer not null default 0,
        next_attempt_at ${big} not null,
        lease_until ${big} not null default 0,
        lease_owner text,
        last_error text,
        created_at ${big} not null,
        dead_at ${big},
        unique (reading_id, sink)
      )`,
      );
      await exec(db, 'create index reading_outbox_due on reading_outbox (sink, status, next_attempt_at)');
      // The REST cursor feed: positions are assigned under a lock, so they are in commit order.
      await exec(
        db,
        `create table reading_feed (
        pos ${serialPk(dialect)},
        reading_id text not null unique,
        added_at ${big} not null
      )`,
      );
      await exec(
        db,
        `create table reading_sink_state (
        sink text primary key,
        delivered_total ${big} not null default 0,
        last_delivered_at ${big},
        consumer_cursor ${big},
        consumer_seen_at ${big}
      )`,
      );
    },
  },
  {
    name: 'telemetry_0002_gateway',
    async up(db, dialect) {
      const big = dialect === 'postgres' ? 'bigint' : 'integer';
      // The gateway's own durable queue for MQTT publishes (never mqtt.js's in-memory store).
      await exec(
        db,
        `create table gateway_outbound (
        id ${serialPk(dialect)},
        gateway_id text not null,
        topic text not null,
        payload text not null,
        qos integer not null,
        retain integer not null default 0,
        status text not null,
        attempts integer not null default 0,
        command_id text,
        created_at ${big} not null,
        sent_at ${big}
      )`,
      );
      await exec(db, 'create index gateway_outbound_pending on gateway_outbound (gateway_id, status, id)');
      await exec(
        db,
        `create table meter_commands (
        id text primary key,
        meter_id text not null,
        transport text not null,
        action text not null,
        ser integer not null,
        request_frame text not null,
        status text not null,
        reply_frame text,
        error_code text,
        created_at ${big} not null,
        updated_at ${big} not null
      )`,
      );
      // What the gateway has durably stored from each collector: the ack it owes the collector.
      await exec(
        db,
        `create table collector_progress (
        collector_id text primary key,
        committed_seq ${big} not null,
        acked_seq ${big} not null,
        updated_at ${big} not null
      )`,
      );
      // Collector records that are not readable readings: kept (durably) so they can be acknowledged
      // without ever deleting something the gateway has not stored.
      await exec(
        db,
        `create table collector_quarantine (
        collector_id text not null,
        seq ${big} not null,
        raw text not null,
        reason text not null,
        created_at ${big} not null,
        primary key (collector_id, seq)
      )`,
      );
    },
  },
  {
    name: 'telemetry_0003_feed_consumers',
    async up(db, dialect) {
      const big = dialect === 'postgres' ? 'bigint' : 'integer';
      // One cursor per billing consumer (token id, or token id + consumer name). Cursors are stored as digit
      // strings: SQLite drivers hand back integers as JS numbers, which lose precision above 2^53.
      // reading_sink_state.consumer_cursor (one shared cursor any caller could move) is no longer used.
      await exec(
        db,
        `create table reading_feed_consumers (
        consumer text primary key,
        token_id text,
        token_name text,
        cursor text not null,
        seen_at ${big} not null
      )`,
      );
    },
  },
  {
    name: 'telemetry_0004_reading_quarantine',
    async up(db, dialect) {
      const big = dialect === 'postgres' ? 'bigint' : 'integer';
      // Readings from meter addresses the directory does not know (core/readings/quarantine.ts). The row keeps the
      // whole unified reading (JSON, volumes as decimal strings) so ops can later store it as a reading of a
      // registered meter with its original reading time. id is the reading id: a redelivery makes no second row.
      await exec(
        db,
        `create table reading_quarantine (
        seq ${serialPk(dialect)},
        id text not null unique,
        meter_id text not null,
        maker text not null,
        meter_time text,
        received_at text not null,
        source text not null,
        origin text,
        raw_frame text not null,
        reading text not null,
        reason text not null,
        state text not null,
        created_at ${big} not null,
        acted_at ${big},
        acted_by text,
        assigned_to text,
        assigned_reading_id text,
        note text
      )`,
      );
      await exec(db, 'create index reading_quarantine_state on reading_quarantine (state, meter_id, seq)');
    },
  },
];
