import type { ConfigIssue, ConfigPath } from '../../runtime/component.js';
import { SluiceError } from '../../runtime/errors.js';
import { FieldPath } from './field-path.js';

/** The issue with a field path at `path` in the options, if any (an empty part, as in `address..city`). */
export function fieldIssues(text: string, path: ConfigPath): ConfigIssue[] {
  try {
    new FieldPath(text);
    return [];
  } catch (error) {
    return [{ path, message: (error as Error).message }];
  }
}

/**
 * Throws a `SluiceError` (`CONFIG_INVALID`) listing `issues`, when there are any: `create` calls it so that a node
 * built without a prior `check` still refuses bad options.
 */
export function assertNoIssues(node: string, issues: readonly ConfigIssue[]): void {
  if (issues.length === 0) return;
  const lines = issues.map((issue) => {
    const where = issue.path.length === 0 ? '(options)' : issue.path.join('.');
    return `${where}: ${issue.message}${issue.offset === undefined ? '' : ` (at character ${issue.offset})`}`;
  });
  throw new SluiceError('CONFIG_INVALID', `node ${node} has invalid options:\n  ${lines.join('\n  ')}`);
}
