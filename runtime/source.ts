import type { Logger } from 'pino';
import type { CheckpointStore } from './checkpoint-store.js';
import type { DeadLetter } from './dead-letter.js';
import type { ChangeRecord } from './record.js';

/** What the runtime hands a source when it connects it. */
export interface SourceContext {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The source node's name. */
  readonly name: string;
  /** A logger already bound to the pipeline and node. */
  readonly logger: Logger;
  /** Where a source without its own offset store keeps its checkpoint (keys are already namespaced). */
  readonly checkpoints: CheckpointStore;
  /** Aborted when the pipeline stops reading: a pending `read()` must then resolve promptly. */
  readonly signal: AbortSignal;
}

/**
 * A batch of records read from a source, in source order.
 *
 * The runtime calls `ack` exactly once, when every record of the batch is written by every sink it reaches,
 * filtered out, or in the DLQ. Batches may be acknowledged out of order: the source commits only the contiguous
 * acknowledged prefix (see `AckTracker`). When the pipeline stops on a failing record, the runtime calls
 * `ack(n)` with the number of leading records that were handled; the rest must be read again after a restart.
 */
export interface SourceBatch {
  /** The records, in source order. */
  readonly records: ChangeRecord[];
  /** Input in this batch that could not be decoded; the runtime sends it to the DLQ. */
  readonly rejected?: readonly DeadLetter[];
  /** Approximate size in bytes of the input this batch came from, for the in-flight budget. */
  readonly bytes: number;
  /**
   * The source's low watermark after this batch, when it has one (a CockroachDB resolved timestamp, a Postgres
   * commit LSN): no later batch holds a change older than it. Opaque text, ordered by the source.
   */
  readonly watermark?: string;
  /** Marks the first `count` records (default: all) as handled. Called once. Never throws. */
  ack(count?: number): void;
}

/**
 * Where records come from.
 *
 * Lifecycle: `connect` → `read` repeatedly (never two at once) → `close`. The supervisor may call `close` and
 * `connect` again after a failure; a source then resumes from its last committed checkpoint (records after it are
 * read again: delivery is at least once).
 */
export interface Source {
  /** True when the input ends by itself (a file, a generated count, a snapshot): the pipeline finishes when every bounded source has ended. */
  readonly bounded: boolean;
  /**
   * Opens connections and finds the checkpoint to resume from. Rejects with a retriable error for transient
   * failures (the supervisor retries) and a non-retriable one for bad settings.
   */
  connect(context: SourceContext): Promise<void>;
  /**
   * Resolves with the next batch, or `null` at the end of bounded input. Waits while no data is available; when
   * the context's signal aborts, resolves promptly (with what it has, or `null`). Rejects when the connection
   * fails.
   */
  read(): Promise<SourceBatch | null>;
  /**
   * Commits what has been acknowledged, then releases connections. Called once per successful `connect`, also
   * after a failure. Idempotent.
   */
  close(): Promise<void>;
  /**
   * How much has been read and how much there is, in the source's own unit: a bounded source's whole input, or
   * what an unbounded source reads first (a CDC source's initial snapshot), shown while `done` is below `total`.
   */
  progress?(): { done: number; total: number | null; unit: string };
  /**
   * For sources reading partitioned logs: per partition owned now, the records the upstream holds beyond this
   * source's checkpoint (Kafka: high watermark − committed offset), where that is known. Cheap; called whenever
   * metrics are collected.
   */
  backlog?(): readonly SourceBacklog[];
}

/** Records waiting upstream in one partition a source owns, not yet through the pipeline (see `Source.backlog`). */
export interface SourceBacklog {
  /** The partition's name in the source's terms (Kafka: `topic/partition`). */
  readonly partition: string;
  readonly records: number;
}
