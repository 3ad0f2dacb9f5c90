export { compileExpression } from './compile-expression.js';
export { compilePredicate } from './compile-predicate.js';
export type { CompiledExpression } from './compiled-expression.js';
export type { CompiledPredicate } from './compiled-predicate.js';
export { EXPRESSION_FUNCTIONS } from './expression-functions.js';
export type { ExpressionFunctionDoc } from './expression-functions.js';
export { ExpressionError } from './expression-error.js';
export type { ExpressionOptions } from './expression-options.js';
