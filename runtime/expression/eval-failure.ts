/**
 * Internal: why an evaluation failed, thrown by the runtime helpers and turned into an `ExpressionError`
 * (`EXPRESSION_EVAL`, naming the expression) by the compiled expression.
 */
export class EvalFailure extends Error {
  override readonly name = 'EvalFailure';
}

/** Throws an {@link EvalFailure}. */
export function fail(message: string): never {
  throw new EvalFailure(message);
}
