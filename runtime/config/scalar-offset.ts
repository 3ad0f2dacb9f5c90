import { Scalar } from 'yaml';

const DOUBLE_QUOTED_ESCAPE_LENGTH: Readonly<Record<string, number>> = { x: 4, u: 6, U: 10 };

/**
 * The offset in `source` of the character at `valueOffset` of a scalar's parsed value, so problems inside a
 * string point at the offending character. Handles plain, single-quoted and double-quoted scalars (escapes and
 * line folding included) and literal block scalars; folded block scalars map to their first character.
 */
export function scalarSourceOffset(node: Scalar, source: string, valueOffset: number): number {
  const [start, end] = node.range ?? [0, 0];
  const raw = source.slice(start, end);
  switch (node.type) {
    case Scalar.QUOTE_DOUBLE:
      return start + walk(raw, 1, valueOffset, doubleQuotedStep);
    case Scalar.QUOTE_SINGLE:
      return start + walk(raw, 1, valueOffset, (text, at) => (text.startsWith("''", at) ? 2 : 1));
    case Scalar.BLOCK_LITERAL:
      return start + literalBlockOffset(raw, valueOffset);
    case Scalar.BLOCK_FOLDED:
      return start;
    default:
      return start + walk(raw, 0, valueOffset, () => 1);
  }
}

/**
 * Steps through `raw` from `from`, one value character per step, skipping line folds (a line break and the
 * indentation after it count as one character), until `valueOffset` characters are consumed.
 */
function walk(
  raw: string,
  from: number,
  valueOffset: number,
  step: (raw: string, at: number) => number,
): number {
  let at = from;
  for (let consumed = 0; consumed < valueOffset && at < raw.length; consumed++) {
    if (raw[at] === '\n' || raw[at] === '\r') {
      at = skipFold(raw, at);
      continue;
    }
    at += step(raw, at);
  }
  return Math.min(at, raw.length);
}

function skipFold(raw: string, at: number): number {
  let next = at;
  while (next < raw.length && /\s/.test(raw[next]!)) next++;
  return next;
}

function doubleQuotedStep(raw: string, at: number): number {
  if (raw[at] !== '\\') return 1;
  const kind = raw[at + 1] ?? '';
  if (kind === '\n' || kind === '\r') return skipFold(raw, at + 1) - at;
  return DOUBLE_QUOTED_ESCAPE_LENGTH[kind] ?? 2;
}

function literalBlockOffset(raw: string, valueOffset: number): number {
  const lines = raw.split('\n');
  const content = lines.slice(1);
  const indent = Math.min(
    ...content.filter((line) => line.trim() !== '').map((line) => /^ */.exec(line)![0].length),
  );
  let remaining = valueOffset;
  let lineStart = lines[0]!.length + 1;
  for (const line of content) {
    const text = line.slice(Number.isFinite(indent) ? indent : 0);
    if (remaining <= text.length) return lineStart + (line.length - text.length) + remaining;
    remaining -= text.length + 1;
    lineStart += line.length + 1;
  }
  return 0;
}
