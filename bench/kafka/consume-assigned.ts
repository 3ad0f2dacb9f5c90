import Kafka from 'node-rdkafka';
import { BENCH_BATCH } from '../generated-orders.js';
import { MOCK_FETCH_SETTINGS } from './mock-fetch-settings.js';

/** A running `consumeAssigned` loop. */
export interface AssignedConsumption {
  /** Stops consuming after the current batch and disconnects. */
  stop(): Promise<void>;
}

/**
 * Connects a node-rdkafka consumer in `group`, assigns it every one of the `partitions` partitions of each topic from
 * offset 0 (assigned, not subscribed, nothing committed), and hands every message to `handle`, consuming batches of
 * BENCH_BATCH messages until stopped.
 */
export async function consumeAssigned(
  brokers: string,
  group: string,
  topics: readonly string[],
  partitions: number,
  handle: (message: Kafka.Message) => void,
): Promise<AssignedConsumption> {
  const consumer = new Kafka.KafkaConsumer(
    { 'bootstrap.servers': brokers, 'group.id': group, 'enable.auto.commit': false, ...MOCK_FETCH_SETTINGS },
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) =>
    consumer.connect({}, (error) => (error ? reject(new Error(error.message)) : resolve())),
  );
  consumer.setDefaultConsumeTimeout(20);
  consumer.assign(
    topics.flatMap((topic) =>
      Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })),
    ),
  );
  let running = true;
  const loop = (async () => {
    while (running) {
      const messages = await new Promise<Kafka.Message[]>((resolve, reject) =>
        consumer.consume(BENCH_BATCH, (error, batch) =>
          error ? reject(new Error(error.message)) : resolve(batch),
        ),
      );
      for (const message of messages) handle(message);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
    },
  };
}
