import pino from 'pino';
import { defaultRegistry } from '../../cli/registry.js';
import { parsePipeline } from '../../runtime/config/index.js';
import { FileCheckpointStore } from '../../runtime/file-checkpoint-store.js';
import { Pipeline } from '../../runtime/pipeline.js';
import type { StartedKafkaSystem } from './measure-live-kafka.js';

/**
 * Sluice consuming Kafka: builds the pipeline from `yaml` (named `file`) with the real config loader, `env` filling
 * its variables, runs it in this process and resolves once the group assigned the partitions; `done()` counts the
 * rows its sink `out` wrote.
 */
export async function startSluicePipeline(
  yaml: string,
  file: string,
  env: Readonly<Record<string, string>>,
): Promise<StartedKafkaSystem> {
  const registry = defaultRegistry();
  const spec = await parsePipeline(yaml, file, registry, { env: { ...process.env, ...env } });
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
  running.catch((error: unknown) => (failure = error instanceof Error ? error : new Error(String(error))));
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
}
