import { OrderGenerator } from '../../connectors/generate/order-generator.js';
import type { ChangeRecord } from '../../runtime/record.js';
import { Checksum } from '../checksum.js';
import { orderIdentity } from '../record-identity.js';
import { runSluicePipeline } from '../run-pipeline.js';
import type { Scenario } from '../scenario.js';

const SEED = 7;
const BATCH = 1000;

/** generate → (no operators) → sink: the cost of the engine itself. */
const PIPELINE = `
name: bench-passthrough
sources:
  orders: { type: generate, count: '\${RECORDS}', seed: ${SEED}, batch_records: ${BATCH} }
sinks:
  out: { from: orders, type: bench_checksum, batch: { max_records: ${BATCH}, max_wait: 50ms } }
runtime: { state_dir: ./state }
`;

/** The same records, built and checksummed in a plain loop with nothing in between: the ceiling. */
function plainLoop(records: number): Checksum {
  const generator = new OrderGenerator(SEED, undefined, 0);
  const checksum = new Checksum();
  const now = Date.now();
  for (let first = 0; first < records; first += BATCH) {
    const size = Math.min(BATCH, records - first);
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
    for (const record of batch) checksum.add(orderIdentity(record.after!));
  }
  return checksum;
}

/** Scenario `passthrough`: generate → Sluice → sink, against a plain loop doing the same work. */
export const passthrough: Scenario = {
  name: 'passthrough',
  description: 'generate → sluice engine (no operators) → checksum sink, against a plain loop (the ceiling)',
  records: { full: 2_000_000, quick: 200_000 },
  expectedChecksum: (records) => plainLoop(records).hex,
  systems: [
    {
      name: 'sluice',
      role: 'sluice',
      run: ({ records, workDir }) => runSluicePipeline(PIPELINE, workDir, { RECORDS: String(records) }),
    },
    {
      name: 'plain-loop',
      role: 'ceiling',
      run: async ({ records }) => {
        const started = performance.now();
        const checksum = plainLoop(records);
        const seconds = (performance.now() - started) / 1000;
        return { records: checksum.count, checksum: checksum.hex, seconds, latenciesMs: [] };
      },
    },
  ],
  ratios: [{ of: 'sluice', to: 'plain-loop' }],
};
