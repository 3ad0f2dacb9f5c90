import type { CheckpointStore } from '../runtime/checkpoint-store.js';

/**
 * For dry runs: reads the real checkpoints (so a dry run starts where a real run would) but keeps saves in memory,
 * so nothing a dry run reads is marked as processed.
 */
export class ReadOnlyCheckpointStore implements CheckpointStore {
  readonly #inner: CheckpointStore;
  readonly #saved = new Map<string, unknown>();

  constructor(inner: CheckpointStore) {
    this.#inner = inner;
  }

  async load(key: string): Promise<unknown> {
    return this.#saved.has(key) ? this.#saved.get(key) : this.#inner.load(key);
  }

  async save(key: string, checkpoint: unknown): Promise<void> {
    this.#saved.set(key, checkpoint);
  }

  async close(): Promise<void> {
    await this.#inner.close();
  }
}
