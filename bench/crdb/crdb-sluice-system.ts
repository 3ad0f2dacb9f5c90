import pino from 'pino';
import { defaultRegistry } from '../../cli/registry.js';
import { parsePipeline } from '../../runtime/config/index.js';
import { FileCheckpointStore } from '../../runtime/file-checkpoint-store.js';
import { Pipeline } from '../../runtime/pipeline.js';
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
    measureCrdbKafka(params, `sluice-${consistency}`, async (environment) => {
      const registry = defaultRegistry();
      const yaml = pipelineYaml(
        environment.topics,
        environment.table,
        `${params.workDir}/state`,
        consistency,
      );
      const spec = await parsePipeline(yaml, 'bench-crdb-kafka-pg.yaml', registry, {
        env: { ...process.env, KAFKA_BROKERS: environment.brokers, PG_URL: environment.pgUrl },
      });
      let assigned!: () => void;
      const ready = new Promise<void>((resolve) => (assigned = resolve));
      // Info lines tell when the group assigned the partitions; warnings and errors still reach stderr.
      const logger = pino(
        { level: 'info' },
        {
          write(line: string) {
            if (line.includes('assigned partitions')) assigned();
            else if (/"level":[4-6]0/.test(line)) process.stderr.write(line);
          },
        },
      );
      const checkpoints = new FileCheckpointStore(spec.runtime.stateDir);
      const pipeline = await Pipeline.create(spec, { registry, logger, checkpoints });
      const running = pipeline.run();
      let failure: Error | undefined;
      running.catch(
        (error: unknown) => (failure = error instanceof Error ? error : new Error(String(error))),
      );
      await Promise.race([ready, running]);
      return {
        done: () => {
          if (failure !== undefined) throw failure;
          return pipeline.counters().sinks.out!.written;
        },
        stop: async () => {
          pipeline.stop();
          await running;
          await checkpoints.close();
        },
      };
    });
}

/** Sluice with `consistency: per_key` (the default): each batch written as it comes. */
export const runSluicePerKey = sluiceSystem('per_key');

/** Sluice with `consistency: resolved`: changes applied one resolved timestamp at a time, in one transaction each. */
export const runSluiceResolved = sluiceSystem('resolved');
