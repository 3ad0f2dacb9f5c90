import { pino } from 'pino';
import { FileCheckpointStore } from '../../../runtime/file-checkpoint-store.js';
import { NamespacedCheckpointStore } from '../../../runtime/namespaced-checkpoint-store.js';
import type { SourceBatch, SourceContext, Source } from '../../../runtime/source.js';

/** A source context as the engine builds it, over a real file checkpoint store in `stateDir`. */
export function sourceContext(stateDir: string, name = 'input', signal = new AbortController().signal): SourceContext & { store: FileCheckpointStore } {
  const store = new FileCheckpointStore(stateDir);
  return {
    pipeline: 'test',
    name,
    logger: pino({ level: 'silent' }),
    checkpoints: new NamespacedCheckpointStore(store, 'test', name),
    signal,
    store,
  };
}

/** Every batch until the source returns null. */
export async function readAll(source: Source): Promise<SourceBatch[]> {
  const batches: SourceBatch[] = [];
  for (let batch = await source.read(); batch !== null; batch = await source.read()) batches.push(batch);
  return batches;
}
