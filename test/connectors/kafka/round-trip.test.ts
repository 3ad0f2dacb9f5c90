import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Kafka as KafkaJS, logLevel, Partitioners } from 'kafkajs';
import type { Message } from 'node-rdkafka';
import type { KafkaSink } from '../../../connectors/kafka/kafka-sink.js';
import type { KafkaSource } from '../../../connectors/kafka/kafka-source.js';
import type { KeyFormat } from '../../../connectors/kafka/payload-format.js';
import { kafkaSource } from '../../../connectors/kafka/source.js';
import type { ChangeRecord } from '../../../runtime/record.js';
import {
  checkedKafkaSink,
  FAST_GROUP,
  messageCount,
  quietLogger,
  readUntil,
  sinkContext,
  sourceContext,
  type TestMessage,
  uniqueTopic,
  useKafka,
} from '../../support/kafka.js';

const kafka = useKafka();

/** A UTF-8 header value beyond ASCII, on every message produced. */
const NOTE = 'grüße ✓';

/** Bytes that are no valid UTF-8 (0xff never occurs in UTF-8, 0x81 is a continuation byte without a lead). */
const NOT_UTF8 = Buffer.from([0xff, 0x00, 0x81]);

async function createSource(topic: string, keyFormat: KeyFormat): Promise<KafkaSource> {
  const config = {
    brokers: kafka.brokers,
    group: uniqueTopic('g'),
    topics: [topic],
    key_format: keyFormat,
    settings: FAST_GROUP,
  };
  assert.deepEqual(await kafkaSource.check!(config, { configDir: '.' }), []);
  const source = (await kafkaSource.create(config, {
    pipeline: 'test',
    node: 'in',
    configDir: '.',
    logger: quietLogger,
  })) as KafkaSource;
  await source.connect(sourceContext('in'));
  return source;
}

async function createSink(topic: string, keyFormat: KeyFormat): Promise<KafkaSink> {
  const sink = await checkedKafkaSink({ brokers: kafka.brokers, topic, key_format: keyFormat });
  await sink.connect(sinkContext('out'));
  return sink;
}

/** Reads `count` messages of `from` with a Kafka source (same key format on both sides). */
async function readRecords(from: string, count: number, keyFormat: KeyFormat): Promise<ChangeRecord[]> {
  const source = await createSource(from, keyFormat);
  try {
    const batches = await readUntil(source, (read) => messageCount(read) >= count);
    assert.deepEqual(
      batches.flatMap((batch) => batch.rejected ?? []),
      [],
    );
    return batches.flatMap((batch) => batch.records);
  } finally {
    await source.close();
  }
}

/**
 * Kafka → Sluice → Kafka: reads the `count` messages of `from` with a Kafka source and writes the records, plus
 * `extra` ones, with a Kafka sink to a new topic (same key format on both sides); returns that topic's messages.
 */
async function pipe(
  from: string,
  count: number,
  keyFormat: KeyFormat,
  extra: readonly ChangeRecord[] = [],
): Promise<Message[]> {
  const records = await readRecords(from, count, keyFormat);
  const to = uniqueTopic('copy');
  const sink = await createSink(to, keyFormat);
  try {
    const result = await sink.write([...records, ...extra]);
    assert.deepEqual(
      result.rejected.map((letter) => letter.reason),
      [],
    );
  } finally {
    await sink.close();
  }
  return kafka.consumeAll(to, count + extra.length);
}

/** The bytes of header `name` of a consumed message, as hex (undefined when it has none). */
function headerHex(message: Message, name: string): string | undefined {
  const header = message.headers?.find((candidate) => Object.hasOwn(candidate, name));
  return header === undefined ? undefined : Buffer.from(header[name]!).toString('hex');
}

/** Message keys as sorted hex, so input and output compare as multisets (partitions reorder them). */
function keysHex(keys: readonly (string | Buffer | null | undefined)[]): string[] {
  return keys
    .map((key) => (key === null || key === undefined ? 'none' : Buffer.from(key).toString('hex')))
    .sort();
}

/** Produces `keys` with JSON values and the header {@link NOTE}; checks both come out of {@link pipe} unchanged. */
async function assertKeysRoundTrip(keyFormat: KeyFormat, keys: readonly (string | Buffer)[]): Promise<void> {
  const from = uniqueTopic(`keys-${keyFormat}`);
  const messages: TestMessage[] = keys.map((key, index) => ({
    key,
    value: JSON.stringify({ n: index }),
    headers: { note: NOTE },
  }));
  await kafka.produce(from, messages);
  const copied = await pipe(from, messages.length, keyFormat);
  assert.deepEqual(keysHex(copied.map((message) => message.key)), keysHex(keys));
  for (const message of copied) assert.equal(headerHex(message, 'note'), Buffer.from(NOTE).toString('hex'));
}

describe('kafka source → kafka sink round trip', { concurrency: true }, () => {
  test('key_format string: keys come back byte for byte (a leading byte order mark too), UTF-8 headers too', async () => {
    await assertKeysRoundTrip('string', ['user-42', 'ключ-7', '\uFEFFbom-first', '{"id":1}']);
  });

  test('key_format bytes: keys come back byte for byte, bytes that are no UTF-8 too', async () => {
    await assertKeysRoundTrip('bytes', [NOT_UTF8, Buffer.from('user-42'), Buffer.from([0x00])]);
  });

  test('key_format json: scalar and array keys come back as they came; object keys, even { "key": ... }, stay objects', async () => {
    const from = uniqueTopic('keys-json');
    const keys = ['"user-42"', '42', '12345678901234567890', '26.30', 'true', 'null', '[1,"a"]', '{"id":7}'];
    const objectNamedKey = '{"key":"x"}';
    await kafka.produce(from, [
      ...[...keys, objectNamedKey].map((key, index) => ({ key, value: JSON.stringify({ n: index }) })),
      { key: '"gone"', value: null },
    ]);
    // A record from another source whose primary key column is named `key`: no Kafka message key to restore.
    const tableRow: ChangeRecord = {
      op: 'insert',
      key: { key: 'k' },
      before: null,
      after: { key: 'k', n: 1 },
      source: { name: 'settings', position: 'settings:1', table: 'settings' },
      sourceTimeMs: null,
      ingestTimeMs: 0,
      headers: {},
    };
    const copied = await pipe(from, keys.length + 2, 'json', [tableRow]);
    assert.deepEqual(
      keysHex(copied.map((message) => message.key)),
      keysHex([...keys, objectNamedKey, '"gone"', '{"key":"k"}']),
    );
    const tombstone = copied.find((message) => message.key?.toString() === '"gone"');
    assert.equal(tombstone?.value, null);
  });

  test('a header that is no valid UTF-8 keeps its bytes in the record; the sink sets the record aside rather than change them', async () => {
    const from = uniqueTopic('headers');
    await produceWithBinaryHeaders(from);
    const records = await readRecords(from, 2, 'json');
    const binary = records.find((record) => record.key?.id === 1)!;
    assert.deepEqual(binary.headers, { note: NOTE, bin: '\uFFFD\u0000\uFFFD', bom: '\uFEFFa' });
    assert.deepEqual(binary.source.binary_headers, { bin: new Uint8Array(NOT_UTF8) });
    const to = uniqueTopic('headers-copy');
    const sink = await createSink(to, 'json');
    try {
      const result = await sink.write(records);
      assert.deepEqual(
        result.rejected.map((letter) => [letter.record, letter.reason]),
        [
          [
            binary,
            'header "bin" holds bytes that are no UTF-8 (source.binary_headers), which the Kafka producer (node-rdkafka, Blizzard/node-rdkafka#1006) would change: it writes header values as text',
          ],
        ],
      );
    } finally {
      await sink.close();
    }
    // The other message, UTF-8 headers only (a byte order mark included), is copied byte for byte.
    const [copied] = await kafka.consumeAll(to, 1);
    assert.equal(copied!.key?.toString(), '{"id":2}');
    assert.equal(headerHex(copied!, 'note'), Buffer.from(NOTE).toString('hex'));
    assert.equal(headerHex(copied!, 'bom'), 'efbbbf61');
    assert.equal(headerHex(copied!, 'bin'), undefined);
  });
});

/**
 * Produces, with KafkaJS (node-rdkafka's producer cannot write header bytes that are no UTF-8), message 1 with a
 * UTF-8 header, a header of bytes that are no UTF-8 and one starting with a byte order mark, and message 2 with the
 * UTF-8 ones only.
 */
async function produceWithBinaryHeaders(topic: string): Promise<void> {
  const producer = new KafkaJS({ brokers: kafka.brokers.split(','), logLevel: logLevel.NOTHING }).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    await producer.send({
      topic,
      messages: [
        {
          key: '{"id":1}',
          value: '{"id":1}',
          headers: { note: NOTE, bin: NOT_UTF8, bom: Buffer.from([0xef, 0xbb, 0xbf, 0x61]) },
        },
        { key: '{"id":2}', value: '{"id":2}', headers: { note: NOTE, bom: Buffer.from([0xef, 0xbb, 0xbf, 0x61]) } },
      ],
    });
  } finally {
    await producer.disconnect();
  }
}
