import type { Logger } from 'pino';
import type { DeadLetter } from './dead-letter.js';
import type { ChangeRecord } from './record.js';

/** What the runtime hands a sink when it connects it. */
export interface SinkContext {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The sink node's name. */
  readonly name: string;
  /** A logger already bound to the pipeline and node. */
  readonly logger: Logger;
}

/** What a write reports beyond success: records the sink isolated as bad (they go to the DLQ). */
export interface WriteResult {
  /** Records the target refused one by one (a constraint violation, a value too long), with the target's message. */
  readonly rejected: readonly DeadLetter[];
  /**
   * Set by a sink that holds the batch until a later watermark (`consistency: resolved`): then `write` resolving
   * means only "accepted", and the records are acknowledged when this resolves, with the ones the target refused
   * when it finally wrote them. It rejects when that write fails for good (the pipeline fails), and never settles
   * when the sink closes first (the records stay unacknowledged and are read again).
   */
  readonly applied?: Promise<readonly DeadLetter[]>;
}

/**
 * Where records go.
 *
 * Lifecycle: `connect` → `write` (up to the sink's max-in-flight at once, each a micro-batch built by the
 * runtime's batch policy) → `close`. A batch's records are acknowledged to their sources only when `write`
 * resolves.
 */
export interface Sink {
  /** Opens connections; checks the target. Rejects with a retriable error for transient failures. */
  connect(context: SinkContext): Promise<void>;
  /**
   * Writes one batch transactionally: all of it (minus the records it returns as rejected) or none of it.
   * Rejects with a retriable error when the whole batch may succeed later (the runtime retries it with backoff:
   * a write must therefore be safe to repeat), and with a non-retriable one when it never will.
   */
  write(records: readonly ChangeRecord[]): Promise<WriteResult | void>;
  /**
   * Optional: a source's low watermark (see `SourceBatch.watermark`) reached this sink, after every record that
   * source sent before it was passed to a `write` that resolved. A sink that holds records until a watermark
   * (`WriteResult.applied`) writes those the watermark covers, transactionally, and resolves once they are durable.
   * Called one at a time per sink. Rejects like `write` (retriable: the runtime calls it again with the same
   * arguments, so it must be safe to repeat).
   */
  watermark?(source: string, watermark: string): Promise<void>;
  /** Flushes and releases connections. Called once per successful `connect`. Idempotent. */
  close(): Promise<void>;
}
