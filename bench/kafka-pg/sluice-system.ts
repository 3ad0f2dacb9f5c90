import { startSluicePipeline } from '../kafka/start-sluice-pipeline.js';
import type { SystemParams, SystemResult } from '../scenario.js';
import { measureKafkaPg } from './measure.js';

/** Kafka → filter → transform (3 fields) → validate (5 rules) → Postgres upsert: the `operators` chain from Kafka. */
function pipelineYaml(topics: readonly string[], table: string, stateDir: string): string {
  return `
name: bench-kafka-pg
sources:
  orders:
    type: kafka
    brokers: \${KAFKA_BROKERS}
    group: bench-sluice
    topics: [${topics.join(', ')}]
operators:
  open: { from: orders, type: filter, where: 'after.status != "cancelled"' }
  shape:
    from: open
    type: transform
    rename: { customer: customer_name }
    set: { amount_cents: 'round(after.amount * 100)' }
    drop: [note]
  checks:
    from: shape
    type: validate
    rules:
      - { name: email_present, field: email, not_null: true, action: dlq }
      - { name: email_shape, field: email, regex: '^[^@\\s]+@[^@\\s]+\\.[a-z]+$', action: dlq }
      - { name: amount_range, field: amount, range: { min: 0, max: 10000 }, action: dlq }
      - { name: currency, field: currency, in: [EUR, USD, GBP], action: dlq }
      - { name: name_length, field: customer_name, length: { max: 100 }, action: dlq }
sinks:
  out:
    from: checks
    type: postgres
    url: \${PG_URL}
    table: public.${table}
    mode: upsert
    key: [id]
    batch: { max_records: 1000, max_wait: 50ms }
dlq: { type: discard }
runtime:
  state_dir: ${JSON.stringify(stateDir)}
`;
}

/** Sluice itself: the pipeline built from YAML by the real config loader, run by the engine in this process. */
export function runSluice(params: SystemParams): Promise<SystemResult> {
  return measureKafkaPg(params, 'sluice', (environment) => {
    const yaml = pipelineYaml(environment.topics, environment.table.name, `${params.workDir}/state`);
    return startSluicePipeline(yaml, 'bench-kafka-pg.yaml', {
      KAFKA_BROKERS: environment.brokers,
      PG_URL: environment.pgUrl,
    });
  });
}
