import type { ASTNode } from '@marcbachmann/cel-js';
import { Environment, ParseError } from '@marcbachmann/cel-js';
import { messageOf } from '../errors.js';
import type { EvaluateFunction } from './code-generator.js';
import { generateCode, RECORD_VARIABLE_NAMES } from './code-generator.js';
import { EvalFailure } from './eval-failure.js';
import { ExpressionError } from './expression-error.js';
import type { ExpressionOptions } from './expression-options.js';

// Internal: the steps `compileExpression` and `compilePredicate` share.

/** Parser bounds: expressions in configs are small; these keep a hostile one from costing much. */
const PARSER = new Environment({
  limits: { maxAstNodes: 10_000, maxDepth: 100, maxListElements: 1_000, maxMapEntries: 1_000 },
});
/** Longest expression text accepted. */
const MAX_TEXT_LENGTH = 100_000;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED = new Set([
  ...RECORD_VARIABLE_NAMES,
  'true',
  'false',
  'null',
  'in',
  'as',
  'break',
  'const',
  'continue',
  'else',
  'for',
  'function',
  'if',
  'import',
  'let',
  'loop',
  'package',
  'namespace',
  'return',
  'var',
  'void',
  'while',
]);

function invalid(text: string, offset: number, message: string, cause?: unknown): ExpressionError {
  return new ExpressionError(
    'EXPRESSION_INVALID',
    `invalid expression ${JSON.stringify(text)} at offset ${offset}: ${message}`,
    text,
    offset,
    cause,
  );
}

/** Library token names, as a reader of the expression knows them. */
const TOKEN_WORDS: Readonly<Record<string, string>> = {
  EOF: 'the end of the expression',
  RPAREN: "')'",
  LPAREN: "'('",
  RBRACKET: "']'",
  LBRACKET: "'['",
  RBRACE: "'}'",
  LBRACE: "'{'",
  COLON: "':'",
  COMMA: "','",
  DOT: "'.'",
  IDENTIFIER: 'a name',
  NUMBER: 'a number',
  STRING: 'a string',
  BYTES: 'a bytes literal',
  BOOLEAN: 'true or false',
  NULL: 'null',
  PLUS: "'+'",
  MINUS: "'-'",
  MULTIPLY: "'*'",
  DIVIDE: "'/'",
  MODULO: "'%'",
  EQ: "'=='",
  NE: "'!='",
  LT: "'<'",
  LE: "'<='",
  GT: "'>'",
  GE: "'>='",
  AND: "'&&'",
  OR: "'||'",
  NOT: "'!'",
  IN: "'in'",
  QUESTION: "'?'",
};

function parseMessage(summary: string): string {
  const expected = /^Expected (\w+), got (\w+)$/.exec(summary);
  if (expected !== null) {
    const [, want = '', got = ''] = expected;
    return `expected ${TOKEN_WORDS[want] ?? want}, got ${TOKEN_WORDS[got] ?? got}`;
  }
  if (summary === 'Unexpected token: EOF') return 'the expression ends too early: expected an operand';
  const unexpected = /^Unexpected token: (\w+)$/.exec(summary);
  if (unexpected !== null)
    return `expected an operand, got ${TOKEN_WORDS[unexpected[1] ?? ''] ?? unexpected[1]}`;
  const trailing = /^Unexpected character: '(.*)'$/.exec(summary);
  if (trailing !== null) return `expected an operator or the end of the expression, got '${trailing[1]}'`;
  return summary.charAt(0).toLowerCase() + summary.slice(1);
}

function parse(text: string): ASTNode {
  if (typeof text !== 'string')
    throw invalid(String(text), 0, `expected the expression as a string, got ${typeof text}`);
  if (text.length > MAX_TEXT_LENGTH)
    throw invalid(text.slice(0, 40), MAX_TEXT_LENGTH, `longer than ${MAX_TEXT_LENGTH} characters`);
  if (text.trim() === '') throw invalid(text, 0, 'expected an expression, got nothing');
  try {
    return PARSER.parse(text).ast;
  } catch (error) {
    if (error instanceof ParseError) {
      const offset = error.node?.pos ?? error.range?.start ?? 0;
      throw invalid(text, Math.min(Math.max(offset, 0), text.length), parseMessage(error.summary), error);
    }
    throw invalid(text, 0, messageOf(error), error);
  }
}

function extraNames(text: string, options: ExpressionOptions | undefined): ReadonlySet<string> {
  const names = new Set<string>();
  for (const name of options?.variables ?? []) {
    if (!IDENTIFIER.test(name) || RESERVED.has(name)) {
      throw invalid(
        text,
        0,
        `extra variable ${JSON.stringify(name)} must be a name (letters, digits, _) other than ${[...RESERVED].slice(0, 6).join(', ')} and CEL reserved words`,
      );
    }
    names.add(name);
  }
  return names;
}

/** Parses, checks and generates `text` once; returns the raw function (which throws `EvalFailure` and others). */
export function compileFunction(text: string, options: ExpressionOptions | undefined): EvaluateFunction {
  const extras = extraNames(text, options);
  const code = generateCode(text, parse(text), extras);
  // The generated source holds only fixed tokens and generated names; every user-written value is a parameter.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function(...code.names, code.source) as (...values: unknown[]) => EvaluateFunction;
  return factory(...code.values);
}

/** The `EXPRESSION_EVAL` error for a failure while evaluating `text`. */
export function evaluationError(text: string, error: unknown): ExpressionError {
  if (error instanceof ExpressionError) return error;
  const reason = error instanceof EvalFailure ? error.message : `unexpected error: ${messageOf(error)}`;
  return new ExpressionError(
    'EXPRESSION_EVAL',
    `expression ${JSON.stringify(text)} failed: ${reason}`,
    text,
    null,
    error,
  );
}
