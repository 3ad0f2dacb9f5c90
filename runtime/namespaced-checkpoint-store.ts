import type { CheckpointStore } from './checkpoint-store.js';

/**
 * The view of a checkpoint store a source gets: every key prefixed with `pipeline/node/`, so sources never
 * collide. Closing it does nothing: the store belongs to whoever made the pipeline.
 */
export class NamespacedCheckpointStore implements CheckpointStore {
  readonly #store: CheckpointStore;
  readonly #prefix: string;

  constructor(store: CheckpointStore, pipeline: string, node: string) {
    this.#store = store;
    this.#prefix = `${pipeline}/${node}/`;
  }

  load(key: string): Promise<unknown> {
    return this.#store.load(this.#prefix + key);
  }

  save(key: string, checkpoint: unknown): Promise<void> {
    return this.#store.save(this.#prefix + key, checkpoint);
  }

  async close(): Promise<void> {}
}
