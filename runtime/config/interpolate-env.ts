/** Environment variables as the loader sees them (`process.env` by default). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** One `${...}` that could not be replaced, at a character offset of the original text. */
export interface InterpolationProblem {
  readonly offset: number;
  readonly message: string;
}

/** A piece of the result: `length` characters from `resultStart` came from `sourceStart` of the original text. */
interface Piece {
  readonly resultStart: number;
  readonly sourceStart: number;
  readonly length: number;
  /** True when the piece was copied from the original text (else it is a variable's value). */
  readonly literal: boolean;
}

/** The outcome of {@link interpolateEnv}. */
export interface Interpolation {
  readonly text: string;
  /** True when the whole original text was one `${...}`. */
  readonly whole: boolean;
  /** Variables read, with the value each gave (defaults included). */
  readonly variables: readonly {
    readonly name: string;
    readonly value: string;
    readonly fromDefault: boolean;
  }[];
  readonly problems: readonly InterpolationProblem[];
  /** Maps a character offset of the result to the offset of the original text it came from. */
  sourceOffset(resultOffset: number): number;
}

const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces `${VAR}` and `${VAR:-default}` (the default when VAR is unset or empty) with values from `env`;
 * `$${` stands for a literal `${`. Missing variables and malformed references become problems at their offset.
 */
export function interpolateEnv(original: string, env: Environment): Interpolation {
  const pieces: Piece[] = [];
  const variables: { name: string; value: string; fromDefault: boolean }[] = [];
  const problems: InterpolationProblem[] = [];
  let text = '';
  let copiedUpTo = 0;
  const copy = (sourceStart: number, sourceEnd: number): void => {
    if (sourceEnd <= sourceStart) return;
    pieces.push({ resultStart: text.length, sourceStart, length: sourceEnd - sourceStart, literal: true });
    text += original.slice(sourceStart, sourceEnd);
  };
  for (const match of original.matchAll(REFERENCE)) {
    const at = match.index;
    copy(copiedUpTo, at);
    copiedUpTo = at + match[0].length;
    if (match[0] === '$${') {
      copy(at + 1, at + 3);
      continue;
    }
    const body = match[1];
    if (body === undefined) {
      problems.push({ offset: at, message: 'expected `}` to close `${`' });
      continue;
    }
    const split = body.indexOf(':-');
    const name = split === -1 ? body : body.slice(0, split);
    if (!NAME.test(name)) {
      problems.push({
        offset: at,
        message: `expected \`\${NAME}\` or \`\${NAME:-default}\`, got \`${match[0]}\``,
      });
      continue;
    }
    const set = env[name];
    let value: string;
    if (set !== undefined && (set !== '' || split === -1)) {
      value = set;
      variables.push({ name, value, fromDefault: false });
    } else if (split !== -1) {
      value = body.slice(split + 2);
      variables.push({ name, value, fromDefault: true });
    } else {
      problems.push({
        offset: at,
        message: `environment variable ${name} is not set (write \`\${${name}:-default}\` for a default)`,
      });
      continue;
    }
    pieces.push({ resultStart: text.length, sourceStart: at, length: value.length, literal: false });
    text += value;
  }
  copy(copiedUpTo, original.length);
  const whole = /^\$\{[^}]*\}$/.test(original);
  return {
    text,
    whole,
    variables,
    problems,
    sourceOffset(resultOffset: number): number {
      const piece = pieces.findLast((candidate) => candidate.resultStart <= resultOffset);
      if (piece === undefined) return 0;
      if (!piece.literal) return piece.sourceStart;
      return piece.sourceStart + Math.min(resultOffset - piece.resultStart, piece.length);
    },
  };
}
