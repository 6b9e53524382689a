/**
 * The quarantine of readings from unknown meter addresses (core/readings/quarantine.ts, routes in
 * core/readings/routes.ts): what ops send and get back. The console reads the same types (console/src/api.ts).
 */
import { Type, type Static } from 'typebox';
import { METER_ADDRESS_PATTERN } from './patterns.ts';
import { Nullable, StringEnum } from './schema-kit.ts';

export const QUARANTINE_STATES = ['held', 'assigned', 'dismissed'] as const;
export type QuarantineState = (typeof QUARANTINE_STATES)[number];

/** A quarantined reading's id is its reading id (core/readings/reading-id.ts): the same reading is one row. */
export const QUARANTINE_ID_PATTERN = '^rd_[0-9a-f]{32}$';

const address = Type.String({ pattern: METER_ADDRESS_PATTERN, description: '表号 / meter address (hex)' });

export const QuarantineListQuery = Type.Object(
  {
    address: Type.Optional(address),
    state: Type.Optional(StringEnum(QUARANTINE_STATES)),
    /** Paging: the `nextAfter` of the previous page. */
    after: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
    limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}$', description: '1..1000, default 100' })),
  },
  { additionalProperties: false },
);
export type QuarantineListQuery = Static<typeof QuarantineListQuery>;

export const QuarantineGroupsQuery = Type.Object(
  { state: Type.Optional(StringEnum(QUARANTINE_STATES)) },
  { additionalProperties: false },
);
export type QuarantineGroupsQuery = Static<typeof QuarantineGroupsQuery>;

export const QuarantineIdParams = Type.Object({ id: Type.String({ pattern: QUARANTINE_ID_PATTERN }) });
export type QuarantineIdParams = Static<typeof QuarantineIdParams>;

export const QuarantineAssignBody = Type.Object({ address }, { additionalProperties: false });
export type QuarantineAssignBody = Static<typeof QuarantineAssignBody>;

/** Every held reading of one unknown address → one registered meter (a meter registered under a wrong address). */
export const QuarantineAssignAddressBody = Type.Object({ from: address, to: address }, { additionalProperties: false });
export type QuarantineAssignAddressBody = Static<typeof QuarantineAssignAddressBody>;

export const QuarantineDismissBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 500 }) },
  { additionalProperties: false },
);
export type QuarantineDismissBody = Static<typeof QuarantineDismissBody>;

/** One quarantined reading as ops see it. */
export const QuarantinedReading = Type.Object(
  {
    id: Type.String(),
    seq: Type.Integer(),
    address: Type.String(),
    maker: Type.String(),
    meterTime: Nullable(Type.String()),
    receivedAt: Type.String(),
    source: Type.String(),
    origin: Nullable(Type.String()),
    cumulative: Nullable(Type.String()),
    rawFrame: Type.String(),
    reason: Type.String(),
    state: StringEnum(QUARANTINE_STATES),
    heldAt: Type.Integer(),
    actedAt: Nullable(Type.Integer()),
    actedBy: Nullable(Type.String()),
    assignedTo: Nullable(Type.String()),
    /** The reading id it was stored under once assigned (billing's Idempotency-Key). */
    assignedReadingId: Nullable(Type.String()),
    note: Nullable(Type.String()),
  },
  { additionalProperties: false },
);
export type QuarantinedReading = Static<typeof QuarantinedReading>;

export const QuarantineList = Type.Object(
  { items: Type.Array(QuarantinedReading), nextAfter: Nullable(Type.String()) },
  { additionalProperties: false },
);
export type QuarantineList = Static<typeof QuarantineList>;

/** The grouped view: one row per unknown address. */
export const QuarantineGroup = Type.Object(
  {
    address: Type.String(),
    makers: Type.Array(Type.String()),
    count: Type.Integer(),
    firstReceivedAt: Type.String(),
    lastReceivedAt: Type.String(),
    origins: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);
export type QuarantineGroup = Static<typeof QuarantineGroup>;

export const QuarantineGroups = Type.Object({ groups: Type.Array(QuarantineGroup) }, { additionalProperties: false });
export type QuarantineGroups = Static<typeof QuarantineGroups>;

/** What assign answers: `stored` false when the reading was already there (assigning twice stores once). */
export const QuarantineAssignResult = Type.Object(
  {
    id: Type.String(),
    state: StringEnum(QUARANTINE_STATES),
    assignedTo: Type.String(),
    readingId: Type.String(),
    stored: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type QuarantineAssignResult = Static<typeof QuarantineAssignResult>;

export const QuarantineAssignAddressResult = Type.Object(
  { from: Type.String(), to: Type.String(), assigned: Type.Integer(), stored: Type.Integer() },
  { additionalProperties: false },
);
export type QuarantineAssignAddressResult = Static<typeof QuarantineAssignAddressResult>;
