import { BENCH_BATCH } from '../generated-orders.js';
import { consumeAssigned } from '../kafka/consume-assigned.js';
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
    const newest = new Map<number, { hlc: string; name: string; balance: string }>();
    // Balances are read back as text: JSON.parse turns 26.30 into 26.3, so the text is kept from the message.
    const balanceText = /"balance": ([-0-9.]+)/;
    let changes = 0;
    const consumption = await consumeAssigned(
      environment.brokers,
      'bench-consume-parse',
      environment.topics,
      PARTITIONS,
      (message) => {
        if (message.key === null || message.key === undefined) return;
        const text = message.value!.toString();
        const value = JSON.parse(text) as EnrichedValue;
        changes++;
        const hlc = value.source.ts_hlc;
        const current = newest.get(value.after.id);
        if (current === undefined || current.hlc < hlc)
          newest.set(value.after.id, { hlc, name: value.after.name, balance: balanceText.exec(text)![1]! });
      },
    );
    return {
      done: () => changes,
      stop: () => consumption.stop(),
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
