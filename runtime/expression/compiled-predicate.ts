import type { ChangeRecord, Value } from '../record.js';

/** A boolean expression (a filter or a rule) compiled once, tested per record. */
export interface CompiledPredicate {
  /** The expression's text, as written in the config. */
  readonly text: string;
  /**
   * True when the expression gives `true`; false when it gives `false` or null (as SQL's WHERE treats NULL).
   * Throws `ExpressionError` (`EXPRESSION_EVAL`) when it gives any other type, or cannot be evaluated.
   */
  test(record: ChangeRecord, extra?: Record<string, Value>): boolean;
}
