import { Type, type Static } from '@sinclair/typebox';
import { PIPELINE_SCHEMA } from '../../runtime/config/index.js';

/** How long a deleted row's tombstone is kept when the config says nothing (7 days). */
export const DEFAULT_TOMBSTONE_RETENTION = '168h';

/** Connection settings shared by the sink, the target check and the checkpoint store: a URL or separate fields. */
export const PostgresConnectionSchema = Type.Object({
  url: Type.Optional(
    Type.String({
      description: 'postgres://user:password@host:port/database (the password is never logged)',
    }),
  ),
  host: Type.Optional(Type.String()),
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  user: Type.Optional(Type.String()),
  password: Type.Optional(Type.String()),
  database: Type.Optional(Type.String()),
  ssl: Type.Optional(Type.Boolean({ description: 'connect with TLS (certificate verified)' })),
  pool: Type.Optional(
    Type.Object(
      {
        max: Type.Optional(
          Type.Integer({ minimum: 1, default: 4, description: 'most connections open at once' }),
        ),
        connect_timeout_ms: Type.Optional(Type.Integer({ minimum: 1, default: 10_000 })),
      },
      { additionalProperties: false },
    ),
  ),
});

/** Options of the `postgres` sink, as written in pipeline YAML. */
export const PostgresSinkConfigSchema = Type.Composite(
  [
    PostgresConnectionSchema,
    Type.Object({
      table: Type.String({
        description: "target table: 'schema.table', or a template using the record's table: 'public.{table}'",
      }),
      mode: Type.Optional(
        Type.Union([Type.Literal('append'), Type.Literal('upsert')], { default: 'upsert' }),
      ),
      key: Type.Optional(
        Type.Array(Type.String(), {
          minItems: 1,
          description: "upsert key columns; default: the record's key fields",
        }),
      ),
      deletes: Type.Optional(
        Type.Union([Type.Literal('delete'), Type.Literal('soft'), Type.Literal('ignore')], {
          default: 'delete',
        }),
      ),
      soft_delete: Type.Optional(
        Type.Object(
          {
            flag: Type.Optional(Type.String({ default: 'is_deleted' })),
            at: Type.Optional(Type.String({ default: 'deleted_at' })),
          },
          { additionalProperties: false },
        ),
      ),
      version_column: Type.Optional(
        Type.String({
          description: "newer-wins: a change applies only when its version is greater than the row's",
        }),
      ),
      version_from: Type.Optional(
        Type.String({
          description:
            'field path of the version in the record: source.lsn, source.hlc, after.updated_at, ...',
        }),
      ),
      tombstones: Type.Optional(
        Type.Boolean({
          description:
            "on by default for upserts with version_column and deletes: keep each deleted row's version in <schema>.sluice_tombstones, so that an older change replayed after the delete cannot bring the row back",
        }),
      ),
      tombstone_retention: Type.Optional(
        PIPELINE_SCHEMA.duration(
          'How long a tombstone is kept: an older change of the row arriving later than this applies again.',
          DEFAULT_TOMBSTONE_RETENTION,
        ),
      ),
      consistency: Type.Optional(
        Type.Union([Type.Literal('per_key'), Type.Literal('resolved')], {
          default: 'per_key',
          description:
            "per_key: write each batch as it comes (newer-wins per key with version_column); resolved: hold changes until the source's watermark (a CockroachDB resolved timestamp) covers their version_from, then write all of them in one transaction, so the tables always show a state the source had",
        }),
      ),
      create_table: Type.Optional(Type.Boolean({ default: false })),
      schema_drift: Type.Optional(
        Type.Union(
          [Type.Literal('auto'), Type.Literal('warn'), Type.Literal('fail'), Type.Literal('ignore')],
          { default: 'fail' },
        ),
      ),
      columns: Type.Optional(
        Type.Record(Type.String(), Type.String(), { description: 'explicit Postgres types for new columns' }),
      ),
      circuit_breaker: Type.Optional(
        Type.Object(
          {
            failures: Type.Optional(Type.Integer({ minimum: 1, default: 5 })),
            cool_down_ms: Type.Optional(Type.Integer({ minimum: 0, default: 10_000 })),
          },
          { additionalProperties: false },
        ),
      ),
    }),
  ],
  { additionalProperties: false },
);

/** Connection options as the schema types them. */
export type PostgresConnectionConfig = Static<typeof PostgresConnectionSchema>;

/** The `postgres` sink's options. */
export type PostgresSinkConfig = Static<typeof PostgresSinkConfigSchema>;

/**
 * Whether a sink with this config keeps tombstones: upserts with a version column whose deletes are applied (hard or
 * soft), unless `tombstones: false`.
 */
export function keepsTombstones(config: PostgresSinkConfig): boolean {
  return (
    config.tombstones !== false &&
    (config.mode ?? 'upsert') === 'upsert' &&
    config.version_column !== undefined &&
    (config.deletes ?? 'delete') !== 'ignore'
  );
}
