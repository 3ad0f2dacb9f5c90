import { OrderGenerator } from '../connectors/generate/order-generator.js';
import type { ChangeRecord } from '../runtime/record.js';

/** Records per batch in the benchmarks, for Sluice's generate source and the ceilings alike. */
export const BENCH_BATCH = 1000;

/**
 * The records Sluice's `generate` source produces for `(seed, keys, invalidRatio)`, built the same way, batch by
 * batch, for ceilings that do the same work with nothing in between.
 */
export function* generatedBatches(
  records: number,
  seed: number,
  invalidRatio = 0,
  keys?: number,
): Generator<ChangeRecord[]> {
  const generator = new OrderGenerator(seed, keys, invalidRatio);
  for (let first = 0; first < records; first += BENCH_BATCH) {
    const size = Math.min(BENCH_BATCH, records - first);
    const now = Date.now();
    const batch: ChangeRecord[] = new Array<ChangeRecord>(size);
    for (let i = 0; i < size; i++) {
      const order = generator.order(first + i);
      batch[i] = {
        op: order.op,
        key: { id: order.id },
        before: null,
        after: order.row,
        source: { name: 'orders', position: `generate:${first + i}`, table: 'orders' },
        sourceTimeMs: now,
        ingestTimeMs: now,
        headers: {},
      };
    }
    yield batch;
  }
}
