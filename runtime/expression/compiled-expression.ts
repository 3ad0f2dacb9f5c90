import type { ChangeRecord, Value } from '../record.js';

/** An expression compiled once, evaluated per record. Safe to share between pipelines and call concurrently. */
export interface CompiledExpression {
  /** The expression's text, as written in the config. */
  readonly text: string;
  /**
   * The expression's value for `record`, with the extra variables declared at compile time taken from `extra`.
   * Throws `ExpressionError` (`EXPRESSION_EVAL`) when the expression cannot be evaluated on this record.
   */
  evaluate(record: ChangeRecord, extra?: Record<string, Value>): Value;
}
