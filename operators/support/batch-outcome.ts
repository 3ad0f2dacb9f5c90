import type { DeadLetter } from '../../runtime/dead-letter.js';
import { PipelineFailure } from '../../runtime/errors.js';
import type { OperatorResult } from '../../runtime/operator.js';
import type { ChangeRecord, Value } from '../../runtime/record.js';

/** What to do with a record an operator cannot handle (an expression that fails on it, a cast that cannot apply). */
export type OnError = 'dlq' | 'fail';

/** Why a record is rejected, for its dead letter or the pipeline failure. */
export interface Rejection {
  /** Stable code of the pipeline failure when the record stops the pipeline (`CAST_FAILED`, `EXPRESSION_EVAL`). */
  readonly code: string;
  /** What was expected and what came. */
  readonly reason: string;
  readonly rule?: string;
  readonly field?: string;
  readonly value?: Value;
}

/** `source at position`, for messages that must say where a record came from. */
export function recordPlace(record: ChangeRecord): string {
  return `record from ${record.source.name} at ${record.source.position}`;
}

/**
 * Collects what an operator makes of one batch (kept records, branches, dead letters, a failure) and turns it into
 * an `OperatorResult`. Every operator builds its result through it, so dead letters and failures look alike.
 */
export class BatchOutcome {
  private readonly node: string;
  private readonly kept: ChangeRecord[] = [];
  private branches: Record<string, ChangeRecord[]> | undefined;
  private readonly dead: DeadLetter[] = [];
  private failure: { error: PipelineFailure; handled: number } | undefined;

  constructor(node: string) {
    this.node = node;
  }

  /** True once a record has stopped the pipeline: the operator must stop processing the batch. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Sends a record to the default output. */
  keep(record: ChangeRecord): void {
    this.kept.push(record);
  }

  /** Sends a record to a named branch. */
  branch(name: string, record: ChangeRecord): void {
    this.branches ??= {};
    (this.branches[name] ??= []).push(record);
  }

  /** Declares a branch that exists even when no record goes to it in this batch. */
  declareBranch(name: string): void {
    this.branches ??= {};
    this.branches[name] ??= [];
  }

  /** Sets a record aside with a reason: it goes to the DLQ. */
  deadLetter(record: ChangeRecord, rejection: Omit<Rejection, 'code'>): void {
    const letter: DeadLetter = {
      node: this.node,
      reason: rejection.reason,
      source: { name: record.source.name, position: record.source.position },
      record,
      ...(rejection.rule === undefined ? {} : { rule: rejection.rule }),
      ...(rejection.field === undefined ? {} : { field: rejection.field }),
      ...(rejection.value === undefined ? {} : { value: rejection.value }),
    };
    this.dead.push(letter);
  }

  /** Stops the pipeline: `handled` leading input records were dealt with; the rest are not. */
  fail(error: PipelineFailure, handled: number): void {
    this.failure = { error, handled };
  }

  /**
   * Dead-letters the record at `index` (`dlq`) or stops the pipeline on it (`fail`) with a `PipelineFailure` whose
   * message names the node, the reason and where the record came from.
   */
  reject(onError: OnError, index: number, record: ChangeRecord, rejection: Rejection): void {
    if (onError === 'dlq') {
      this.deadLetter(record, rejection);
      return;
    }
    const message = `node ${this.node}: ${rejection.reason} (${recordPlace(record)})`;
    this.fail(new PipelineFailure(rejection.code, message), index);
  }

  /** The operator's result for the batch. */
  result(): OperatorResult {
    return {
      records: this.kept,
      ...(this.branches === undefined ? {} : { branches: this.branches }),
      ...(this.dead.length === 0 ? {} : { dead: this.dead }),
      ...(this.failure === undefined ? {} : { failure: this.failure }),
    };
  }
}
