import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parse } from '@marcbachmann/cel-js';
import { Decimal } from '../../../runtime/decimal.js';
import type { Value } from '../../../runtime/record.js';
import { generateCode } from '../../../runtime/expression/code-generator.js';
import { compileExpression, ExpressionError } from '../../../runtime/expression/index.js';
import { orderChange } from './record-fixture.js';

const record = orderChange({
  status: 'paid',
  amount: 150,
  price: new Decimal('26.30'),
  tags: ['a', 'b'],
  meta: { k: 'v' },
  created: new Date(0),
  raw: new Uint8Array([1]),
  note: null,
});

void describe('the compiler never crashes', () => {
  void test('random text compiles or throws EXPRESSION_INVALID with an offset inside the text, quickly', () => {
    const celish = fc.string({
      unit: fc.constantFrom(
        ...'after.status==&&||!?:()[]{},"\'1234567890 abcxyz+-*/%<>=in_\\'.split(''),
        'has(',
        'size(',
        '.map(',
        '"',
      ),
      maxLength: 60,
    });
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), celish), (text) => {
        const started = performance.now();
        try {
          const compiled = compileExpression(text);
          try {
            compiled.evaluate(record);
          } catch (error) {
            assert.ok(error instanceof ExpressionError && error.code === 'EXPRESSION_EVAL', String(error));
          }
        } catch (error) {
          assert.ok(error instanceof ExpressionError, String(error));
          if (error.code === 'EXPRESSION_INVALID') {
            assert.ok(
              error.offset !== null && error.offset >= 0 && error.offset <= text.length,
              `${error.offset} in ${text}`,
            );
          }
        }
        assert.ok(performance.now() - started < 250, `slow on ${JSON.stringify(text)}`);
      }),
      { numRuns: 3000 },
    );
  });
});

/** A small expression tree, rendered to CEL text and interpreted independently of the compiler. */
type Node =
  | { readonly kind: 'lit'; readonly value: number | string | boolean | null }
  | { readonly kind: 'unary'; readonly op: '-' | '!'; readonly arg: Node }
  | { readonly kind: 'binary'; readonly op: string; readonly left: Node; readonly right: Node }
  | { readonly kind: 'cond'; readonly test: Node; readonly then: Node; readonly otherwise: Node }
  | { readonly kind: 'call'; readonly fn: string; readonly args: readonly Node[] };

const BINARY = ['+', '-', '*', '/', '%', '==', '!=', '<', '<=', '>', '>=', '&&', '||'];
const FUNCTIONS: Record<string, number> = {
  size: 1,
  lower: 1,
  upper: 1,
  abs: 1,
  coalesce: 2,
  is_null: 1,
  string: 1,
};

const { node: arbitraryNode } = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(
      fc.integer({ min: 0, max: 50 }).map((value): Node => ({ kind: 'lit', value })),
      fc.constantFrom(0.5, 1.25, 2.75).map((value): Node => ({ kind: 'lit', value })),
      fc.constantFrom('', 'a', 'Bc', 'é', '😀x').map((value): Node => ({ kind: 'lit', value })),
      fc.constantFrom(true, false, null).map((value): Node => ({ kind: 'lit', value })),
    ),
    fc.record({
      kind: fc.constant('unary' as const),
      op: fc.constantFrom('-' as const, '!' as const),
      arg: tie('node'),
    }),
    fc.record({
      kind: fc.constant('binary' as const),
      op: fc.constantFrom(...BINARY),
      left: tie('node'),
      right: tie('node'),
    }),
    fc.record({
      kind: fc.constant('cond' as const),
      test: tie('node'),
      then: tie('node'),
      otherwise: tie('node'),
    }),
    fc
      .constantFrom(...Object.keys(FUNCTIONS))
      .chain((fn) =>
        fc
          .array(tie('node'), { minLength: FUNCTIONS[fn], maxLength: FUNCTIONS[fn] })
          .map((args): Node => ({ kind: 'call', fn, args })),
      ),
  ),
}));

function render(node: Node): string {
  switch (node.kind) {
    case 'lit':
      if (typeof node.value === 'number')
        return Number.isInteger(node.value) ? String(node.value) : node.value.toFixed(2);
      return node.value === null ? 'null' : JSON.stringify(node.value);
    case 'unary':
      return `${node.op}(${render(node.arg)})`;
    case 'binary':
      return `(${render(node.left)} ${node.op} ${render(node.right)})`;
    case 'cond':
      return `(${render(node.test)} ? ${render(node.then)} : ${render(node.otherwise)})`;
    case 'call':
      return `${node.fn}(${node.args.map(render).join(', ')})`;
  }
}

class RefError extends Error {}
type Ref = number | string | boolean | null;

const kind = (v: Ref): string => (v === null ? 'null' : typeof v);

function truth(v: Ref): boolean {
  if (v === null || v === false) return false;
  if (v === true) return true;
  throw new RefError('not a bool');
}

/** The reference: a direct interpreter of the rules the docs state. */
function interpret(node: Node): Ref {
  switch (node.kind) {
    case 'lit':
      return node.value;
    case 'unary': {
      const v = interpret(node.arg);
      if (node.op === '!') return !truth(v);
      if (v === null) return null;
      if (typeof v !== 'number') throw new RefError('negate');
      return -v;
    }
    case 'cond':
      return truth(interpret(node.test)) ? interpret(node.then) : interpret(node.otherwise);
    case 'call': {
      if (node.fn === 'coalesce') {
        const first = interpret(node.args[0]!);
        return first !== null ? first : interpret(node.args[1]!);
      }
      const v = interpret(node.args[0]!);
      if (node.fn === 'is_null') return v === null;
      if (node.fn === 'string') return v === null ? null : String(v);
      if (v === null) return null;
      if (node.fn === 'abs') {
        if (typeof v !== 'number') throw new RefError('abs');
        return Math.abs(v);
      }
      if (typeof v !== 'string') throw new RefError(node.fn);
      return node.fn === 'size' ? [...v].length : node.fn === 'lower' ? v.toLowerCase() : v.toUpperCase();
    }
    case 'binary': {
      if (node.op === '&&') return truth(interpret(node.left)) && truth(interpret(node.right));
      if (node.op === '||') return truth(interpret(node.left)) || truth(interpret(node.right));
      const a = interpret(node.left);
      const b = interpret(node.right);
      if (node.op === '==') return a === b;
      if (node.op === '!=') return a !== b;
      if (['<', '<=', '>', '>='].includes(node.op)) {
        if (a === null || b === null) return false;
        if (kind(a) !== kind(b)) throw new RefError('compare');
        const x = a as number;
        const y = b as number;
        return node.op === '<' ? x < y : node.op === '<=' ? x <= y : node.op === '>' ? x > y : x >= y;
      }
      if (a === null || b === null) return null;
      if (node.op === '+' && typeof a === 'string' && typeof b === 'string') return a + b;
      if (typeof a !== 'number' || typeof b !== 'number') throw new RefError('arithmetic');
      if ((node.op === '/' || node.op === '%') && b === 0) throw new RefError('by zero');
      switch (node.op) {
        case '+':
          return a + b;
        case '-':
          return a - b;
        case '*':
          return a * b;
        case '/':
          return a / b;
        default:
          return a % b;
      }
    }
  }
}

function outcome(run: () => Value): { value: Value } | { error: true } {
  try {
    const value = run();
    return { value: typeof value === 'number' && value === 0 ? 0 : value };
  } catch (error) {
    if (error instanceof RefError || (error instanceof ExpressionError && error.code === 'EXPRESSION_EVAL'))
      return { error: true };
    throw error;
  }
}

void describe('evaluation agrees with a reference interpreter', () => {
  void test('on generated arithmetic, comparison, logic, ternary and function expressions', () => {
    fc.assert(
      fc.property(arbitraryNode, (node) => {
        const text = render(node);
        const expected = outcome(() => interpret(node));
        const actual = outcome(() => compileExpression(text).evaluate(record));
        assert.deepEqual(actual, expected, text);
      }),
      { numRuns: 3000 },
    );
  });
});

void describe('security: expressions reach no prototype, global or function', () => {
  const hostile = [
    'constructor',
    '__proto__',
    'this',
    'globalThis',
    'process',
    'require("fs")',
    'import("fs")',
    'eval("1")',
    'Function("return process")()',
    'after.constructor',
    'after.constructor.constructor("return process")()',
    'after.__proto__',
    'after["__proto__"]',
    'after["constructor"]',
    'after.tags.constructor',
    'after.tags.map',
    'after.tags.length',
    'after.price.text',
    'after.price.toNumber',
    'after.created.getTime',
    'after.raw.buffer',
    'headers.toString',
    'headers.hasOwnProperty',
    'source.__defineGetter__',
    'after.toString()',
    'after.valueOf()',
    'after.tags.join.call(after.tags, "x")',
    '{"__proto__": {"polluted": true}}.polluted',
    'after.constructor.prototype',
    'r',
    'x',
    'c0',
    't0',
  ];

  for (const text of hostile) {
    void test(`${text} fails to compile or gives plain data`, () => {
      let value: Value | undefined;
      try {
        value = compileExpression(text).evaluate(record);
      } catch (error) {
        assert.ok(error instanceof ExpressionError, String(error));
        return;
      }
      assert.notEqual(typeof value, 'function');
      assert.ok(
        value === null || typeof value !== 'object' || Object.getPrototypeOf(value) === Object.prototype,
        text,
      );
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });
  }

  void test('member chains of dangerous names on every kind of value give null', () => {
    const names = [
      'constructor',
      '__proto__',
      'prototype',
      'toString',
      'valueOf',
      'hasOwnProperty',
      'call',
      'apply',
      'bind',
      'length',
      'map',
      'text',
      'buffer',
    ];
    const roots = [
      'after',
      'after.tags',
      'after.price',
      'after.created',
      'after.raw',
      'after.meta',
      'headers',
      'source',
      'key',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...roots),
        fc.array(fc.constantFrom(...names), { minLength: 1, maxLength: 4 }),
        (root, path) => {
          const text = `${root}.${path.join('.')}`;
          assert.equal(compileExpression(text).evaluate(record), null, text);
          assert.equal(compileExpression(`has(${text})`).evaluate(record), false, text);
        },
      ),
    );
  });

  void test('the generated code holds no text of the user but checked field names', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^zf[a-km-z]{3,8}$/), fc.string({ minLength: 3 }), (field, literal) => {
        const quoted = JSON.stringify(`zl${literal}`);
        const text = `after.${field} == ${quoted} || has(before.${field}) || ${quoted} in after.tags`;
        const code = generateCode(text, parse(text).ast, new Set());
        assert.ok(!code.source.includes('zl'), code.source);
        const identifiers = new Set(code.source.match(/[A-Za-z_$][\w$]*/g));
        const allowed =
          /^(use|strict|return|function|evaluate|let|typeof|object|number|null|true|false|constructor|has|slice|r|x|op|key|before|after|source|headers|[ctv]\d+)$/;
        for (const id of identifiers)
          assert.ok(allowed.test(id) || id === field || id === 'tags', `${id} in ${code.source}`);
      }),
      { numRuns: 200 },
    );
  });
});
