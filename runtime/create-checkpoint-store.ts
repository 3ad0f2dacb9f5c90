import type { Logger } from 'pino';
import type { CheckpointStore } from './checkpoint-store.js';
import type { CheckpointStoreDefinition, ComponentRegistry } from './component.js';
import { SluiceError, messageOf } from './errors.js';
import { FileCheckpointStore } from './file-checkpoint-store.js';
import type { PipelineSpec } from './pipeline-spec.js';

/**
 * The checkpoint store a pipeline's sources keep their checkpoints in: the type its `checkpoints:` section names,
 * built from the registry (no I/O yet), or files under `runtime.stateDir` without the section. Whoever runs the
 * pipeline owns the store and closes it. Rejects with `UNKNOWN_COMPONENT` for a type the registry lacks and
 * `COMPONENT_CREATE_FAILED` when the definition's `create` throws.
 */
export async function createCheckpointStore(
  spec: PipelineSpec,
  registry: ComponentRegistry,
  logger: Logger,
): Promise<CheckpointStore> {
  const configured = spec.checkpoints;
  if (configured === undefined) return new FileCheckpointStore(spec.runtime.stateDir);
  const definitions = registry.checkpointStores ?? new Map<string, CheckpointStoreDefinition>();
  const definition = definitions.get(configured.type);
  if (definition === undefined) {
    throw new SluiceError(
      'UNKNOWN_COMPONENT',
      `checkpoints has type "${configured.type}", which this build does not know (known: ${[...definitions.keys()].join(', ') || 'none'})`,
    );
  }
  try {
    return await definition.create(configured.options, {
      pipeline: spec.name,
      node: 'checkpoints',
      configDir: spec.configDir,
      logger: logger.child({ pipeline: spec.name, node: 'checkpoints' }),
    });
  } catch (error) {
    throw new SluiceError(
      'COMPONENT_CREATE_FAILED',
      `checkpoints (type "${configured.type}") could not be built: ${messageOf(error)}`,
      { cause: error },
    );
  }
}
