import { Type, type Static } from '@sinclair/typebox';
import { DURATION_PATTERN } from '../../runtime/config/duration.js';
import { DEFAULTS } from '../../runtime/limits.js';
import { PostgresConnectionSchema } from './sink-config.js';

/** Options of the `postgres_cdc` source, as written in pipeline YAML. */
export const PostgresCdcConfigSchema = Type.Composite(
  [
    PostgresConnectionSchema,
    Type.Object({
      tables: Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        uniqueItems: true,
        description: "tables to capture: 'schema.table' or 'table' (schema public)",
      }),
      publication: Type.String({
        minLength: 1,
        maxLength: 63,
        description: 'publication to stream: created FOR TABLE the tables when absent, reused (and checked) when present',
      }),
      slot: Type.String({
        pattern: '^[a-z0-9_]{1,63}$',
        description: 'logical replication slot (lower-case letters, digits, _): created when absent, reused when present',
      }),
      snapshot: Type.Optional(
        Type.Union([Type.Literal('initial'), Type.Literal('never'), Type.Literal('always')], {
          default: 'initial',
          description:
            '`initial`: read the tables once, when the slot is created; `always`: on every start; `never`: stream changes only',
        }),
      ),
      snapshot_chunk_rows: Type.Optional(
        Type.Integer({ minimum: 1, default: 10_000, description: 'rows per snapshot query (keyset pagination by primary key)' }),
      ),
      heartbeat: Type.Optional(
        Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: DURATION_PATTERN })], {
          default: '10s',
          description: 'how often the acknowledged position is confirmed to the server, also when idle (`10s`, `500ms`)',
        }),
      ),
      batch_records: Type.Optional(
        Type.Integer({ minimum: 1, default: DEFAULTS.sourceBatchRecords, description: 'most records in one batch' }),
      ),
    }),
  ],
  { additionalProperties: false },
);

/** The `postgres_cdc` source's options. */
export type PostgresCdcConfig = Static<typeof PostgresCdcConfigSchema>;
