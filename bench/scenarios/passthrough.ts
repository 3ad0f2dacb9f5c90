import { Checksum } from '../checksum.js';
import { BENCH_BATCH, generatedBatches } from '../generated-orders.js';
import { rowIdentity } from '../record-identity.js';
import { runSluicePipeline } from '../run-pipeline.js';
import type { Scenario } from '../scenario.js';

const SEED = 7;

/** generate → (no operators) → sink: the cost of the engine itself. */
const PIPELINE = `
name: bench-passthrough
sources:
  orders: { type: generate, count: '\${RECORDS}', seed: ${SEED}, batch_records: ${BENCH_BATCH} }
sinks:
  out: { from: orders, type: bench_checksum, batch: { max_records: ${BENCH_BATCH}, max_wait: 50ms } }
runtime: { state_dir: ./state }
`;

/** The same records, built and checksummed in a plain loop with nothing in between: the ceiling. */
function plainLoop(records: number): Checksum {
  const checksum = new Checksum();
  for (const batch of generatedBatches(records, SEED)) {
    for (const record of batch) checksum.add(rowIdentity(record.after!));
  }
  return checksum;
}

/** Scenario `passthrough`: generate → Sluice → sink, against a plain loop doing the same work. */
export const passthrough: Scenario = {
  name: 'passthrough',
  description: 'generate → sluice engine (no operators) → checksum sink, against a plain loop (the ceiling)',
  records: { full: 2_000_000, quick: 200_000 },
  expected: (records) => {
    const checksum = plainLoop(records);
    return { records: checksum.count, checksum: checksum.hex };
  },
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
