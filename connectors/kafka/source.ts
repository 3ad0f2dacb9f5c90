import { type Static, type TObject, Type } from '@sinclair/typebox';
import { type ConfigIssue, defineSource } from '../../runtime/component.js';
import { SluiceError } from '../../runtime/errors.js';
import { DEFAULTS } from '../../runtime/limits.js';
import { reservedSettingIssues, settingsSchema } from './client-settings.js';
import { connectTimeoutSchema, DEFAULT_CONNECT_TIMEOUT_MS } from './connect-client.js';
import { KafkaSource, type KafkaSourceOptions } from './kafka-source.js';
import { keyFormatSchema, payloadFormatSchema } from './payload-format.js';

/** Messages one partition may hold (buffered plus unacknowledged) before it is paused, by default. */
const DEFAULT_MAX_PENDING_PER_PARTITION = 5_000;

/** librdkafka properties the source sets itself. */
const RESERVED = [
  'bootstrap.servers',
  'metadata.broker.list',
  'group.id',
  'enable.auto.commit',
  'enable.auto.offset.store',
  'auto.offset.reset',
];

/**
 * The options of every Kafka-consuming source type (`kafka`, and `crdb_kafka` built on it): connection, group,
 * topics, batching, backpressure and commits. How messages are decoded is up to each type.
 */
export const KAFKA_CONSUMER_PROPERTIES = {
  brokers: Type.String({
    minLength: 1,
    description: 'Bootstrap servers, host:port[,host:port...], e.g. ${KAFKA_BROKERS}.',
  }),
  group: Type.String({
    minLength: 1,
    description:
      'Consumer group id: members of one group share the partitions; offsets are committed per group.',
  }),
  topics: Type.Optional(
    Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description: 'Topics to read (or use topic_pattern).',
    }),
  ),
  topic_pattern: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        "A regular expression of topics to read, e.g. '^orders\\..*' (or use topics). New matching topics are picked up at the next metadata refresh.",
    }),
  ),
  start: Type.Optional(
    Type.Union([Type.Literal('earliest'), Type.Literal('latest')], {
      default: 'earliest',
      description: 'Where a group with no committed offset starts reading.',
    }),
  ),
  batch_records: Type.Optional(
    Type.Integer({
      minimum: 1,
      default: DEFAULTS.sourceBatchRecords,
      description: 'Most messages in one batch.',
    }),
  ),
  max_pending_per_partition: Type.Optional(
    Type.Integer({
      minimum: 1,
      default: DEFAULT_MAX_PENDING_PER_PARTITION,
      description:
        'A partition holding this many messages (read and not yet acknowledged) is paused until it is down to half.',
    }),
  ),
  commit_interval_ms: Type.Optional(
    Type.Integer({
      minimum: 10,
      default: DEFAULTS.checkpointIntervalMs,
      description: 'How often acknowledged offsets are committed, at most.',
    }),
  ),
  revoke_timeout_ms: Type.Optional(
    Type.Integer({
      minimum: 0,
      default: 10_000,
      description:
        "Longest a rebalance waits for the revoked partitions' records to be written before giving them up, and a close for the group to take its last commit (refused while the group rebalances).",
    }),
  ),
  connect_timeout_ms: connectTimeoutSchema,
  settings: Type.Optional(settingsSchema),
};

const schema = Type.Object(
  {
    ...KAFKA_CONSUMER_PROPERTIES,
    format: Type.Optional(payloadFormatSchema),
    key_format: Type.Optional(keyFormatSchema),
    records: Type.Optional(
      Type.Union([Type.Literal('rows'), Type.Literal('changes')], {
        default: 'rows',
        description:
          'rows: each message value is a row, read as an insert (a null value is a delete of its key); changes: each value is a Sluice change record {op, key, before, after}.',
      }),
    ),
  },
  { additionalProperties: false },
);

/** The consumer options every Kafka-consuming source type shares (see {@link KAFKA_CONSUMER_PROPERTIES}). */
export type KafkaConsumerConfig = Static<TObject<typeof KAFKA_CONSUMER_PROPERTIES>>;

/** The Kafka source's options as YAML gives them. */
export type KafkaSourceConfig = Static<typeof schema>;

/** Checks of the consumer options the schema cannot express: exactly one of topics/topic_pattern, a valid pattern, no reserved settings. */
export function kafkaConsumerIssues(config: KafkaConsumerConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if ((config.topics === undefined) === (config.topic_pattern === undefined)) {
    issues.push({ path: [], message: 'expected exactly one of topics or topic_pattern' });
  }
  if (config.topic_pattern !== undefined) {
    try {
      new RegExp(config.topic_pattern);
    } catch (error) {
      issues.push({
        path: ['topic_pattern'],
        message: `not a regular expression: ${(error as Error).message}`,
      });
    }
  }
  return [...issues, ...reservedSettingIssues(config.settings ?? {}, RESERVED)];
}

/**
 * `type: kafka` source: a consumer-group member reading topics, committing only offsets whose records every sink
 * (or the DLQ) has, pausing partitions that run ahead, and handing undecodable messages to the DLQ.
 */
export const kafkaSource = defineSource({
  type: 'kafka',
  summary:
    'Reads Kafka topics as a consumer group; commits offsets only for records every sink has (at least once).',
  schema,
  check: kafkaConsumerIssues,
  create(config, context) {
    return new KafkaSource(
      kafkaSourceOptions(config, `kafka source "${context.node}"`, {
        format: config.format ?? 'json',
        keyFormat: config.key_format ?? 'json',
        records: config.records ?? 'rows',
      }),
    );
  },
});

/**
 * The {@link KafkaSource} options for validated consumer options and a decoding; throws `CONFIG_INVALID` (naming
 * `where`) when {@link kafkaConsumerIssues} finds a problem.
 */
export function kafkaSourceOptions(
  config: KafkaConsumerConfig,
  where: string,
  decoding: KafkaSourceOptions['decoding'],
): KafkaSourceOptions {
  const issues = kafkaConsumerIssues(config);
  if (issues.length > 0)
    throw new SluiceError('CONFIG_INVALID', `${where}: ${issues.map((issue) => issue.message).join('; ')}`);
  const pattern = config.topic_pattern;
  return {
    brokers: config.brokers,
    group: config.group,
    topics: pattern === undefined ? config.topics! : [pattern.startsWith('^') ? pattern : `^${pattern}`],
    start: config.start ?? 'earliest',
    decoding,
    batchRecords: config.batch_records ?? DEFAULTS.sourceBatchRecords,
    maxPendingPerPartition: config.max_pending_per_partition ?? DEFAULT_MAX_PENDING_PER_PARTITION,
    commitIntervalMs: config.commit_interval_ms ?? DEFAULTS.checkpointIntervalMs,
    revokeTimeoutMs: config.revoke_timeout_ms ?? 10_000,
    connectTimeoutMs: config.connect_timeout_ms ?? DEFAULT_CONNECT_TIMEOUT_MS,
    pollTimeoutMs: 20,
    settings: config.settings ?? {},
  };
}
