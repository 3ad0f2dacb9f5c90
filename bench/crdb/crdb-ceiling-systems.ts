import Kafka from 'node-rdkafka';
import { BENCH_BATCH } from '../generated-orders.js';
import type { SystemParams, SystemResult } from '../scenario.js';
import { type AccountRow, PARTITIONS, accountFeed, accountsChecksum } from './account-feed.js';
import { startCrdbKafkaEnvironment } from './crdb-kafka-environment.js';
import { measureCrdbKafka } from './measure-crdb-kafka.js';

interface EnrichedValue {
  readonly after: { readonly id: number; readonly name: string; readonly balance: number };
  readonly source: { readonly ts_hlc: string };
}

/**
 * Ceiling: librdkafka (node-rdkafka) consumption and `JSON.parse` of every message, keeping the newest change per
 * id in memory (HLC texts of equal length compare as strings), nothing else. Partitions are assigned, not subscribed.
 */
export function runConsumeParse(params: SystemParams): Promise<SystemResult> {
  return measureCrdbKafka(params, 'consume-parse', async (environment) => {
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
    const newest = new Map<number, { hlc: string; name: string; balance: string }>();
    // Balances are read back as text: JSON.parse turns 26.30 into 26.3, so the text is kept from the message.
    const balanceText = /"balance": ([-0-9.]+)/;
    let changes = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        const messages = await new Promise<Kafka.Message[]>((resolve, reject) =>
          consumer.consume(BENCH_BATCH, (error, batch) =>
            error ? reject(new Error(error.message)) : resolve(batch),
          ),
        );
        for (const message of messages) {
          if (message.key === null || message.key === undefined) continue;
          const text = message.value!.toString();
          const value = JSON.parse(text) as EnrichedValue;
          changes++;
          const hlc = value.source.ts_hlc;
          const current = newest.get(value.after.id);
          if (current === undefined || current.hlc < hlc)
            newest.set(value.after.id, { hlc, name: value.after.name, balance: balanceText.exec(text)![1]! });
        }
      }
    })();
    return {
      done: () => changes,
      stop: async () => {
        running = false;
        await loop;
        await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
      },
      checksum: () =>
        accountsChecksum(
          [...newest].map(([id, row]): AccountRow => ({
            id: String(id),
            name: row.name,
            balance: row.balance,
            hlc: row.hlc,
          })),
        ),
    };
  });
}

/**
 * Ceiling: the same changes, pre-decoded, upserted newer-wins on `hlc` with one `unnest` statement per BENCH_BATCH
 * changes (each batch collapsed to the newest change per id, as ON CONFLICT requires); no Kafka.
 */
export async function runPgUpsert({ records }: SystemParams): Promise<SystemResult> {
  const changes: AccountRow[] = [];
  accountFeed(records, (message) => {
    if (message.key === null) return;
    const value = JSON.parse(message.value) as EnrichedValue;
    const balance = /"balance": ([-0-9.]+)/.exec(message.value)![1]!;
    changes.push({ id: String(value.after.id), name: value.after.name, balance, hlc: value.source.ts_hlc });
  });
  const environment = await startCrdbKafkaEnvironment(0, 'pg-upsert');
  try {
    const started = performance.now();
    for (let first = 0; first < changes.length; first += BENCH_BATCH) {
      const newest = new Map<string, AccountRow>();
      for (const change of changes.slice(first, first + BENCH_BATCH)) {
        const current = newest.get(change.id);
        if (current === undefined || current.hlc < change.hlc) newest.set(change.id, change);
      }
      await environment.upsert([...newest.values()]);
    }
    const seconds = (performance.now() - started) / 1000;
    const checksum = await environment.checksum();
    return { records: checksum.count, checksum: checksum.hex, seconds, latenciesMs: [] };
  } finally {
    await environment.close();
  }
}
