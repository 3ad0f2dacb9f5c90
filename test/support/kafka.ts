import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import Kafka, { type Message, type MessageHeader } from 'node-rdkafka';
import pino from 'pino';
import { startMockKafka, type RunningKafka } from '../../cli/embedded-kafka.js';
import type { KafkaSink } from '../../connectors/kafka/kafka-sink.js';
import { kafkaSink } from '../../connectors/kafka/sink.js';
import type { SourceBatch, SourceContext } from '../../runtime/source.js';
import type { Source } from '../../runtime/source.js';
import type { SinkContext } from '../../runtime/sink.js';
import type { CheckpointStore } from '../../runtime/checkpoint-store.js';

/** Partitions of every topic the mock cluster creates. */
const MOCK_PARTITIONS = 4;

/** A message for {@link TestKafka.produce}. */
export interface TestMessage {
  readonly value: string | Buffer | null;
  readonly key?: string | Buffer | null;
  /** Produce to this partition (default: by key hash, or librdkafka's choice without a key). */
  readonly partition?: number;
  readonly headers?: Record<string, string>;
}

/** One mock Kafka cluster shared by the tests of one file. */
export interface TestKafka {
  /** Bootstrap servers. Set once the `before` hook ran. */
  readonly brokers: string;
  /** Produces messages and resolves when every one is acknowledged by the cluster. */
  produce(topic: string, messages: readonly TestMessage[]): Promise<void>;
  /** Reads the messages of `topic` from the beginning until `count` arrived (or rejects after `timeoutMs`); each partition's messages in order. */
  consumeAll(topic: string, count: number, timeoutMs?: number): Promise<Message[]>;
}

/** Consumer settings that make group rebalances quick against the mock cluster. */
export const FAST_GROUP = { 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 500 } as const;

/** A topic or group name no other test uses. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A logger for connectors under test: silent unless SLUICE_TEST_LOG names a level. */
export const quietLogger = pino({ level: process.env.SLUICE_TEST_LOG ?? 'silent' });

const noCheckpoints: CheckpointStore = {
  load: async () => undefined,
  save: async () => undefined,
  close: async () => undefined,
};

/** A source context with a fresh abort controller (abort it to stop a pending `read`). */
export function sourceContext(
  name: string,
  controller = new AbortController(),
): SourceContext & { controller: AbortController } {
  return {
    pipeline: 'test',
    name,
    logger: quietLogger,
    checkpoints: noCheckpoints,
    signal: controller.signal,
    controller,
  };
}

/** A sink context. */
export function sinkContext(name: string): SinkContext {
  return { pipeline: 'test', name, logger: quietLogger };
}

/**
 * A Kafka sink made from `config` (`brokers` included) by the component, after its config checks found nothing;
 * not connected yet.
 */
export async function checkedKafkaSink(config: Record<string, unknown>): Promise<KafkaSink> {
  assert.deepEqual(await kafkaSink.check!(config, { configDir: '.' }), []);
  return (await kafkaSink.create(config, {
    pipeline: 'test',
    node: 'out',
    configDir: '.',
    logger: quietLogger,
  })) as KafkaSink;
}

/** Reads batches from a connected source until `predicate` holds for everything read (or rejects after `timeoutMs`). */
export async function readUntil(
  source: Source,
  predicate: (batches: SourceBatch[]) => boolean,
  timeoutMs = 20_000,
): Promise<SourceBatch[]> {
  const batches: SourceBatch[] = [];
  const deadline = Date.now() + timeoutMs;
  while (!predicate(batches)) {
    if (Date.now() > deadline)
      throw new Error(`readUntil: condition not met within ${timeoutMs} ms (${batches.length} batches read)`);
    const batch = await source.read();
    if (batch === null) break;
    batches.push(batch);
  }
  return batches;
}

/** Records plus rejected messages in `batches`. */
export function messageCount(batches: readonly SourceBatch[]): number {
  return batches.reduce((sum, batch) => sum + batch.records.length + (batch.rejected?.length ?? 0), 0);
}

/**
 * Starts one mock Kafka cluster for the calling test file (in a `before` hook) and stops it, with the helper
 * producer, in an `after` hook, so the process exits. Call at the top level of a test file.
 */
export function useKafka(): TestKafka {
  let cluster: RunningKafka | undefined;
  let producer: Kafka.Producer | undefined;
  const pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  let nextId = 0;

  before(async () => {
    cluster = await startMockKafka();
    const client = new Kafka.Producer({
      'bootstrap.servers': cluster.bootstrapServers,
      dr_cb: true,
      'linger.ms': 2,
    });
    await new Promise<void>((resolve, reject) =>
      client.connect({}, (error) => (error ? reject(new Error(error.message)) : resolve())),
    );
    client.setPollInterval(5);
    client.on('delivery-report', (error, report) => {
      const waiter = pending.get(report.opaque as number);
      if (waiter === undefined) return;
      pending.delete(report.opaque as number);
      if (error) waiter.reject(new Error(`delivery failed: ${error.message}`));
      else waiter.resolve();
    });
    producer = client;
  });

  after(async () => {
    if (producer) await new Promise<void>((resolve) => producer!.disconnect(() => resolve()));
    await cluster?.stop();
  });

  const brokers = () => {
    if (!cluster) throw new Error('useKafka: the cluster is not started yet (use it inside a test)');
    return cluster.bootstrapServers;
  };

  return {
    get brokers() {
      return brokers();
    },
    async produce(topic, messages) {
      if (!producer) throw new Error('useKafka: the cluster is not started yet (use it inside a test)');
      const deliveries = messages.map((message) => {
        const id = nextId++;
        const delivered = new Promise<void>((resolve, reject) => pending.set(id, { resolve, reject }));
        const headers: MessageHeader[] = Object.entries(message.headers ?? {}).map(([name, value]) => ({
          [name]: value,
        }));
        const value = typeof message.value === 'string' ? Buffer.from(message.value) : message.value;
        producer!.produce(topic, message.partition ?? null, value, message.key ?? null, null, id, headers);
        return delivered;
      });
      await Promise.all(deliveries);
    },
    async consumeAll(topic, count, timeoutMs = 20_000) {
      // Assigned, not subscribed: no group join to wait for, and a topic created later is picked up by the fetcher.
      const consumer = new Kafka.KafkaConsumer(
        {
          'bootstrap.servers': brokers(),
          'group.id': uniqueTopic('reader'),
          'enable.auto.commit': false,
          'topic.metadata.refresh.interval.ms': 500,
        },
        { 'auto.offset.reset': 'earliest' },
      );
      await new Promise<void>((resolve, reject) =>
        consumer.connect({}, (error) => (error ? reject(new Error(error.message)) : resolve())),
      );
      consumer.setDefaultConsumeTimeout(100);
      consumer.assign(
        Array.from({ length: MOCK_PARTITIONS }, (_, partition) => ({ topic, partition, offset: 0 })),
      );
      const messages: Message[] = [];
      const deadline = Date.now() + timeoutMs;
      try {
        while (messages.length < count && Date.now() < deadline) {
          const batch = await new Promise<Message[]>((resolve, reject) =>
            consumer.consume(1000, (error, read) => {
              // The topic may not exist yet (the code under test creates it by writing): keep polling.
              if (error && error.code !== Kafka.CODES.ERRORS.ERR_UNKNOWN_TOPIC_OR_PART)
                reject(new Error(error.message));
              else resolve(read ?? []);
            }),
          );
          messages.push(...batch);
        }
      } finally {
        await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
      }
      if (messages.length < count)
        throw new Error(
          `consumeAll: ${messages.length} of ${count} messages of ${topic} within ${timeoutMs} ms`,
        );
      return messages;
    },
  };
}
