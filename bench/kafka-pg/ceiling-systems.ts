import type { Row } from '../../runtime/record.js';
import type { Checksum } from '../checksum.js';
import { BENCH_BATCH } from '../generated-orders.js';
import { consumeAssigned } from '../kafka/consume-assigned.js';
import type { SystemParams, SystemResult } from '../scenario.js';
import type { StartedKafkaSystem } from '../kafka/measure-live-kafka.js';
import { measureKafkaPg } from './measure.js';
import { expectedRows, orderChain, rowsChecksum } from './order-chain.js';
import { startKafkaPgEnvironment } from './environment.js';

/** Partitions of every mock-cluster topic. */
const PARTITIONS = 4;

/**
 * Ceiling: librdkafka (node-rdkafka) consumption and JSON.parse of every message, nothing else (the chain runs only
 * to know which rows count, a few hundred nanoseconds a message). Partitions are assigned, not subscribed.
 */
export function runConsumeParse(params: SystemParams): Promise<SystemResult> {
  return measureKafkaPg(params, 'consume-parse', async (environment): Promise<StartedKafkaSystem> => {
    const kept: Row[] = [];
    const consumption = await consumeAssigned(
      environment.brokers,
      'bench-consume-parse',
      environment.topics,
      PARTITIONS,
      (message) => {
        const row = orderChain(JSON.parse(message.value!.toString()) as Row);
        if (row !== null) kept.push(row);
      },
    );
    return {
      done: () => kept.length,
      stop: () => consumption.stop(),
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
