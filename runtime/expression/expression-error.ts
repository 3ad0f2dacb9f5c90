import { SluiceError } from '../errors.js';

/**
 * An expression that cannot be compiled (`EXPRESSION_INVALID`: syntax, unknown variable or function, wrong arity,
 * invalid regex) or that failed on a record (`EXPRESSION_EVAL`: a function given a type it cannot take, division by
 * zero). Never retriable: the same expression on the same record fails the same way, so callers dead-letter the
 * record (evaluation) or reject the config (compilation).
 */
export class ExpressionError extends SluiceError {
  /** The expression's text, as written in the config. */
  readonly expression: string;
  /** For `EXPRESSION_INVALID`: the 0-based character index into the expression where the problem is; else null. */
  readonly offset: number | null;

  constructor(
    code: 'EXPRESSION_INVALID' | 'EXPRESSION_EVAL',
    message: string,
    expression: string,
    offset: number | null,
    cause?: unknown,
  ) {
    super(code, message, { retriable: false, cause });
    this.expression = expression;
    this.offset = offset;
  }
}
