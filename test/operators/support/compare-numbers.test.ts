import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compareNumbers, type Numeric } from '../../../operators/support/compare-numbers.js';
import { fieldCheckOf } from '../../../operators/support/field-check.js';
import { Decimal } from '../../../runtime/decimal.js';

/** The exact value of a number as a fraction `units / 10^scale`, by its digits (integers exactly, fractions by their shortest text). */
function digits(value: Numeric): { units: bigint; scale: number } {
  if (typeof value === 'bigint') return { units: value, scale: 0 };
  if (typeof value === 'number' && Number.isInteger(value)) return { units: BigInt(value), scale: 0 };
  const text = typeof value === 'number' ? String(value) : value.text;
  const [, mantissa = '', exponent = '0'] = /^([^eE]+)(?:[eE]([+-]?\d+))?$/.exec(text) ?? [];
  const [whole = '', fraction = ''] = mantissa.split('.');
  let units = BigInt(whole + fraction);
  let scale = fraction.length - Number(exponent);
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { units: mantissa.startsWith('-') && units === 0n ? 0n : units, scale };
}

function reference(a: Numeric, b: Numeric): number {
  const x = digits(a);
  const y = digits(b);
  const scale = Math.max(x.scale, y.scale);
  const left = x.units * 10n ** BigInt(scale - x.scale);
  const right = y.units * 10n ** BigInt(scale - y.scale);
  return left < right ? -1 : left > right ? 1 : 0;
}

const decimal = fc
  .tuple(
    fc.boolean(),
    fc.oneof(fc.constant('0'), fc.stringMatching(/^[1-9]\d{0,11}$/)),
    fc.oneof(fc.constant(''), fc.stringMatching(/^\d{1,9}$/)),
    fc.oneof(
      { weight: 5, arbitrary: fc.constant('') },
      fc.integer({ min: -20, max: 20 }).map((e) => `e${e}`),
    ),
  )
  .map(
    ([negative, whole, fraction, exponent]) =>
      new Decimal(`${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}${exponent}`),
  );

const number = fc.oneof(
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.constantFrom(0, -0, 100, 10_000, 1e15, 2 ** 53, 2 ** 64, 0.1, 26.3, -1.5, 1e-7),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
);

void describe('compareNumbers', () => {
  void test('a Decimal against a number or another Decimal orders by the exact digits', () => {
    fc.assert(
      fc.property(decimal, fc.oneof(number, decimal), (a, b) => {
        assert.equal(compareNumbers(a, b), reference(a, b), `${a.text} vs ${String(b)}`);
        assert.equal(compareNumbers(b, a), reference(b, a), `${String(b)} vs ${a.text}`);
      }),
      { numRuns: 3000 },
    );
  });

  void test('neighbours a double cannot tell apart still differ', () => {
    assert.equal(compareNumbers(new Decimal('0.1000000000000001'), 0.1), 1);
    assert.equal(compareNumbers(new Decimal('0.10000000000000001'), 0.1), 1);
    assert.equal(compareNumbers(new Decimal('26.299999999999999'), 26.3), -1);
    assert.equal(compareNumbers(new Decimal('9007199254740993'), 2 ** 53), 1);
    assert.equal(compareNumbers(new Decimal('-0.0'), 0), 0);
    assert.equal(compareNumbers(new Decimal('10000.00'), 10_000), 0);
    assert.equal(compareNumbers(new Decimal('10000.01'), 10_000), 1);
  });
});

void describe('a range rule', () => {
  void test('passes exactly the values between its bounds, whatever their kind', () => {
    const bound = fc.oneof(
      fc.integer({ min: -1000, max: 1000 }),
      fc.constantFrom(0.1, 26.3, 1e15, 2 ** 53),
      decimal.map((d) => d.text),
    );
    fc.assert(
      fc.property(fc.oneof(decimal, number), bound, bound, fc.boolean(), (value, min, max, inclusive) => {
        const check = fieldCheckOf({
          name: 'r',
          field: 'x',
          range: { min, max, min_inclusive: inclusive, max_inclusive: inclusive },
        })!;
        const asNumeric = (b: number | string) => (typeof b === 'number' ? b : new Decimal(b));
        const low = reference(value, asNumeric(min));
        const high = reference(value, asNumeric(max));
        const passes = (inclusive ? low >= 0 : low > 0) && (inclusive ? high <= 0 : high < 0);
        assert.equal(check(value) === null, passes, `${String(value)} in [${min}, ${max}]`);
      }),
      { numRuns: 3000 },
    );
  });
});
