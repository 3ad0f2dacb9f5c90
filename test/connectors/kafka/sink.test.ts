import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Message } from 'node-rdkafka';
import { startMockKafka } from '../../../cli/embedded-kafka.js';
import type { KafkaSink } from '../../../connectors/kafka/kafka-sink.js';
import { kafkaSink } from '../../../connectors/kafka/sink.js';
import { Decimal } from '../../../runtime/decimal.js';
import { SluiceError } from '../../../runtime/errors.js';
import { parseJson } from '../../../runtime/json.js';
import type { ChangeRecord, Row } from '../../../runtime/record.js';
import { checkedKafkaSink, sinkContext, uniqueTopic, useKafka } from '../../support/kafka.js';

const kafka = useKafka();

async function createSink(options: Record<string, unknown>, brokers = kafka.brokers): Promise<KafkaSink> {
  const sink = await checkedKafkaSink({ brokers, ...options });
  await sink.connect(sinkContext('out'));
  return sink;
}

function record(
  op: ChangeRecord['op'],
  key: Row | null,
  after: Row | null,
  extra: Partial<ChangeRecord> = {},
): ChangeRecord {
  return {
    op,
    key,
    before: null,
    after,
    source: { name: 'orders', position: 'orders.jsonl:1', table: 'orders' },
    sourceTimeMs: 1_700_000_000_000,
    ingestTimeMs: 1_700_000_000_100,
    headers: {},
    ...extra,
  };
}

const json = (bytes: Buffer | string | null | undefined) =>
  bytes === null || bytes === undefined ? null : parseJson(bytes.toString());

function headersOf(message: Message): Record<string, string> {
  return Object.fromEntries(
    (message.headers ?? []).flatMap((header) =>
      Object.entries(header).map(([name, value]) => [name, value.toString()]),
    ),
  );
}

describe('kafka sink', { concurrency: true }, () => {
  test('write resolves once Kafka has every message: lossless JSON value, JSON key, headers kept and added', async () => {
    const topic = uniqueTopic('out');
    const sink = await createSink({ topic, headers: { source: 'sluice' } });
    try {
      const result = await sink.write([
        record(
          'insert',
          { id: 1234567890123456789n },
          { id: 1234567890123456789n, total: new Decimal('26.30') },
          { headers: { trace: 't-1' } },
        ),
        record('update', { id: 2 }, { id: 2, total: 5 }),
      ]);
      assert.deepEqual(result.rejected, []);
      const messages = await kafka.consumeAll(topic, 2);
      const byKey = new Map(messages.map((message) => [message.key!.toString(), message]));
      const first = byKey.get('{"id":1234567890123456789}')!;
      assert.equal(first.value!.toString(), '{"id":1234567890123456789,"total":26.30}');
      assert.deepEqual(headersOf(first), { trace: 't-1', source: 'sluice' });
      assert.deepEqual(json(byKey.get('{"id":2}')!.value), { id: 2, total: 5 });
    } finally {
      await sink.close();
    }
  });

  test('deletes become tombstones; records: changes writes whole change records; {table} picks the topic', async () => {
    const prefix = uniqueTopic('t');
    const rows = await createSink({ topic: `${prefix}-{table}` });
    const changes = await createSink({
      topic: `${prefix}-changes`,
      records: 'changes',
      key: { field: 'id' },
      format: 'msgpack',
    });
    try {
      const inserted = record('insert', { id: 1 }, { id: 1, name: 'a' });
      const deleted = record('delete', { id: 1 }, null, { before: { id: 1, name: 'a' } });
      await rows.write([inserted, deleted]);
      await changes.write([inserted, deleted]);
      const tableMessages = await kafka.consumeAll(`${prefix}-orders`, 2);
      assert.deepEqual(json(tableMessages[0]!.value), { id: 1, name: 'a' });
      assert.equal(tableMessages[1]!.value, null);
      assert.equal(tableMessages[1]!.key!.toString(), '{"id":1}');
      const { unpack } = await import('msgpackr');
      const changeMessages = await kafka.consumeAll(`${prefix}-changes`, 2);
      assert.deepEqual(
        changeMessages.map((message) => (unpack(message.value!) as Row).op),
        ['insert', 'delete'],
      );
      assert.deepEqual((unpack(changeMessages[1]!.value!) as Row).before, { id: 1, name: 'a' });
      assert.equal(changeMessages[1]!.key!.toString(), '1');
    } finally {
      await Promise.all([rows.close(), changes.close()]);
    }
  });

  test('topic_expression routes each record; a record it cannot place is rejected while the rest are written', async () => {
    const prefix = uniqueTopic('route');
    const sink = await createSink({
      topic_expression: `after.total > 100 ? "${prefix}-big" : "${prefix}-small"`,
      key: 'none',
    });
    try {
      const result = await sink.write([
        record('insert', { id: 1 }, { id: 1, total: 500 }),
        record('insert', { id: 2 }, { id: 2, total: 5 }),
        record('delete', null, null),
      ]);
      assert.equal(result.rejected.length, 1);
      assert.match(result.rejected[0]!.reason, /tombstone, which needs a key/);
      assert.deepEqual(result.rejected[0]!.source, { name: 'orders', position: 'orders.jsonl:1' });
      const [big] = await kafka.consumeAll(`${prefix}-big`, 1);
      const [small] = await kafka.consumeAll(`${prefix}-small`, 1);
      assert.deepEqual(json(big!.value), { id: 1, total: 500 });
      assert.equal(big!.key, null);
      assert.deepEqual(json(small!.value), { id: 2, total: 5 });
    } finally {
      await sink.close();
    }
  });

  test('key: { expression } keys each message by the expression; null means no key, a failure sets the record aside', async () => {
    const topic = uniqueTopic('key-expression');
    const sink = await createSink({
      topic,
      key: { expression: 'after.region == null ? null : after.region + "/" + string(after.id)' },
      key_format: 'string',
    });
    try {
      const result = await sink.write([
        record('insert', { id: 1 }, { id: 1, region: 'eu' }),
        record('insert', { id: 2 }, { id: 2, region: null }),
        record('insert', { id: 3 }, { id: 3, region: 7 }),
      ]);
      assert.deepEqual(
        result.rejected.map((letter) => letter.record?.key),
        [{ id: 3 }],
      );
      assert.match(result.rejected[0]!.reason, /key expression failed/);
      const messages = await kafka.consumeAll(topic, 2);
      assert.deepEqual(
        messages
          .map((message) => [message.key?.toString() ?? null, (json(message.value) as Row).id])
          .sort((a, b) => Number(a[1]) - Number(b[1])),
        [
          ['eu/1', 1],
          [null, 2],
        ],
      );
    } finally {
      await sink.close();
    }
  });

  test('a message larger than Kafka accepts goes to rejected; the others are delivered', async () => {
    const topic = uniqueTopic('large');
    const sink = await createSink({ topic, settings: { 'message.max.bytes': 10_000 } });
    try {
      const result = await sink.write([
        record('insert', { id: 1 }, { id: 1, blob: 'x'.repeat(20_000) }),
        record('insert', { id: 2 }, { id: 2 }),
      ]);
      assert.equal(result.rejected.length, 1);
      assert.equal(result.rejected[0]!.record!.key!.id, 1);
      assert.match(result.rejected[0]!.reason, /refused/);
      const messages = await kafka.consumeAll(topic, 1);
      assert.deepEqual(json(messages[0]!.value), { id: 2 });
    } finally {
      await sink.close();
    }
  });

  test('a write that cannot be delivered rejects with a retriable error', async () => {
    const lonely = await startMockKafka();
    const sink = await createSink(
      { topic: uniqueTopic('lost'), delivery_timeout_ms: 1000 },
      lonely.bootstrapServers,
    );
    try {
      await lonely.stop();
      await assert.rejects(sink.write([record('insert', { id: 1 }, { id: 1 })]), (error: unknown) => {
        assert.ok(error instanceof SluiceError);
        assert.equal(error.code, 'KAFKA_DELIVERY_FAILED');
        assert.equal(error.retriable, true);
        return true;
      });
    } finally {
      await sink.close();
      await lonely.stop();
    }
  });

  test('a connect the brokers never complete fails within connect_timeout_ms, as a retriable failure', async () => {
    // TLS against the mock cluster's plaintext listener: every attempt fails in transport until the timeout.
    const config = {
      brokers: kafka.brokers,
      topic: uniqueTopic('unreached'),
      connect_timeout_ms: 1_500,
      settings: { 'security.protocol': 'ssl' },
    };
    const sink = await checkedKafkaSink(config);
    const started = performance.now();
    try {
      await assert.rejects(sink.connect(sinkContext('out')), (error: unknown) => {
        assert.ok(error instanceof SluiceError, String(error));
        assert.equal(error.code, 'KAFKA_CONNECT_FAILED');
        assert.equal(error.retriable, true);
        return true;
      });
      // 30 s without connect_timeout_ms.
      assert.ok(performance.now() - started < 15_000, `gave up after ${performance.now() - started} ms`);
    } finally {
      await sink.close();
    }
  });

  test('config checks: one of topic or topic_expression, known placeholders, expressions that compile, no managed settings', async () => {
    const issues = async (config: Record<string, unknown>) =>
      (await kafkaSink.check!({ brokers: 'b:9092', ...config }, { configDir: '.' })).map(
        (issue) => `${issue.path.join('.')}: ${issue.message}`,
      );
    assert.deepEqual(await issues({}), [': expected exactly one of topic or topic_expression']);
    assert.deepEqual(await issues({ topic: 'x-{schema}' }), [
      'topic: unknown placeholder {schema}: topics may use {table} only',
    ]);
    assert.equal((await issues({ topic_expression: 'after.' })).length, 1);
    assert.deepEqual(
      (await issues({ topic: 't', key: { expression: 'after.' } })).map((issue) => issue.split(':')[0]),
      ['key.expression'],
    );
    assert.deepEqual(await issues({ topic: 't', settings: { dr_cb: true } }), [
      'settings.dr_cb: librdkafka property "dr_cb" is managed by Sluice and cannot be set in settings; use the connector\'s own options',
    ]);
  });
});
