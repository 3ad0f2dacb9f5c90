import { SluiceError } from '../errors.js';

/** One problem in a pipeline config, at a 1-based line and column of its file. */
export interface ConfigProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/**
 * A pipeline config that cannot be used (code `CONFIG_INVALID`), with every problem found, sorted by position.
 * The message is {@link ConfigError.format}'s text.
 */
export class ConfigError extends SluiceError {
  /** Every problem, sorted by line and column. */
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const sorted = [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
    super('CONFIG_INVALID', formatProblems(sorted));
    this.problems = sorted;
  }

  /** One `FILE:LINE:COL: message` line per problem. */
  format(): string {
    return formatProblems(this.problems);
  }
}

function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems
    .map((problem) => `${problem.file}:${problem.line}:${problem.column}: ${problem.message}`)
    .join('\n');
}
