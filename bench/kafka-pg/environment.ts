import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Kafka from 'node-rdkafka';
import pg from 'pg';
import { startEmbeddedPostgres, type RunningPostgres } from '../../cli/embedded-postgres.js';
import { startMockKafka, type RunningKafka } from '../../cli/embedded-kafka.js';
import { OrderTable } from './order-table.js';
import { topicCount } from './order-topics.js';

/** Everything one system of the `kafka-pg` scenario runs against, started before the timed part. */
export interface KafkaPgEnvironment {
  readonly brokers: string;
  readonly pgUrl: string;
  /** The topics the orders are spread over (created, empty). */
  readonly topics: readonly string[];
  /** The system's target table (created, empty). */
  readonly table: OrderTable;
  /** Starts producing every order (the producer is connected and its messages built); resolves once all are acknowledged. */
  produce(): Promise<void>;
  /** Stops the producer, Postgres and the mock cluster. */
  close(): Promise<void>;
}

/**
 * Starts a mock Kafka cluster, an embedded Postgres with the target table, the topics, and a producer process
 * ready to produce `records` orders, for one system's run.
 */
export async function startKafkaPgEnvironment(records: number, system: string): Promise<KafkaPgEnvironment> {
  let kafka: RunningKafka | undefined;
  let postgres: RunningPostgres | undefined;
  let pool: pg.Pool | undefined;
  try {
    kafka = await startMockKafka();
    postgres = await startEmbeddedPostgres();
    pool = new pg.Pool({ connectionString: postgres.url, max: 2 });
    // `end()` resolves before its connections have closed, so stopping the server may still reach an idle one.
    pool.on('error', () => undefined);
    const table = new OrderTable(pool, `orders_${system.replace(/\W/g, '_')}`);
    await table.create();
    const topics = Array.from({ length: topicCount(records) }, (_, index) => `orders-${system}-${index}`);
    await createTopics(kafka.bootstrapServers, topics);
    const producer = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'produce-orders.ts'),
        kafka.bootstrapServers,
        String(records),
        ...topics,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: producer.stdout });
    const next = () =>
      new Promise<string>((resolve, reject) => {
        lines.once('line', resolve);
        producer.once('exit', (code) => reject(new Error(`the producer exited with ${code}`)));
      });
    if ((await next()) !== 'READY') throw new Error('the producer did not start');
    const running = { kafka, postgres, pool };
    return {
      brokers: kafka.bootstrapServers,
      pgUrl: postgres.url,
      topics,
      table,
      async produce() {
        const done = next();
        producer.stdin.write('go\n');
        if ((await done) !== 'DONE') throw new Error('the producer failed');
      },
      async close() {
        if (producer.exitCode === null) producer.kill();
        await running.pool.end();
        await running.postgres.stop();
        await running.kafka.stop();
      },
    };
  } catch (error) {
    await pool?.end();
    await postgres?.stop();
    await kafka?.stop();
    throw error;
  }
}

/** Creates topics on the mock cluster (it creates a topic when a client asks for its metadata). */
async function createTopics(brokers: string, topics: readonly string[]): Promise<void> {
  const producer = new Kafka.Producer({ 'bootstrap.servers': brokers });
  await new Promise<void>((resolve, reject) =>
    producer.connect({}, (error) => (error ? reject(new Error(error.message)) : resolve())),
  );
  try {
    for (const topic of topics) {
      for (let attempt = 0; ; attempt++) {
        const ready = await new Promise<boolean>((resolve) => {
          producer.getMetadata({ topic, timeout: 2_000 }, (error, metadata) =>
            resolve(
              !error && metadata.topics.some((entry) => entry.name === topic && entry.partitions.length > 0),
            ),
          );
        });
        if (ready) break;
        if (attempt === 50) throw new Error(`topic ${topic} was not created`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
}
