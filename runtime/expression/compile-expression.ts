import type { ChangeRecord, Value } from '../record.js';
import { compileFunction, evaluationError } from './compile.js';
import type { CompiledExpression } from './compiled-expression.js';
import type { ExpressionOptions } from './expression-options.js';

/**
 * Compiles a CEL expression (`after.amount > 100 && after.currency in ["EUR", "USD"]`) once into a JavaScript
 * function over a {@link ChangeRecord}. Variables: `op`, `key`, `before`, `after`, `source`, `headers`, and the
 * extra names in `options.variables`. Functions: see `EXPRESSION_FUNCTIONS`.
 *
 * Semantics differ from strict CEL where data needs it: a missing field, or a field of null, is null (no error);
 * `==` compares numbers of every kind by value (never an error between types: different types are unequal);
 * `<`, `<=`, `>`, `>=` with a null operand are false; `&&`, `||`, `!` and `? :` read null as false; arithmetic and
 * most functions give null for a null operand; `/` always divides as floating point; `+`, `-`, `*` on a Decimal or
 * bigint are exact (a Decimal result stays a Decimal unless a plain number holds it exactly); `[]` outside a list
 * gives null; `type(x)` returns a name (`"int"`), not a type value; a number with no fraction is an `int`.
 *
 * Throws `ExpressionError` (`EXPRESSION_INVALID`, with `offset`) for syntax errors, unknown variables or functions,
 * wrong argument counts and invalid regex literals.
 */
export function compileExpression(text: string, options?: ExpressionOptions): CompiledExpression {
  const evaluate = compileFunction(text, options);
  return {
    text,
    evaluate(record: ChangeRecord, extra?: Record<string, Value>): Value {
      try {
        return evaluate(record, extra);
      } catch (error) {
        throw evaluationError(text, error);
      }
    },
  };
}
