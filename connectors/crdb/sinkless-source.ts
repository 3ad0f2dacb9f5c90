import { type Static, Type } from '@sinclair/typebox';
import { type ConfigIssue, defineSource } from '../../runtime/component.js';
import { parseDuration, PIPELINE_SCHEMA } from '../../runtime/config/index.js';
import { SluiceError } from '../../runtime/errors.js';
import { DEFAULTS } from '../../runtime/limits.js';
import { CHANGEFEED_DECODE_PROPERTIES } from './changefeed-source-schema.js';
import { CrdbSinklessSource } from './sinkless-changefeed-source.js';
import { sinklessStatement } from './sinkless-statement.js';

const DEFAULT_RESOLVED = '10s';
const DEFAULT_MAX_BUFFERED_ROWS = 10_000;

const schema = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description:
        'postgresql://user:password@host:26257/database?sslmode=verify-full&sslrootcert=ca.crt — a dedicated connection runs the changefeed.',
    }),
    tables: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description:
        'Tables to watch: table, schema.table or database.schema.table (each part quoted as written).',
    }),
    ...CHANGEFEED_DECODE_PROPERTIES,
    resolved: Type.Optional(
      PIPELINE_SCHEMA.duration(
        "How often CockroachDB emits resolved timestamps (the checkpoint): `resolved='10s'`; 0 for its own default.",
        DEFAULT_RESOLVED,
      ),
    ),
    updated: Type.Optional(
      Type.Boolean({
        default: true,
        description: 'Adds `updated`: each change carries its commit HLC (source.hlc), for version columns.',
      }),
    ),
    diff: Type.Optional(
      Type.Boolean({
        default: true,
        description:
          'Adds `diff`: updates and deletes carry the row before, and updates are told from inserts.',
      }),
    ),
    options: Type.Optional(
      Type.Record(
        Type.String({ pattern: '^[a-z][a-z0-9_]*$' }),
        Type.Union([Type.String(), Type.Number(), Type.Boolean()]),
        {
          description:
            "Further changefeed options: true adds the bare option, text a quoted value, e.g. { initial_scan: 'no', mvcc_timestamp: true }.",
        },
      ),
    ),
    batch_records: Type.Optional(
      Type.Integer({
        minimum: 1,
        default: DEFAULTS.sourceBatchRecords,
        description: 'Most rows in one batch.',
      }),
    ),
    max_buffered_rows: Type.Optional(
      Type.Integer({
        minimum: 2,
        default: DEFAULT_MAX_BUFFERED_ROWS,
        description:
          'Rows received and not yet read by the pipeline before the connection is paused (resumed at half).',
      }),
    ),
    connect_timeout_ms: Type.Optional(
      Type.Integer({ minimum: 1, default: 10_000, description: 'Longest opening the connection may take.' }),
    ),
  },
  { additionalProperties: false },
);

/** The `crdb_sinkless` source's options as YAML gives them. */
export type CrdbSinklessSourceConfig = Static<typeof schema>;

type FeedEnvelope = 'wrapped' | 'bare' | 'key_only' | 'row' | 'enriched';

function feedOf(config: CrdbSinklessSourceConfig) {
  return {
    tables: config.tables,
    envelope: (config.envelope ?? 'wrapped') as FeedEnvelope,
    resolvedMs: parseDuration(config.resolved ?? DEFAULT_RESOLVED),
    updated: config.updated ?? true,
    diff: config.diff ?? true,
    options: config.options ?? {},
  };
}

function issuesOf(config: CrdbSinklessSourceConfig): ConfigIssue[] {
  if (config.envelope === 'auto') {
    return [
      {
        path: ['envelope'],
        message:
          'expected the envelope the changefeed is created with (wrapped, bare, key_only, row or enriched), got auto',
      },
    ];
  }
  try {
    sinklessStatement(feedOf(config));
    return [];
  } catch (error) {
    return [{ path: [], message: (error as Error).message }];
  }
}

/**
 * `type: crdb_sinkless` source: a CockroachDB core changefeed (`CREATE CHANGEFEED FOR TABLE ...` without `INTO`)
 * streamed over a dedicated SQL connection; resumes from the last handled resolved timestamp with `cursor=`.
 */
export const crdbSinklessSource = defineSource({
  type: 'crdb_sinkless',
  summary:
    'Streams a CockroachDB sinkless changefeed over SQL; checkpoints resolved timestamps and resumes with cursor= (at least once).',
  schema,
  check: issuesOf,
  create(config, context) {
    const issues = issuesOf(config);
    if (issues.length > 0)
      throw new SluiceError(
        'CONFIG_INVALID',
        `crdb_sinkless source "${context.node}": ${issues.map((issue) => issue.message).join('; ')}`,
      );
    return new CrdbSinklessSource({
      url: config.url,
      feed: feedOf(config),
      ...(config.key_columns === undefined ? {} : { keyColumns: config.key_columns }),
      batchRecords: config.batch_records ?? DEFAULTS.sourceBatchRecords,
      maxBufferedRows: config.max_buffered_rows ?? DEFAULT_MAX_BUFFERED_ROWS,
      connectTimeoutMs: config.connect_timeout_ms ?? 10_000,
    });
  },
});
