import type { DeadLetter } from './dead-letter.js';
import type { PipelineFailure } from './errors.js';
import type { ChangeRecord } from './record.js';

/**
 * What an operator makes of one batch. Records it neither outputs nor dead-letters are filtered out (and count
 * as handled).
 */
export interface OperatorResult {
  /** Records for the default output, in input order. */
  readonly records: ChangeRecord[];
  /** Records for named outputs (a router's branches), in input order. Downstream nodes name them `node.branch`. */
  readonly branches?: Readonly<Record<string, ChangeRecord[]>>;
  /** Records set aside, with reasons: they go to the DLQ. */
  readonly dead?: readonly DeadLetter[];
  /**
   * Stops the pipeline: set when a record failed a rule whose action is `fail`. `records`/`branches` then hold
   * only what came before the failing record, and `handled` says how many leading input records were dealt with.
   */
  readonly failure?: { readonly error: PipelineFailure; readonly handled: number };
}

/**
 * An operator: a function of a batch, safe to run in a worker thread. It may keep bounded state across batches
 * (a dedup window) but does no I/O; what it needs is given at creation. A throw is a pipeline error naming the
 * node.
 */
export interface BatchOperator {
  /** Processes one batch, in order. Returns synchronously when it can (the fast path). */
  process(records: ChangeRecord[]): OperatorResult | Promise<OperatorResult>;
  /** Releases what `create` acquired (a user module's resources). Idempotent. */
  close?(): Promise<void>;
}
