import pino from 'pino';
import type { CheckpointStore } from '../../runtime/checkpoint-store.js';
import type { SourceContext } from '../../runtime/source.js';

/** A checkpoint store in memory that counts its saves, for driving a source directly. */
export class MemoryCheckpoints implements CheckpointStore {
  readonly values = new Map<string, unknown>();
  saves = 0;

  async load(key: string): Promise<unknown> {
    return structuredClone(this.values.get(key));
  }

  async save(key: string, checkpoint: unknown): Promise<void> {
    this.saves++;
    this.values.set(key, structuredClone(checkpoint));
  }

  async close(): Promise<void> {}
}

/** A source context as the runtime builds it, with its abort controller and a memory checkpoint store. */
export function sourceContext(
  name: string,
  checkpoints = new MemoryCheckpoints(),
): {
  context: SourceContext;
  controller: AbortController;
  checkpoints: MemoryCheckpoints;
} {
  const controller = new AbortController();
  const context: SourceContext = {
    pipeline: 'test',
    name,
    logger: pino({ level: 'silent' }),
    checkpoints,
    signal: controller.signal,
  };
  return { context, controller, checkpoints };
}
