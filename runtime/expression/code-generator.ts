import type { ASTNode } from '@marcbachmann/cel-js';
import { closest, distance } from 'fastest-levenshtein';
import type { Value } from '../record.js';
import type { Builtin } from './builtins.js';
import { BUILTINS, matchesCompiled } from './builtins.js';
import { ExpressionError } from './expression-error.js';
import {
  add,
  all,
  divide,
  eq,
  exists,
  existsOne,
  extraVariable,
  filterItems,
  ge,
  gt,
  has,
  index,
  isIn,
  le,
  lt,
  makeMap,
  mapItems,
  member,
  modulo,
  multiply,
  ne,
  negate,
  ownMember,
  subtract,
  truthOfAnd,
  truthOfCondition,
  truthOfNot,
  truthOfOr,
} from './operators.js';
import { compilePattern } from './regex.js';

/**
 * Internal: turns a parsed CEL syntax tree into the source of a JavaScript function `evaluate(r, x)` (`r` the
 * record, `x` the extra variables). The source holds no text of the user's: names, strings, patterns and every
 * helper reach it as the closure parameters `c0`, `c1`, ...; locals are `t0`, `t1`, ... (temporaries) and `v0`,
 * `v1`, ... (comprehension variables). Member access goes through helpers that read only a plain object's own
 * data, so no expression reaches a prototype, a global or a function.
 */
export interface GeneratedCode {
  /** The body of the factory: `"use strict"; return function evaluate(r, x) {...}`. */
  readonly source: string;
  /** The factory's parameter names (`c0`, `c1`, ...). */
  readonly names: readonly string[];
  /** The values bound to those names. */
  readonly values: readonly unknown[];
}

/** The record's variables and the code that reads each. */
const RECORD_VARIABLES: ReadonlyMap<string, string> = new Map([
  ['op', 'r.op'],
  ['key', 'r.key'],
  ['before', 'r.before'],
  ['after', 'r.after'],
  ['source', 'r.source'],
  ['headers', 'r.headers'],
]);

/** The record's variable names, which extra variables may not reuse. */
export const RECORD_VARIABLE_NAMES: readonly string[] = [...RECORD_VARIABLES.keys()];

const BUILTIN_BY_NAME: ReadonlyMap<string, Builtin> = new Map(BUILTINS.map((b) => [b.name, b]));

const MACROS: ReadonlyMap<string, { readonly helper: unknown; readonly arities: readonly number[] }> =
  new Map([
    ['all', { helper: all, arities: [2] }],
    ['exists', { helper: exists, arities: [2] }],
    ['exists_one', { helper: existsOne, arities: [2] }],
    ['map', { helper: mapItems, arities: [2, 3] }],
    ['filter', { helper: filterItems, arities: [2] }],
  ]);

const COMPARISONS = new Map<
  string,
  { readonly helper: unknown; readonly js: string; readonly mirrored: string }
>([
  ['<', { helper: lt, js: '<', mirrored: '>' }],
  ['<=', { helper: le, js: '<=', mirrored: '>=' }],
  ['>', { helper: gt, js: '>', mirrored: '<' }],
  ['>=', { helper: ge, js: '>=', mirrored: '<=' }],
]);

const ARITHMETIC = new Map<string, unknown>([
  ['+', add],
  ['-', subtract],
  ['*', multiply],
  ['/', divide],
  ['%', modulo],
]);

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Operators that give only true or false (never null), whose result `&&`, `||`, `!` and `? :` can use as is. */
const ALWAYS_BOOLEAN: ReadonlySet<string> = new Set([
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'in',
  '&&',
  '||',
  '!_',
]);
/** Global calls that give only true or false. */
const ALWAYS_BOOLEAN_CALLS: ReadonlySet<string> = new Set(['has', 'is_null']);

/** A literal's value as a number when it is one exactly (CEL writes integers as bigints, unsigned as `1u`). */
function literalNumber(value: unknown): number | bigint | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value;
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && 'value' in value) {
    const unsigned = value.value;
    if (typeof unsigned === 'bigint') return literalNumber(unsigned);
  }
  return null;
}

/**
 * The same string, internalized (as a property key is), so that `===` against other internalized strings (literals,
 * JSON keys and short values) is a pointer comparison. The parser builds literals by slicing the source.
 */
function internalize(value: string): string {
  return Object.keys({ [value]: 0 })[0] ?? value;
}

/** Suggests the nearest of `candidates` to a mistyped name. */
function didYouMean(name: string, candidates: readonly string[]): string {
  if (candidates.length === 0) return '';
  const best = closest(name, [...candidates]);
  return distance(name, best) <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean '${best}'?)` : '';
}

class CodeGenerator {
  private readonly values: unknown[] = [];
  private readonly names = new Map<unknown, string>();
  private temps = 0;
  private loops = 0;
  private readonly scopes: Map<string, string>[] = [];

  constructor(
    private readonly text: string,
    private readonly extras: ReadonlySet<string>,
  ) {}

  generate(ast: ASTNode): GeneratedCode {
    const body = this.expr(ast);
    const temps = Array.from({ length: this.temps }, (_, i) => `t${i}`);
    const declarations = temps.length === 0 ? '' : `let ${temps.join(', ')}; `;
    return {
      source: `"use strict"; return function evaluate(r, x) { ${declarations}return ${body}; };`,
      names: this.values.map((_, i) => `c${i}`),
      values: this.values,
    };
  }

  private constant(value: unknown): string {
    let name = this.names.get(value);
    if (name === undefined) {
      name = `c${this.values.length}`;
      this.values.push(value);
      this.names.set(value, name);
    }
    return name;
  }

  private call(helper: unknown, args: readonly string[]): string {
    return `${this.constant(helper)}(${args.join(', ')})`;
  }

  private temp(): string {
    return `t${this.temps++}`;
  }

  private invalid(offset: number, message: string): never {
    throw new ExpressionError(
      'EXPRESSION_INVALID',
      `invalid expression ${JSON.stringify(this.text)} at offset ${offset}: ${message}`,
      this.text,
      offset,
    );
  }

  private expr(node: ASTNode): string {
    switch (node.op) {
      case 'value':
        return this.literal(node.args, node.start);
      case 'id':
        return this.identifier(node.args, node.start);
      case '.':
        return this.member(node.args[0], node.args[1]);
      case '[]':
        return this.call(
          index,
          node.args.map((a) => this.expr(a)),
        );
      case 'list':
        return `[${node.args.map((a) => this.expr(a)).join(', ')}]`;
      case 'map':
        return this.call(makeMap, [
          `[${node.args.flatMap(([k, v]) => [this.expr(k), this.expr(v)]).join(', ')}]`,
        ]);
      case '?:': {
        const [condition, then, otherwise] = node.args;
        return `(${this.truth(truthOfCondition, condition)} ? ${this.expr(then)} : ${this.expr(otherwise)})`;
      }
      case '&&':
        return `(${this.truth(truthOfAnd, node.args[0])} && ${this.truth(truthOfAnd, node.args[1])})`;
      case '||':
        return `(${this.truth(truthOfOr, node.args[0])} || ${this.truth(truthOfOr, node.args[1])})`;
      case '!_':
        return `(!${this.truth(truthOfNot, node.args)})`;
      case '-_': {
        const n = node.args.op === 'value' ? literalNumber(node.args.args) : null;
        return n === null ? this.call(negate, [this.expr(node.args)]) : this.literal(-n, node.start);
      }
      case '==':
      case '!=':
        return this.equality(node.op, node.args[0], node.args[1]);
      case '<':
      case '<=':
      case '>':
      case '>=':
        return this.comparison(node.op, node.args[0], node.args[1]);
      case 'in':
        return this.membership(node.args[0], node.args[1]);
      case '+':
      case '-':
      case '*':
      case '/':
      case '%':
        return this.call(ARITHMETIC.get(node.op), [this.expr(node.args[0]), this.expr(node.args[1])]);
      case 'call':
        return this.functionCall(node.args[0], null, node.args[1], node.start);
      case 'rcall': {
        const [name, receiver, args] = node.args;
        const at = this.text.indexOf(name, receiver.end);
        return this.functionCall(name, receiver, args, at < 0 ? node.start : at);
      }
      default:
        return this.invalid(
          node.start,
          `optional access (${node.op}) is not supported; use has() or coalesce()`,
        );
    }
  }

  /**
   * `object.name`. A plain object's field is read inline (`t.name`, the name checked to be an identifier, and not a
   * property of `Object.prototype`, so the read finds own data or nothing); anything else goes to the helpers.
   */
  private member(object: ASTNode, name: string): string {
    const code = this.expr(object);
    if (name in Object.prototype || !IDENTIFIER.test(name))
      return this.call(ownMember, [code, this.constant(name)]);
    const t = this.temp();
    const plain = `typeof (${t} = ${code}) === 'object' && ${t} !== null && ${t}.constructor === ${this.constant(Object)}`;
    return `(${plain} ? ${t}.${name} ?? null : ${this.call(member, [t, this.constant(name)])})`;
  }

  /** A node as a JavaScript boolean for `&&`, `||`, `!` and `? :`: read directly when it can only be true or false. */
  private truth(helper: (value: Value) => boolean, node: ASTNode): string {
    return ALWAYS_BOOLEAN.has(node.op) || (node.op === 'call' && ALWAYS_BOOLEAN_CALLS.has(node.args[0]))
      ? this.expr(node)
      : this.call(helper, [this.expr(node)]);
  }

  private literal(value: unknown, at: number): string {
    if (value === null) return 'null';
    if (typeof value === 'boolean') return value ? 'true' : 'false';
    if (typeof value === 'string') return this.constant(internalize(value));
    if (value instanceof Uint8Array) return `${this.constant(value)}.slice()`;
    const n = literalNumber(value);
    if (typeof n === 'number' && Number.isFinite(n)) return `(${String(n)})`;
    if (n !== null) return this.constant(n);
    return this.invalid(at, `unsupported literal of type ${typeof value}`);
  }

  private identifier(name: string, at: number): string {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const local = this.scopes[i]?.get(name);
      if (local !== undefined) return local;
    }
    const recordCode = RECORD_VARIABLES.get(name);
    if (recordCode !== undefined) return recordCode;
    if (this.extras.has(name)) return this.call(extraVariable, ['x', this.constant(name)]);
    const known = [...RECORD_VARIABLES.keys(), ...this.extras, ...this.scopes.flatMap((s) => [...s.keys()])];
    return this.invalid(
      at,
      `unknown variable '${name}'${didYouMean(name, known)}; expected one of ${known.join(', ')}`,
    );
  }

  /** A literal whose `==` is JavaScript's `===` against any value: a string, a boolean or null. */
  private strictLiteral(node: ASTNode): string | null {
    if (node.op !== 'value') return null;
    const value = node.args;
    if (value === null || typeof value === 'boolean' || typeof value === 'string')
      return this.literal(value, node.start);
    return null;
  }

  private numberLiteral(node: ASTNode): string | null {
    if (node.op === 'value') {
      const n = literalNumber(node.args);
      return typeof n === 'number' && Number.isFinite(n) ? `(${String(n)})` : null;
    }
    if (node.op === '-_' && node.args.op === 'value') {
      const n = literalNumber(node.args.args);
      return typeof n === 'number' && Number.isFinite(n) ? `(${String(-n)})` : null;
    }
    return null;
  }

  private equality(op: '==' | '!=', left: ASTNode, right: ASTNode): string {
    const strict = this.strictLiteral(right) ?? this.strictLiteral(left);
    if (strict !== null) {
      const other = this.strictLiteral(right) === null ? right : left;
      return `(${this.expr(other)} ${op === '==' ? '===' : '!=='} ${strict})`;
    }
    const number = this.numberLiteral(right) ?? this.numberLiteral(left);
    if (number !== null) {
      const other = this.numberLiteral(right) === null ? right : left;
      const t = this.temp();
      const test = `((${t} = ${this.expr(other)}) === ${number} || typeof ${t} !== 'number' && ${this.call(eq, [t, number])})`;
      return op === '==' ? test : `(!${test})`;
    }
    return this.call(op === '==' ? eq : ne, [this.expr(left), this.expr(right)]);
  }

  private comparison(op: string, left: ASTNode, right: ASTNode): string {
    const spec = COMPARISONS.get(op);
    if (spec === undefined) return this.invalid(left.start, `unknown operator ${op}`);
    const rightNumber = this.numberLiteral(right);
    if (rightNumber !== null) {
      const t = this.temp();
      return `(typeof (${t} = ${this.expr(left)}) === 'number' ? ${t} ${spec.js} ${rightNumber} : ${this.call(spec.helper, [t, rightNumber])})`;
    }
    const leftNumber = this.numberLiteral(left);
    if (leftNumber !== null) {
      const t = this.temp();
      return `(typeof (${t} = ${this.expr(right)}) === 'number' ? ${t} ${spec.mirrored} ${leftNumber} : ${this.call(spec.helper, [leftNumber, t])})`;
    }
    return this.call(spec.helper, [this.expr(left), this.expr(right)]);
  }

  private membership(item: ASTNode, collection: ASTNode): string {
    if (collection.op === 'list' && collection.args.length > 0) {
      const literals = collection.args.map((a) => (a.op === 'value' ? a.args : undefined));
      if (literals.every((v) => typeof v === 'string' || typeof v === 'boolean' || v === null)) {
        return `${this.constant(new Set(literals))}.has(${this.expr(item)})`;
      }
    }
    return this.call(isIn, [this.expr(item), this.expr(collection)]);
  }

  private functionCall(name: string, receiver: ASTNode | null, args: readonly ASTNode[], at: number): string {
    if (name === 'has' && receiver === null) return this.hasMacro(args, at);
    const macro = receiver === null ? undefined : MACROS.get(name);
    if (macro !== undefined && receiver !== null) return this.comprehension(name, macro, receiver, args, at);
    const builtin = BUILTIN_BY_NAME.get(name);
    if (builtin === undefined) {
      const names = [...BUILTIN_BY_NAME.keys(), 'has', ...MACROS.keys()];
      return this.invalid(at, `unknown function '${name}'${didYouMean(name, names)}`);
    }
    const operands = receiver === null ? args : [receiver, ...args];
    if (operands.length < builtin.minArgs || operands.length > builtin.maxArgs) {
      const expected =
        builtin.minArgs === builtin.maxArgs
          ? `${builtin.minArgs}`
          : builtin.maxArgs >= 32
            ? `at least ${builtin.minArgs}`
            : `${builtin.minArgs} to ${builtin.maxArgs}`;
      const counting = receiver === null ? '' : ' (counting the value before the dot)';
      return this.invalid(
        at,
        `${name}() takes ${expected} argument${expected === '1' ? '' : 's'}${counting}, got ${operands.length}: ${builtin.signature}`,
      );
    }
    if (name === 'coalesce' || name === 'default') return this.firstNonNull(operands);
    if (name === 'matches') {
      const pattern = operands[1];
      if (pattern !== undefined && pattern.op === 'value' && typeof pattern.args === 'string') {
        return this.call(matchesCompiled, [
          this.expr(operands[0] ?? pattern),
          this.constant(this.regex(pattern.args, pattern.start)),
        ]);
      }
    }
    return this.call(
      builtin.call,
      operands.map((a) => this.expr(a)),
    );
  }

  private regex(pattern: string, at: number): RegExp {
    try {
      return compilePattern(pattern);
    } catch (error) {
      return this.invalid(
        at,
        `invalid regular expression ${JSON.stringify(pattern)}: ${(error as Error).message}`,
      );
    }
  }

  private firstNonNull(operands: readonly ASTNode[]): string {
    const t = this.temp();
    const codes = operands.map((a) => this.expr(a));
    const last = codes.pop() ?? 'null';
    return `(${codes.map((code) => `(${t} = ${code}) !== null ? ${t} : `).join('')}${last})`;
  }

  private hasMacro(args: readonly ASTNode[], at: number): string {
    const field = args[0];
    if (args.length !== 1 || field === undefined || field.op !== '.') {
      return this.invalid(at, 'has() takes one field selection, such as has(after.email)');
    }
    return this.call(has, [this.expr(field.args[0]), this.constant(field.args[1])]);
  }

  private comprehension(
    name: string,
    macro: { readonly helper: unknown; readonly arities: readonly number[] },
    receiver: ASTNode,
    args: readonly ASTNode[],
    at: number,
  ): string {
    const variable = args[0];
    if (!macro.arities.includes(args.length) || variable === undefined || variable.op !== 'id') {
      const shape = name === 'map' ? 'map(x, f) or map(x, p, f)' : `${name}(x, p)`;
      return this.invalid(at, `${name}() takes a variable name and an expression: list.${shape}`);
    }
    const collection = this.expr(receiver);
    const local = `v${this.loops++}`;
    this.scopes.push(new Map([[variable.args, local]]));
    const bodies = args.slice(1).map((a) => `(${local}) => ${this.expr(a)}`);
    this.scopes.pop();
    const ordered = name === 'map' && bodies.length === 2 ? [bodies[1] ?? '', bodies[0] ?? ''] : bodies;
    return this.call(macro.helper, [collection, ...ordered]);
  }
}

/** Generates the code of a parsed expression; throws `ExpressionError` (`EXPRESSION_INVALID`) on what it rejects. */
export function generateCode(text: string, ast: ASTNode, extras: ReadonlySet<string>): GeneratedCode {
  return new CodeGenerator(text, extras).generate(ast);
}

/** The function a generated code's factory returns. */
export type EvaluateFunction = (record: unknown, extra: Record<string, Value> | undefined) => Value;
