import { runConsumeParse, runPgUpsert } from '../kafka-pg/ceiling-systems.js';
import { runKafkaJsBatch, runKafkaJsNaive } from '../kafka-pg/kafkajs-systems.js';
import { expectedRows, rowsChecksum } from '../kafka-pg/order-chain.js';
import { runSluice } from '../kafka-pg/sluice-system.js';
import { runSluiceTraced } from '../kafka-pg/sluice-traced-system.js';
import type { Scenario } from '../scenario.js';

/**
 * Scenario `kafka-pg`: orders produced into Kafka while each system consumes them, runs the `operators` chain and
 * upserts into Postgres; against a KafkaJS batch consumer, a naive per-message one, and the two ceilings.
 */
export const kafkaPg: Scenario = {
  name: 'kafka-pg',
  description:
    'Kafka (mock cluster, produced live) → filter → transform (3 fields) → validate (5 rules) → Postgres upsert, against KafkaJS consumers and the consume / upsert ceilings',
  // The naive per-message consumer writes a few hundred rows a second: a full run of 100 000 takes it minutes.
  records: { full: 100_000, quick: 20_000 },
  expected: (records) => {
    const checksum = rowsChecksum(expectedRows(records));
    return { records: checksum.count, checksum: checksum.hex };
  },
  systems: [
    { name: 'sluice', role: 'sluice', run: runSluice },
    { name: 'sluice-traced', role: 'sluice', run: runSluiceTraced },
    { name: 'kafkajs-batch', role: 'alternative', run: runKafkaJsBatch },
    { name: 'naive-per-message', role: 'alternative', run: runKafkaJsNaive },
    { name: 'consume-parse', role: 'ceiling', run: runConsumeParse },
    { name: 'pg-upsert', role: 'ceiling', run: runPgUpsert },
  ],
  // The target is against the lower of the two ceilings: on the mock cluster that is consume-and-parse.
  ratios: [
    { of: 'sluice', to: 'consume-parse', atLeast: 0.85 },
    { of: 'sluice', to: 'pg-upsert' },
    { of: 'sluice-traced', to: 'sluice', atLeast: 0.9 },
    { of: 'sluice', to: 'kafkajs-batch', atLeast: 1.5 },
  ],
};
