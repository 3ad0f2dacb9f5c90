import pino from 'pino';
import type { CheckpointStore } from '../../runtime/checkpoint-store.js';
import type { ComponentRegistry } from '../../runtime/component.js';
import { parsePipeline } from '../../runtime/config/index.js';
import { Pipeline } from '../../runtime/pipeline.js';

/**
 * A pipeline built from `yaml` by the real config loader (read as the file `file`, `${...}` taken from `env`), with
 * a silent logger and `checkpoints`; not running yet.
 */
export async function yamlPipeline(
  yaml: string,
  file: string,
  registry: ComponentRegistry,
  env: Readonly<Record<string, string>>,
  checkpoints: CheckpointStore,
): Promise<Pipeline> {
  const spec = await parsePipeline(yaml, file, registry, { env });
  return Pipeline.create(spec, { registry, logger: pino({ level: 'silent' }), checkpoints });
}
