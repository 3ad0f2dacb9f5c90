/** Options of `compileExpression` and `compilePredicate`. */
export interface ExpressionOptions {
  /**
   * Names of extra variables the expression may use besides the record's (`salt`, `now_ms`, ...). Their values
   * are passed to each evaluation; a listed variable left out of that call is null.
   */
  readonly variables?: readonly string[];
}
