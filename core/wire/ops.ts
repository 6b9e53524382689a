/**
 * What the ops views send (core/server/console/routes.ts: /v1/ops/transactions and /v1/ops/gateway; the same sink and
 * meter stats feed /metrics). The server builds these shapes (core/server/console/ops-queries.ts,
 * core/readings/store.ts, gateways/serial/bus-master.ts) and the console reads them (console/src/api.ts), both
 * typed from here.
 *
 * These routes have no response schema (JSON.stringify sends what the handler returns). The schemas here are
 * checked against real answers in test/wire/wire-answers.test.ts instead of being attached: attaching them
 * would change the OpenAPI page and make fast-json-stringify the serialiser of views that never had one.
 */
import { Type, type Static } from 'typebox';
import { Nullable, StringEnum } from './schema-kit.ts';
import { TX_STATES } from './transaction.ts';

export const NEXT_STEP_ACTIONS = ['rewrite', 'reverse', 'confirm', 'cancel-reissue', 'confirm-rewrite'] as const;

/** What ops may do next with a transaction, and where (the console, or the counter station with the card). */
export const NextStep = Type.Object(
  {
    action: StringEnum(NEXT_STEP_ACTIONS),
    where: StringEnum(['console', 'station']),
    /** For confirm-rewrite: the transaction that replaced this one. */
    transactionId: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type NextStep = Static<typeof NextStep>;

/** One row of GET /v1/ops/transactions. */
export const OpsTx = Type.Object(
  {
    transactionId: Type.String(),
    operation: Type.String(),
    baseOperation: Type.String(),
    state: StringEnum(TX_STATES),
    maker: Type.String(),
    cardType: Type.String(),
    cardNo: Nullable(Type.String()),
    gas: Nullable(Type.Integer()),
    count: Nullable(Type.Integer()),
    refId: Nullable(Type.String()),
    actor: Type.Object(
      { name: Type.String(), role: Type.String(), channel: Type.String() },
      { additionalProperties: false },
    ),
    /** station, station-sim (training sale on the simulated reader), bank, … */
    channel: Type.String(),
    /** The clerk (营业员) the station named; null when none. */
    clerk: Nullable(Type.String()),
    error: Nullable(Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: false })),
    createdAt: Type.String(),
    updatedAt: Type.String(),
    confirmedAt: Nullable(Type.String()),
    /** Unconfirmed or failed: the card is blocked until ops or the counter settles it. */
    needsAttention: Type.Boolean(),
    nextSteps: Type.Array(NextStep),
  },
  { additionalProperties: false },
);
export type OpsTx = Static<typeof OpsTx>;

/** A billing consumer of the REST feed and how far it has read. */
export const FeedConsumer = Type.Object(
  {
    /** tokenId, or `${tokenId}/${name}` for a named consumer behind that token. */
    consumer: Type.String(),
    tokenId: Nullable(Type.String()),
    tokenName: Nullable(Type.String()),
    /** Digit string: the position it last asked after (its acknowledgement); positions may pass 2^53. */
    cursor: Type.String({ pattern: '^[0-9]+$' }),
    seenAt: Type.Number(),
    /** Feed rows after its cursor. */
    backlog: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type FeedConsumer = Static<typeof FeedConsumer>;

/** One billing sink's outbox (GET /v1/ops/gateway `sinks`, the outbox metrics). */
export const SinkStats = Type.Object(
  {
    sink: Type.String(),
    /** Rows waiting (including those being delivered right now). */
    backlog: Type.Integer({ minimum: 0 }),
    inFlight: Type.Integer({ minimum: 0 }),
    deadLetters: Type.Integer({ minimum: 0 }),
    /** Age of the oldest undelivered row, ms (0 when the backlog is empty). */
    lagMs: Type.Number({ minimum: 0 }),
    deliveredTotal: Type.Integer({ minimum: 0 }),
    lastDeliveredAt: Nullable(Type.Number()),
    /** REST feed only: the slowest consumer's backlog (feed rows it has not fetched; all rows when none asked yet). */
    consumerBacklog: Type.Optional(Type.Integer({ minimum: 0 })),
    /** REST feed only: every consumer's own cursor. */
    consumers: Type.Optional(Type.Array(FeedConsumer)),
  },
  { additionalProperties: false },
);
export type SinkStats = Static<typeof SinkStats>;

export const METER_STATES = ['ok', 'suspect', 'unknown'] as const;
export type MeterState = (typeof METER_STATES)[number];

/** One meter on a serial bus (GET /v1/ops/gateway `buses[].meters`, the meter metrics). */
export const MeterStats = Type.Object(
  {
    address: Type.String(),
    state: StringEnum(METER_STATES),
    polls: Type.Integer({ minimum: 0 }),
    attempts: Type.Integer({ minimum: 0 }),
    timeouts: Type.Integer({ minimum: 0 }),
    successes: Type.Integer({ minimum: 0 }),
    errorReplies: Type.Integer({ minimum: 0 }),
    /** Replies refused as readings (heat meter, undefined layout, wrong DI byte order); see lastRefusal. */
    refused: Type.Integer({ minimum: 0 }),
    /** Code of the last refusal (TELEMETRY_METER_TYPE_UNSUPPORTED, …): tells ops the meter's profile is wrong. */
    lastRefusal: Nullable(Type.String()),
    badFrames: Type.Integer({ minimum: 0 }),
    consecutiveFailures: Type.Integer({ minimum: 0 }),
    /** First sweep in which the meter is polled again. */
    nextCycle: Type.Integer(),
    lastReadAt: Nullable(Type.String()),
  },
  { additionalProperties: false },
);
export type MeterStats = Static<typeof MeterStats>;
