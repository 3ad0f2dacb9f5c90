import { MOCK_FETCH_SETTINGS_YAML } from '../kafka/mock-fetch-settings.js';
import { startSluicePipeline } from '../kafka/start-sluice-pipeline.js';
import type { SystemParams, SystemResult } from '../scenario.js';
import { measureKafkaPg } from './measure.js';
import { operatorsChainYaml } from '../operators-chain-yaml.js';

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
    settings: ${MOCK_FETCH_SETTINGS_YAML}
${operatorsChainYaml('round(after.amount * 100)')}
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
