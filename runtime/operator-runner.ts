import type { BatchOperator, OperatorResult } from './operator.js';
import type { ChangeRecord } from './record.js';

/**
 * Runs one operator on one batch: the only way the engine invokes operators, so that a worker-pool runner can
 * replace the inline one without touching the graph. Results must keep input order per node.
 */
export interface OperatorRunner {
  run(
    node: string,
    operator: BatchOperator,
    records: ChangeRecord[],
  ): OperatorResult | Promise<OperatorResult>;
  /**
   * How many batches of `node` the engine may hand to `run` before the earlier ones resolve (it still takes their
   * results in input order). Asked before each batch of the node starts. Optional: absent means 1, one batch at a
   * time, which an operator running on the engine's thread always gets.
   */
  overlap?(node: string): number;
  /**
   * Releases the runner's threads, once, when the pipeline closes (after every batch has drained, or at a forced
   * stop with `force` true: work still running is abandoned). Optional: the inline runner holds nothing.
   */
  close?(force: boolean): Promise<void>;
}

/** The default runner: calls the operator on the engine's thread. */
export const inlineOperatorRunner: OperatorRunner = {
  run: (_node, operator, records) => operator.process(records),
};
