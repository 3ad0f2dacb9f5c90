import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kafkaSink, kafkaSource } from '../../../connectors/kafka/index.js';
import type { ComponentRegistry } from '../../../runtime/component.js';
import { parsePipeline } from '../../../runtime/config/index.js';
import { parseJson } from '../../../runtime/json.js';
import { Pipeline } from '../../../runtime/pipeline.js';
import type { Row } from '../../../runtime/record.js';
import { quietLogger, uniqueTopic, useKafka } from '../../support/kafka.js';

const kafka = useKafka();

const registry: ComponentRegistry = {
  sources: new Map([['kafka', kafkaSource]]),
  operators: new Map(),
  sinks: new Map([['kafka', kafkaSink]]),
};

const noCheckpoints = {
  load: async () => undefined,
  save: async () => undefined,
  close: async () => undefined,
};

describe('kafka pipeline', () => {
  test('topic to topic through the runtime: exact values, a poison message in the DLQ topic, offsets committed', async () => {
    const input = uniqueTopic('orders');
    const output = uniqueTopic('orders-clean');
    const dead = uniqueTopic('orders-dlq');
    const group = uniqueTopic('sluice-orders');
    const yaml = [
      'name: kafka-e2e',
      'sources:',
      '  events:',
      '    type: kafka',
      '    brokers: ${KAFKA_BROKERS}',
      `    group: ${group}`,
      `    topics: [${input}]`,
      "    settings: { 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 500 }",
      'sinks:',
      '  out:',
      '    type: kafka',
      '    from: [events]',
      '    brokers: ${KAFKA_BROKERS}',
      `    topic: ${output}`,
      '    headers: { pipeline: kafka-e2e }',
      'dlq:',
      '  type: kafka',
      '  brokers: ${KAFKA_BROKERS}',
      `  topic: ${dead}`,
      '  key: none',
    ].join('\n');
    const spec = await parsePipeline(yaml, 'kafka-e2e.yaml', registry, {
      env: { KAFKA_BROKERS: kafka.brokers },
    });
    const pipeline = await Pipeline.create(spec, {
      registry,
      logger: quietLogger,
      checkpoints: noCheckpoints,
    });
    const running = pipeline.run();
    try {
      const good = Array.from({ length: 50 }, (_, index) => ({
        key: JSON.stringify({ id: `${9_000_000_000_000_000_000n + BigInt(index)}` }),
        value: `{"id":${9_000_000_000_000_000_000n + BigInt(index)},"total":26.30}`,
      }));
      await kafka.produce(input, [
        ...good.slice(0, 25),
        { key: '{"id":0}', value: '{"id": oops' },
        ...good.slice(25),
      ]);
      const written = await kafka.consumeAll(output, 50, 30_000);
      assert.deepEqual(
        written.map((message) => message.value!.toString()).sort(),
        good.map((message) => message.value).sort(),
      );
      assert.ok(
        written.every((message) =>
          message.headers?.some((header) => header.pipeline?.toString() === 'kafka-e2e'),
        ),
      );
      const [letter] = await kafka.consumeAll(dead, 1, 30_000);
      const row = parseJson(letter!.value!.toString()) as Row;
      assert.equal(row.node, 'events');
      assert.match(row.source_position as string, new RegExp(`^${input}/\\d@\\d+$`));
      assert.equal(Buffer.from(row.raw as string, 'base64').toString(), '{"id": oops');
      assert.match(row.reason as string, /message value is not json/);
    } finally {
      pipeline.stop();
    }
    const summary = await running;
    assert.equal(summary.sources.events!.read, 50);
    assert.equal(summary.sources.events!.rejected, 1);
    assert.equal(summary.sinks.out!.written, 50);
    assert.equal(summary.dlq?.written, 1);

    // Everything was committed on the way out: the same group reads nothing more.
    await kafka.produce(input, [{ key: '{"id":1}', value: '{"id":1,"after":"restart"}' }]);
    const again = await Pipeline.create(spec, { registry, logger: quietLogger, checkpoints: noCheckpoints });
    const rerun = again.run();
    try {
      const messages = await kafka.consumeAll(output, 51, 30_000);
      assert.equal(messages.length, 51);
      assert.equal(messages.filter((message) => message.value!.toString().includes('restart')).length, 1);
    } finally {
      again.stop();
    }
    const second = await rerun;
    assert.equal(second.sources.events!.read, 1, 'the second run read only the new message');
  });
});
