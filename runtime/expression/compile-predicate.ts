import type { ChangeRecord, Value } from '../record.js';
import { compileFunction, evaluationError } from './compile.js';
import type { CompiledPredicate } from './compiled-predicate.js';
import { ExpressionError } from './expression-error.js';
import type { ExpressionOptions } from './expression-options.js';
import { typeName } from './values.js';

/**
 * Compiles a boolean CEL expression (a filter, a rule) once; see `compileExpression` for the language. `test` is
 * true only for `true`, false for `false` and null, and throws `ExpressionError` (`EXPRESSION_EVAL`) naming the type
 * that came for anything else.
 */
export function compilePredicate(text: string, options?: ExpressionOptions): CompiledPredicate {
  const evaluate = compileFunction(text, options);
  return {
    text,
    test(record: ChangeRecord, extra?: Record<string, Value>): boolean {
      let value: Value;
      try {
        value = evaluate(record, extra);
      } catch (error) {
        throw evaluationError(text, error);
      }
      if (value === true) return true;
      if (value === false || value === null) return false;
      throw new ExpressionError(
        'EXPRESSION_EVAL',
        `expression ${JSON.stringify(text)} must give a bool (true or false), got ${typeName(value)}`,
        text,
        null,
      );
    },
  };
}
