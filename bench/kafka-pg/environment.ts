import { join } from 'node:path';
import { createTopics } from '../kafka/create-topics.js';
import { startKafkaAndPostgres } from '../kafka/kafka-and-postgres.js';
import type { LiveKafkaEnvironment } from '../kafka/measure-live-kafka.js';
import { startProducerChild } from '../kafka/producer-child.js';
import { OrderTable } from './order-table.js';
import { topicCount } from './order-topics.js';

/** Everything one system of the `kafka-pg` scenario runs against, started before the timed part. */
export interface KafkaPgEnvironment extends LiveKafkaEnvironment {
  readonly brokers: string;
  readonly pgUrl: string;
  /** The topics the orders are spread over (created, empty). */
  readonly topics: readonly string[];
  /** The system's target table (created, empty). */
  readonly table: OrderTable;
}

/**
 * Starts a mock Kafka cluster, an embedded Postgres with the target table, the topics, and a producer process
 * ready to produce `records` orders, for one system's run.
 */
export async function startKafkaPgEnvironment(records: number, system: string): Promise<KafkaPgEnvironment> {
  return startKafkaAndPostgres(async (services) => {
    const { brokers, pool } = services;
    const table = new OrderTable(pool, `orders_${system.replace(/\W/g, '_')}`);
    await table.create();
    const topics = Array.from({ length: topicCount(records) }, (_, index) => `orders-${system}-${index}`);
    await createTopics(brokers, topics);
    const producer = await startProducerChild(join(import.meta.dirname, 'produce-orders.ts'), [
      brokers,
      String(records),
      ...topics,
    ]);
    return {
      brokers,
      pgUrl: services.pgUrl,
      topics,
      table,
      produce: () => producer.produce(),
      checksum: () => table.checksum(),
      async close() {
        producer.stop();
        await services.stop();
      },
    };
  });
}
