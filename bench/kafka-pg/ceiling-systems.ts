import Kafka from 'node-rdkafka';
import type { Row } from '../../runtime/record.js';
import type { Checksum } from '../checksum.js';
import { BENCH_BATCH } from '../generated-orders.js';
import type { SystemParams, SystemResult } from '../scenario.js';
import { measureKafkaPg, type StartedSystem } from './measure.js';
import { expectedRows, orderChain, rowsChecksum } from './order-chain.js';
import { startKafkaPgEnvironment } from './environment.js';

/** Partitions of every mock-cluster topic. */
const PARTITIONS = 4;

/**
 * Ceiling: librdkafka (node-rdkafka) consumption and JSON.parse of every message, nothing else (the chain runs only
 * to know which rows count, a few hundred nanoseconds a message). Partitions are assigned, not subscribed.
 */
export function runConsumeParse(params: SystemParams): Promise<SystemResult> {
  return measureKafkaPg(params, 'consume-parse', async (environment): Promise<StartedSystem> => {
    const consumer = new Kafka.KafkaConsumer(
      {
        'bootstrap.servers': environment.brokers,
        'group.id': 'bench-consume-parse',
        'enable.auto.commit': false,
      },
      { 'auto.offset.reset': 'earliest' },
    );
    await new Promise<void>((resolve, reject) =>
      consumer.connect({}, (error) => (error ? reject(new Error(error.message)) : resolve())),
    );
    consumer.setDefaultConsumeTimeout(20);
    consumer.assign(
      environment.topics.flatMap((topic) =>
        Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition, offset: 0 })),
      ),
    );
    const kept: Row[] = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        const messages = await new Promise<Kafka.Message[]>((resolve, reject) =>
          consumer.consume(BENCH_BATCH, (error, batch) =>
            error ? reject(new Error(error.message)) : resolve(batch),
          ),
        );
        for (const message of messages) {
          const row = orderChain(JSON.parse(message.value!.toString()) as Row);
          if (row !== null) kept.push(row);
        }
      }
    })();
    return {
      done: () => kept.length,
      stop: async () => {
        running = false;
        await loop;
        await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
      },
      checksum: (): Checksum => rowsChecksum(kept),
    };
  });
}

/** Ceiling: the same rows, pre-built, upserted with multi-row `unnest` statements of BENCH_BATCH rows; no Kafka. */
export async function runPgUpsert({ records }: SystemParams): Promise<SystemResult> {
  const rows = expectedRows(records);
  const environment = await startKafkaPgEnvironment(0, 'pg-upsert');
  try {
    const started = performance.now();
    for (let first = 0; first < rows.length; first += BENCH_BATCH)
      await environment.table.upsertBatch(rows.slice(first, first + BENCH_BATCH));
    const seconds = (performance.now() - started) / 1000;
    const checksum = await environment.table.checksum();
    return { records: checksum.count, checksum: checksum.hex, seconds, latenciesMs: [] };
  } finally {
    await environment.close();
  }
}
