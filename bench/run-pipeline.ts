import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { defaultRegistry } from '../cli/registry.js';
import { loadPipeline } from '../runtime/config/index.js';
import { FileCheckpointStore } from '../runtime/file-checkpoint-store.js';
import { Pipeline } from '../runtime/pipeline.js';
import { CHECKSUM_SINKS, withChecksumSink } from './checksum-sink.js';
import type { SystemResult } from './scenario.js';

/**
 * Runs a Sluice pipeline from YAML text through the real config loader and engine, and reports what its
 * `bench_checksum` sink (named `out`) saw. Timing covers `run()` only.
 */
export async function runSluicePipeline(yaml: string, workDir: string, env: Record<string, string>): Promise<SystemResult> {
  await mkdir(workDir, { recursive: true });
  const file = join(workDir, 'pipeline.yaml');
  await writeFile(file, yaml);
  const registry = withChecksumSink(defaultRegistry());
  const spec = await loadPipeline(file, registry, { env: { ...process.env, ...env } });
  const checkpoints = new FileCheckpointStore(spec.runtime.stateDir);
  const pipeline = await Pipeline.create(spec, { registry, logger: pino({ level: 'warn' }), checkpoints });
  const started = performance.now();
  await pipeline.run();
  const seconds = (performance.now() - started) / 1000;
  await checkpoints.close();
  const out = CHECKSUM_SINKS.get('out');
  if (!out) throw new Error('the benchmark pipeline has no bench_checksum sink named `out`');
  return { records: out.checksum.count, checksum: out.checksum.hex, seconds, latenciesMs: out.latency.samples };
}
