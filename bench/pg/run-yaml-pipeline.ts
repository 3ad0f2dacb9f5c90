import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { defaultRegistry } from '../../cli/registry.js';
import { loadPipeline } from '../../runtime/config/index.js';
import { FileCheckpointStore } from '../../runtime/file-checkpoint-store.js';
import { Pipeline } from '../../runtime/pipeline.js';

/**
 * Runs a pipeline from YAML text through the real config loader, registry and engine (as `sluice run` does),
 * for benchmarks whose output is checked where it lands (a Postgres table) rather than by a checksum sink.
 * `whileRunning`, when given, is started once `run()` is called; when it resolves the pipeline is stopped
 * gracefully (for unbounded sources). Resolves with the seconds `run()` took.
 */
export async function runYamlPipeline(
  yaml: string,
  workDir: string,
  env: Record<string, string>,
  whileRunning?: (pipeline: Pipeline) => Promise<void>,
): Promise<number> {
  await mkdir(workDir, { recursive: true });
  const file = join(workDir, 'pipeline.yaml');
  await writeFile(file, yaml);
  const registry = defaultRegistry();
  const spec = await loadPipeline(file, registry, { env: { ...process.env, ...env } });
  const checkpoints = new FileCheckpointStore(spec.runtime.stateDir);
  const pipeline = await Pipeline.create(spec, { registry, logger: pino({ level: 'warn' }), checkpoints });
  const started = performance.now();
  const running = pipeline.run();
  if (whileRunning) {
    // A pipeline that fails ends `running` first; the helper's own failure stops the pipeline before it rethrows.
    const helper = whileRunning(pipeline).then(
      () => pipeline.stop(),
      (error: unknown) => {
        pipeline.stop();
        throw error;
      },
    );
    await Promise.all([running, helper]);
  } else await running;
  const seconds = (performance.now() - started) / 1000;
  await checkpoints.close();
  return seconds;
}
