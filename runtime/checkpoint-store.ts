/**
 * Durable storage for the checkpoints of sources that have no offset store of their own (files, generated input,
 * Postgres poll mode, CockroachDB sinkless and webhook feeds). Keys are namespaced by pipeline and source.
 *
 * Implementations: a file per key written atomically under the state directory (the default), and a Postgres table.
 */
export interface CheckpointStore {
  /**
   * Reads the last saved checkpoint, or `undefined` when none was ever saved.
   * Rejects with code `CHECKPOINT_CORRUPT` when the stored state fails its checksum (never silently resets).
   */
  load(key: string): Promise<unknown>;
  /** Saves a checkpoint (any JSON-serialisable value) atomically: after a crash, the old or the new value is read. */
  save(key: string, checkpoint: unknown): Promise<void>;
  /** Releases resources. Idempotent. */
  close(): Promise<void>;
}
