import { Decimal } from '../../runtime/decimal.js';
import type { Row } from '../../runtime/record.js';
import { Checksum } from '../checksum.js';
import { BENCH_BATCH, generatedBatches } from '../generated-orders.js';
import { rowIdentity } from '../record-identity.js';
import { runSluicePipeline } from '../run-pipeline.js';
import type { Scenario } from '../scenario.js';
import { operatorsChainYaml } from '../operators-chain-yaml.js';

const SEED = 11;
const INVALID_RATIO = 0.02;
const FIELDS = ['id', 'amount_cents', 'customer_name', 'email', 'currency'];

/** generate → filter → transform (3 fields) → validate (5 rules incl. regex and range) → sink. */
const PIPELINE = `
name: bench-operators
sources:
  orders: { type: generate, count: '\${RECORDS}', seed: ${SEED}, invalid_ratio: ${INVALID_RATIO}, batch_records: ${BENCH_BATCH} }
${operatorsChainYaml()}
sinks:
  out: { from: checks, type: bench_checksum, fields: [${FIELDS.join(', ')}], batch: { max_records: ${BENCH_BATCH}, max_wait: 50ms } }
dlq: { type: discard }
runtime: { state_dir: ./state }
`;

const EMAIL = /^[^@\s]+@[^@\s]+\.[a-z]+$/;
const CURRENCIES = new Set(['EUR', 'USD', 'GBP']);

/** What a Node developer writes by hand for the same chain: the ceiling. */
function handWritten(records: number): Checksum {
  const checksum = new Checksum();
  const dead: Row[] = [];
  for (const batch of generatedBatches(records, SEED, INVALID_RATIO)) {
    for (const record of batch) {
      const after = record.after!;
      if (after.status === 'cancelled') continue;
      const { customer, note: _note, ...rest } = after;
      const amount = after.amount instanceof Decimal ? Number(after.amount.text) : (after.amount as number);
      const row: Row = { ...rest, customer_name: customer!, amount_cents: Math.round(amount * 100) };
      const email = row.email;
      const name = row.customer_name as string;
      if (
        email === null ||
        email === undefined ||
        !EMAIL.test(email as string) ||
        amount < 0 ||
        amount > 10000 ||
        !CURRENCIES.has(row.currency as string) ||
        name.length > 100
      ) {
        dead.push(row);
        continue;
      }
      checksum.add(rowIdentity(row, FIELDS));
    }
    dead.length = 0;
  }
  return checksum;
}

/** Scenario `operators`: the light operator chain in Sluice on one thread, against the same logic hand-written. */
export const operators: Scenario = {
  name: 'operators',
  description:
    'generate → filter → transform (3 fields) → validate (5 rules) → sink, against the same logic in a plain loop',
  records: { full: 1_000_000, quick: 200_000 },
  expected: (records) => {
    const checksum = handWritten(records);
    return { records: checksum.count, checksum: checksum.hex };
  },
  systems: [
    {
      name: 'sluice',
      role: 'sluice',
      run: ({ records, workDir }) => runSluicePipeline(PIPELINE, workDir, { RECORDS: String(records) }),
    },
    {
      name: 'hand-written',
      role: 'ceiling',
      run: async ({ records }) => {
        const started = performance.now();
        const checksum = handWritten(records);
        return {
          records: checksum.count,
          checksum: checksum.hex,
          seconds: (performance.now() - started) / 1000,
          latenciesMs: [],
        };
      },
    },
  ],
  ratios: [{ of: 'sluice', to: 'hand-written', atLeast: 0.8 }],
};
