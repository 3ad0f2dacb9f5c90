import { MOCK_FETCH_SETTINGS_YAML } from '../kafka/mock-fetch-settings.js';
import { startSluicePipeline } from '../kafka/start-sluice-pipeline.js';
import type { SystemParams, SystemResult } from '../scenario.js';
import { measureCrdbKafka } from './measure-crdb-kafka.js';

/** The enriched changefeed from Kafka (`crdb_kafka`) → Postgres upsert, newer-wins by HLC, in `consistency` mode. */
function pipelineYaml(
  topics: readonly string[],
  table: string,
  stateDir: string,
  consistency: 'per_key' | 'resolved',
): string {
  return `
name: bench-crdb-kafka-pg
sources:
  accounts:
    type: crdb_kafka
    brokers: \${KAFKA_BROKERS}
    group: bench-sluice
    topics: [${topics.join(', ')}]
    settings: ${MOCK_FETCH_SETTINGS_YAML}
    envelope: enriched
sinks:
  out:
    from: accounts
    type: postgres
    url: \${PG_URL}
    table: public.${table}
    mode: upsert
    key: [id]
    version_column: hlc
    version_from: source.hlc
    consistency: ${consistency}
    batch: { max_records: 1000, max_wait: 50ms }
dlq: { type: discard }
runtime:
  state_dir: ${JSON.stringify(stateDir)}
  in_flight: { records: 50000 }
`;
}

/** Sluice in `consistency` mode: the pipeline built from YAML by the real config loader, run in this process. */
function sluiceSystem(consistency: 'per_key' | 'resolved'): (params: SystemParams) => Promise<SystemResult> {
  return (params) =>
    measureCrdbKafka(params, `sluice-${consistency}`, (environment) => {
      const yaml = pipelineYaml(
        environment.topics,
        environment.table,
        `${params.workDir}/state`,
        consistency,
      );
      return startSluicePipeline(yaml, 'bench-crdb-kafka-pg.yaml', {
        KAFKA_BROKERS: environment.brokers,
        PG_URL: environment.pgUrl,
      });
    });
}

/** Sluice with `consistency: per_key` (the default): each batch written as it comes. */
export const runSluicePerKey = sluiceSystem('per_key');

/** Sluice with `consistency: resolved`: changes applied one resolved timestamp at a time, in one transaction each. */
export const runSluiceResolved = sluiceSystem('resolved');
