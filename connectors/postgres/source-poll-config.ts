import { Type, type Static } from '@sinclair/typebox';
import { DURATION_PATTERN } from '../../runtime/config/duration.js';
import { DEFAULTS } from '../../runtime/limits.js';
import { PostgresConnectionSchema } from './sink-config.js';

/** Options of the `postgres_poll` source, as written in pipeline YAML. */
export const PostgresPollConfigSchema = Type.Composite(
  [
    PostgresConnectionSchema,
    Type.Object({
      table: Type.String({ minLength: 1, description: "table to poll: 'schema.table' or 'table' (schema public)" }),
      cursor: Type.Optional(
        Type.String({
          minLength: 1,
          default: 'updated_at',
          description: 'column that grows with every insert and update (a timestamp or a sequence); rows where it is NULL are never read',
        }),
      ),
      key: Type.Optional(
        Type.Array(Type.String({ minLength: 1 }), {
          minItems: 1,
          uniqueItems: true,
          description: 'columns that identify a row and break ties between equal cursor values; default: the primary key',
        }),
      ),
      interval: Type.Optional(
        Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: DURATION_PATTERN })], {
          default: '5s',
          description: 'how long to wait before polling again once every row is read (`5s`, `500ms`)',
        }),
      ),
      batch_records: Type.Optional(
        Type.Integer({ minimum: 1, default: DEFAULTS.sourceBatchRecords, description: 'most rows per query and batch' }),
      ),
    }),
  ],
  { additionalProperties: false },
);

/** The `postgres_poll` source's options. */
export type PostgresPollConfig = Static<typeof PostgresPollConfigSchema>;
