/**
 * The meter registry's wire shapes (GET /v1/meters, GET /v1/meters/{address}, core/server/routes/meters.ts) and its
 * two vocabularies, which the registry's table, importer and gateway use from here (one source).
 */
import { Type, type Static } from 'typebox';
import { Nullable, StringEnum } from './schema-kit.ts';

export const METER_TRANSPORTS = ['serial', 'collector', 'dtu', 'mqtt'] as const;
export type MeterTransport = (typeof METER_TRANSPORTS)[number];
/** Only `active` meters are polled and accepted as known; `suspended` may come back, `retired` will not. */
export const METER_STATES = ['active', 'suspended', 'retired'] as const;
export type MeterState = (typeof METER_STATES)[number];

/** CJ/T 188 address as the registry keeps it: 14 BCD digits (core/telemetry isValidAddress, broadcast excluded). */
const ADDRESS = '^[0-9]{14}$';

export const MeterView = Type.Object(
  {
    address: Type.String({ pattern: ADDRESS }),
    maker: Type.String(),
    profile: Type.String({ description: 'dialect profile name (core/telemetry ProfileRegistry)' }),
    transport: StringEnum(METER_TRANSPORTS),
    busPath: Nullable(Type.String(), { description: 'serial and collector meters: the bus (serial port path)' }),
    busPosition: Nullable(Type.Integer(), { description: 'serial meters: poll order on the bus' }),
    collectorAddress: Nullable(Type.String()),
    dtuId: Nullable(Type.String()),
    mqttDeviceId: Nullable(Type.String()),
    customerNo: Nullable(Type.String()),
    state: StringEnum(METER_STATES),
    importBatchId: Nullable(Type.String()),
    importSha256: Nullable(Type.String({ description: 'SHA-256 of the source file that brought the row in' })),
    version: Type.Integer(),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  { additionalProperties: false },
);
export type MeterView = Static<typeof MeterView>;

export const MeterListQuery = Type.Object(
  {
    state: Type.Optional(StringEnum(METER_STATES)),
    transport: Type.Optional(StringEnum(METER_TRANSPORTS)),
    customerNo: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    /** Keyset paging: the list is in address order; pass the previous page's nextCursor. */
    cursor: Type.Optional(Type.String({ pattern: ADDRESS })),
    /** 1..1000, default 100. A string: the API validates without coercion, and query strings are text. */
    limit: Type.Optional(Type.String({ pattern: '^(1000|[1-9][0-9]{0,2})$' })),
  },
  { additionalProperties: false },
);
export type MeterListQuery = Static<typeof MeterListQuery>;

export const MeterListResponse = Type.Object(
  {
    items: Type.Array(MeterView),
    /** Null on the last page. */
    nextCursor: Nullable(Type.String()),
  },
  { additionalProperties: false },
);
export type MeterListResponse = Static<typeof MeterListResponse>;

export const MeterAddressParams = Type.Object({ address: Type.String({ pattern: ADDRESS }) });
