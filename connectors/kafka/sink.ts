import { type Static, Type } from '@sinclair/typebox';
import { type ConfigIssue, defineSink } from '../../runtime/component.js';
import { SluiceError, messageOf } from '../../runtime/errors.js';
import { compileExpression, ExpressionError } from '../../runtime/expression/index.js';
import { reservedSettingIssues, settingsSchema } from './client-settings.js';
import { connectTimeoutSchema, DEFAULT_CONNECT_TIMEOUT_MS } from './connect-client.js';
import { KafkaSink } from './kafka-sink.js';
import { keyFormatSchema, payloadFormatSchema } from './payload-format.js';
import type { DeleteMode, KeySource } from './record-to-message.js';

/** librdkafka properties the sink sets itself. */
const RESERVED = ['bootstrap.servers', 'metadata.broker.list', 'dr_cb', 'dr_msg_cb'];

const PLACEHOLDER = /\{([^}]*)\}/g;

const schema = Type.Object(
  {
    brokers: Type.String({
      minLength: 1,
      description: 'Bootstrap servers, host:port[,host:port...], e.g. ${KAFKA_BROKERS}.',
    }),
    topic: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "The topic to write to. '{table}' is replaced by each record's source table (for a Kafka source, its topic), e.g. 'clean.{table}'.",
      }),
    ),
    topic_expression: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Instead of topic: an expression giving each record\'s topic, e.g. \'after.amount > 1000 ? "big-orders" : "orders"\'.',
      }),
    ),
    key: Type.Optional(
      Type.Union(
        [
          Type.Literal('record'),
          Type.Literal('none'),
          Type.Object({ field: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
          Type.Object({ expression: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
        ],
        {
          default: 'record',
          description:
            "Message key: the record's key (record; a key a Kafka source read as a string, bytes or JSON scalar is written as that value, not as { key }), no key (none), a field of the row ({ field: id }, dotted paths allowed), or an expression's value ({ expression: 'after.region + \"/\" + after.id' }; null for no key).",
        },
      ),
    ),
    key_format: Type.Optional(keyFormatSchema),
    format: Type.Optional(payloadFormatSchema),
    records: Type.Optional(
      Type.Union([Type.Literal('rows'), Type.Literal('changes')], {
        default: 'rows',
        description:
          'rows: the message value is the row (after); changes: the whole change record {op, key, before, after, source, ...}.',
      }),
    ),
    deletes: Type.Optional(
      Type.Union([Type.Literal('tombstone'), Type.Literal('skip'), Type.Literal('record')], {
        description:
          'What a delete becomes: a tombstone (null value, needs a key), nothing (skip), or its change record (record). Default: tombstone with records: rows, record with records: changes.',
      }),
    ),
    compression: Type.Optional(
      Type.Union([Type.Literal('none'), Type.Literal('gzip'), Type.Literal('snappy'), Type.Literal('lz4')], {
        default: 'lz4',
        description: 'Compression of message batches.',
      }),
    ),
    idempotent: Type.Optional(
      Type.Boolean({
        default: true,
        description: "Idempotent producer: librdkafka's own retries never duplicate or reorder messages.",
      }),
    ),
    headers: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.String(), {
        default: {},
        description: "Headers added to every message, besides the record's own.",
      }),
    ),
    delivery_timeout_ms: Type.Optional(
      Type.Integer({
        minimum: 1000,
        default: 30_000,
        description:
          'Longest librdkafka keeps trying to deliver a message before the write fails (and is retried).',
      }),
    ),
    connect_timeout_ms: connectTimeoutSchema,
    settings: Type.Optional(settingsSchema),
  },
  { additionalProperties: false },
);

/** The Kafka sink's options as YAML gives them. */
export type KafkaSinkConfig = Static<typeof schema>;

function issuesOf(config: KafkaSinkConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if ((config.topic === undefined) === (config.topic_expression === undefined)) {
    issues.push({ path: [], message: 'expected exactly one of topic or topic_expression' });
  }
  if (config.topic_expression !== undefined) {
    try {
      compileExpression(config.topic_expression);
    } catch (error) {
      const offset = error instanceof ExpressionError ? error.offset : null;
      issues.push({
        path: ['topic_expression'],
        message: messageOf(error),
        ...(offset === null ? {} : { offset }),
      });
    }
  }
  const key = config.key;
  if (typeof key === 'object' && 'expression' in key) {
    try {
      compileExpression(key.expression);
    } catch (error) {
      const offset = error instanceof ExpressionError ? error.offset : null;
      issues.push({ path: ['key', 'expression'], message: messageOf(error), ...(offset === null ? {} : { offset }) });
    }
  }
  for (const match of (config.topic ?? '').matchAll(PLACEHOLDER)) {
    if (match[1] !== 'table') {
      issues.push({
        path: ['topic'],
        offset: match.index,
        message: `unknown placeholder {${match[1]}}: topics may use {table} only`,
      });
    }
  }
  if (
    config.deletes === 'record' &&
    (config.records ?? 'rows') === 'rows' &&
    (config.format === 'string' || config.format === 'bytes')
  ) {
    issues.push({
      path: ['deletes'],
      message: `deletes: record writes change records, which format ${config.format} cannot hold`,
    });
  }
  if ((config.records ?? 'rows') === 'changes' && (config.format === 'string' || config.format === 'bytes')) {
    issues.push({
      path: ['format'],
      message: `records: changes writes change records, which format ${config.format} cannot hold; use json or msgpack`,
    });
  }
  return [...issues, ...reservedSettingIssues(config.settings ?? {}, RESERVED)];
}

/**
 * `type: kafka` sink: produces each record as a message (value = the row or the change record, key = the record
 * key by default) and acknowledges a batch only when Kafka confirmed every message. Also serves as the `dlq:`.
 */
export const kafkaSink = defineSink({
  type: 'kafka',
  summary: 'Writes records to a Kafka topic; a batch counts as written when Kafka confirmed every message.',
  schema,
  check: issuesOf,
  create(config, context) {
    const issues = issuesOf(config);
    if (issues.length > 0)
      throw new SluiceError(
        'CONFIG_INVALID',
        `kafka sink "${context.node}": ${issues.map((issue) => issue.message).join('; ')}`,
      );
    const records = config.records ?? 'rows';
    const deletes: DeleteMode = config.deletes ?? (records === 'rows' ? 'tombstone' : 'record');
    return new KafkaSink({
      brokers: config.brokers,
      encoding: {
        topic:
          config.topic_expression === undefined ? config.topic! : compileExpression(config.topic_expression),
        key: keySource(config.key),
        keyFormat: config.key_format ?? 'json',
        format: config.format ?? 'json',
        records,
        deletes,
        headers: config.headers ?? {},
      },
      compression: config.compression ?? 'lz4',
      idempotent: config.idempotent ?? true,
      deliveryTimeoutMs: config.delivery_timeout_ms ?? 30_000,
      flushTimeoutMs: 10_000,
      connectTimeoutMs: config.connect_timeout_ms ?? DEFAULT_CONNECT_TIMEOUT_MS,
      settings: config.settings ?? {},
    });
  },
});

/** The message key's source as the encoder takes it: an expression compiled, the rest as configured. */
function keySource(key: KafkaSinkConfig['key']): KeySource {
  if (key === undefined) return 'record';
  if (typeof key === 'object' && 'expression' in key) return { expression: compileExpression(key.expression) };
  return key;
}
