import { Type } from '@sinclair/typebox';
import type { Message } from 'node-rdkafka';
import {
  ChangefeedDecodeError,
  type ChangefeedDecodeOptions,
  decodeChangefeedMessage,
  Hlc,
} from '../connectors/crdb/index.js';
import { CHANGEFEED_DECODE_PROPERTIES } from '../connectors/crdb/changefeed-source-schema.js';
import {
  DecodeError,
  KAFKA_CONSUMER_PROPERTIES,
  KafkaSource,
  type KafkaMessageDecoder,
  kafkaConsumerIssues,
  kafkaSourceOptions,
  messagePosition,
} from '../connectors/kafka/index.js';
import { defineSource } from '../runtime/component.js';

const schema = Type.Object(
  { ...KAFKA_CONSUMER_PROPERTIES, ...CHANGEFEED_DECODE_PROPERTIES },
  { additionalProperties: false },
);

function headersOf(message: Message): Record<string, string> | undefined {
  if (message.headers === undefined || message.headers.length === 0) return undefined;
  const headers: Record<string, string> = {};
  for (const header of message.headers) {
    for (const [name, value] of Object.entries(header))
      headers[name] = typeof value === 'string' ? value : value.toString('utf8');
  }
  return headers;
}

/**
 * The CockroachDB changefeed decoding of Kafka messages (any JSON envelope): each message becomes a change record
 * (with the Kafka `partition` and `offset` added to its source) or, for a resolved message, a watermark of its
 * partition (the HLC's text). Undecodable messages throw the Kafka connector's `DecodeError` (they go to the DLQ).
 */
export function changefeedKafkaDecoder(
  decode: Pick<ChangefeedDecodeOptions, 'envelope' | 'keyColumns'>,
): KafkaMessageDecoder {
  return {
    decode(message, source, ingestTimeMs) {
      const position = messagePosition(message);
      let event;
      try {
        event = decodeChangefeedMessage(
          {
            key: message.key ?? null,
            value: message.value,
            topic: message.topic,
            ...(message.headers === undefined ? {} : { headers: headersOf(message) }),
          },
          { ...decode, sourceName: source, position, ingestTimeMs },
        );
      } catch (error) {
        if (error instanceof ChangefeedDecodeError) throw new DecodeError(error.message, { cause: error });
        throw error;
      }
      if (event.kind === 'resolved') return { watermark: event.hlc.toString() };
      const { record } = event;
      return {
        record: {
          ...record,
          source: { ...record.source, partition: message.partition, offset: message.offset },
        },
      };
    },
    compareWatermarks: (a, b) => Hlc.compare(Hlc.parse(a), Hlc.parse(b)),
  };
}

/**
 * `type: crdb_kafka` source: a CockroachDB changefeed's Kafka sink (`CREATE CHANGEFEED ... INTO 'kafka://...'`)
 * read by the Kafka source (consumer group, contiguous-prefix commits, DLQ for undecodable messages) with the
 * changefeed decoder. Resolved messages, sent to every partition, make the source's watermark: the lowest latest
 * resolved timestamp over every partition it owns. Built here, at the composition root, because connectors do not
 * import each other.
 */
export const crdbKafkaSource = defineSource({
  type: 'crdb_kafka',
  summary:
    'Reads a CockroachDB changefeed from Kafka topics; resolved timestamps become watermarks (for consistency: resolved).',
  schema,
  check: kafkaConsumerIssues,
  create(config, context) {
    const decode = {
      envelope: config.envelope ?? 'wrapped',
      ...(config.key_columns === undefined ? {} : { keyColumns: config.key_columns }),
    };
    return new KafkaSource({
      ...kafkaSourceOptions(config, `crdb_kafka source "${context.node}"`, {
        format: 'json',
        keyFormat: 'json',
        records: 'rows',
      }),
      decoder: changefeedKafkaDecoder(decode),
    });
  },
});
