import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Decimal } from '../../../runtime/decimal.js';
import type { Exact, RoundingMode } from '../../../runtime/expression/exact-decimal.js';
import {
  compareExact,
  exactOf,
  exactOfText,
  exactToValue,
  multiplyExact,
  roundExact,
} from '../../../runtime/expression/exact-decimal.js';
import { compileExpression } from '../../../runtime/expression/index.js';
import type { Value } from '../../../runtime/record.js';
import { orderChange } from './record-fixture.js';

/** Decimal texts as sources send them: short ones (the fast paths) and long ones, some with exponents. */
const decimalText = fc
  .tuple(
    fc.boolean(),
    fc.oneof(fc.constant('0'), fc.stringMatching(/^[1-9]\d{0,11}$/)),
    fc.oneof(fc.constant(''), fc.stringMatching(/^\d{1,9}$/)),
    fc.oneof(
      { weight: 5, arbitrary: fc.constant('') },
      fc.integer({ min: -20, max: 20 }).map((e) => `e${e}`),
    ),
  )
  .map(([negative, whole, fraction, exponent]) => {
    const text = `${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}${exponent}`;
    return new Decimal(text);
  });

/** Plain numbers an expression meets: integers of every size, short and long fractions. */
const number = fc.oneof(
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.constantFrom(0, -0, 100, 1e15, -1e15 + 1, 2 ** 53 - 1, 2 ** 53, 1e21, 0.1, 26.3, -1.5, 1e-7),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
  fc.maxSafeInteger(),
);

const row = (fields: Record<string, Value>) => orderChange(fields);

function exact(value: number | Decimal): Exact {
  const result = exactOf(value);
  assert.ok(result !== null, `no exact value for ${String(value)}`);
  return result;
}

void describe('exact decimal arithmetic in expressions', () => {
  void test('Decimal * number gives the exact product, as a number only when one holds it', () => {
    const times = compileExpression('after.a * after.b');
    const timesMirrored = compileExpression('after.b * after.a');
    fc.assert(
      fc.property(decimalText, number, (a, b) => {
        const expected = exactToValue(multiplyExact(exact(a), exact(b)));
        assert.deepEqual(times.evaluate(row({ a, b })), expected, `${a.text} * ${b}`);
        assert.deepEqual(timesMirrored.evaluate(row({ a, b })), expected, `${b} * ${a.text}`);
      }),
      { numRuns: 2000 },
    );
  });

  void test('int, floor and ceil of a Decimal round its exact digits', () => {
    const modes: [string, RoundingMode][] = [
      ['int', 'truncate'],
      ['floor', 'floor'],
      ['ceil', 'ceil'],
    ];
    const compiled = modes.map(([fn, mode]) => [compileExpression(`${fn}(after.a)`), mode] as const);
    fc.assert(
      fc.property(decimalText, (a) => {
        for (const [expression, mode] of compiled) {
          const expected = exactToValue(roundExact(exact(a), 0, mode));
          assert.deepEqual(expression.evaluate(row({ a })), expected, `${mode} ${a.text}`);
        }
      }),
      { numRuns: 2000 },
    );
  });

  void test('comparisons between a Decimal and a number follow the exact digits', () => {
    const less = compileExpression('after.a < after.b');
    const equal = compileExpression('after.a == after.b');
    const greater = compileExpression('after.b < after.a');
    fc.assert(
      fc.property(decimalText, number, (a, b) => {
        const order = compareExact(exact(a), exact(b));
        const fields = row({ a, b });
        assert.equal(less.evaluate(fields), order < 0, `${a.text} < ${b}`);
        assert.equal(equal.evaluate(fields), order === 0, `${a.text} == ${b}`);
        assert.equal(greater.evaluate(fields), order > 0, `${b} < ${a.text}`);
      }),
      { numRuns: 2000 },
    );
  });

  void test('neighbours that a double cannot tell apart still compare by their digits', () => {
    const less = compileExpression('after.a < after.b');
    const cases: [string, number, boolean][] = [
      ['0.1000000000000001', 0.1, false],
      ['0.09999999999999999', 0.1, true],
      ['9007199254740993', 9007199254740992, false],
      ['26.299999999999999', 26.3, true],
      ['-0.0', 0, false],
    ];
    for (const [text, b, expected] of cases)
      assert.equal(less.evaluate(row({ a: new Decimal(text), b })), expected, `${text} < ${b}`);
    assert.equal(exactOfText('-0.0')?.units, 0n);
  });
});
