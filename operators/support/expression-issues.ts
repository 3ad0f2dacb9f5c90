import type { ConfigIssue, ConfigPath } from '../../runtime/component.js';
import { messageOf } from '../../runtime/errors.js';
import { ExpressionError } from '../../runtime/expression/expression-error.js';

/**
 * Compiles an expression found at `path` in the options, collecting a compile error as a `ConfigIssue` (with the
 * character offset inside the expression) instead of throwing. Returns the compiled value, or undefined after
 * pushing the issue.
 */
export function compileOrIssue<T>(compile: () => T, path: ConfigPath, issues: ConfigIssue[]): T | undefined {
  try {
    return compile();
  } catch (error) {
    const offset = error instanceof ExpressionError && error.offset !== null ? error.offset : undefined;
    issues.push({ path, message: messageOf(error), ...(offset === undefined ? {} : { offset }) });
    return undefined;
  }
}
