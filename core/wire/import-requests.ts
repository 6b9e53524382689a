/** Request parts of the go-live import routes (core/server/routes/imports.ts). */
import { Type, type Static } from 'typebox';
import { AnyObject } from './schema-kit.ts';

/** POST /v1/imports/cards and /v1/imports/meters: the same body, the kind is in the path. */
export const ImportFileBody = Type.Object(
  {
    content: Type.String({ minLength: 1, description: 'the export: CSV with a header, or a JSON array' }),
    mapping: Type.Optional(AnyObject({ description: 'columns, values, defaults, delimiter' })),
    fileName: Type.Optional(Type.String({ maxLength: 200 })),
    dryRun: Type.Optional(Type.Boolean()),
    update: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ImportFileBody = Static<typeof ImportFileBody>;

export const ImportBatchParams = Type.Object({ id: Type.String({ pattern: '^imp_[0-9a-z_]{1,80}$' }) });
