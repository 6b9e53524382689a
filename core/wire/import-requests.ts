/** Request parts of the go-live import routes (core/server/routes/imports.ts). */
import { Type, type Static } from 'typebox';
import { AnyObject } from './schema-kit.ts';

export const ImportCardsBody = Type.Object(
  {
    content: Type.String({ minLength: 1, description: 'the export: CSV with a header, or a JSON array' }),
    mapping: Type.Optional(AnyObject({ description: 'columns, values, defaults, delimiter' })),
    fileName: Type.Optional(Type.String({ maxLength: 200 })),
    dryRun: Type.Optional(Type.Boolean()),
    update: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ImportCardsBody = Static<typeof ImportCardsBody>;

export const ImportBatchParams = Type.Object({ id: Type.String({ pattern: '^imp_[0-9a-z_]{1,80}$' }) });
