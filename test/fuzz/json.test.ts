import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseJson, parseJsonExact, stringifyJson } from '../../runtime/json.js';

/** Number texts JSON allows, with the shapes that need the exact parser: 16+ digits, exponents, trailing zeros. */
const numberText = fc.oneof(
  fc.integer().map(String),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc
    .tuple(fc.integer({ min: -99_999, max: 99_999 }), fc.stringMatching(/^\d{1,20}$/))
    .map(([whole, fraction]) => `${whole}.${fraction}`),
  fc
    .tuple(fc.integer({ min: -9, max: 9 }), fc.stringMatching(/^[eE][+-]?\d{1,3}$/))
    .map(([mantissa, exponent]) => `${mantissa}${exponent}`),
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .map(String)
    .filter((text) => !/Infinity|NaN/.test(text)),
);

/** JSON documents as text, numbers written in every shape (built as text so the number texts survive). */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    numberText,
    fc.string().map((text) => JSON.stringify(text)),
    fc.constantFrom('true', 'false', 'null'),
    fc.array(tie('value'), { maxLength: 5 }).map((items) => `[${items.join(',')}]`),
    fc
      .array(
        fc.tuple(
          fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'prototype', 'a')),
          tie('value'),
        ),
        { maxLength: 5 },
      )
      .map((entries) => `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`),
  ),
})).value;

/** Parses with `parse`, or names the error class it threw. */
function outcome(parse: (text: string) => unknown, text: string): { value: unknown } | { error: string } {
  try {
    return { value: parse(text) };
  } catch (error) {
    return { error: (error as Error).constructor.name };
  }
}

describe('fuzz: lossless JSON (runtime/json.ts)', () => {
  test('the fast path and the exact path agree on every JSON document, duplicate keys included', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        const exact = parseJsonExact(text);
        // JSON.parse where it is exact: texts without number shapes it could change.
        assert.deepEqual(parseJson(text), exact);
        // Appending a number that forces the exact path must not change whether or how the rest parses.
        assert.deepEqual(parseJsonExact(`[${text}, 26.30]`), [exact, parseJsonExact('26.30')]);
      }),
      { numRuns: 2_000 },
    );
  });

  test('a parsed document written back and parsed again is the same value (no number loses a digit)', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        const value = parseJson(text);
        assert.deepEqual(parseJson(stringifyJson(value as never)), value);
      }),
      { numRuns: 1_000 },
    );
  });

  test('arbitrary text either parses the same on both paths or is refused with a SyntaxError on both', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          jsonText.map((text) => text.slice(0, -1)),
          jsonText.map((text) => `${text}x`),
        ),
        (text) => {
          const fast = outcome(parseJson, text);
          const exact = outcome(parseJsonExact, text);
          if ('error' in fast) assert.equal(fast.error, 'SyntaxError');
          assert.deepEqual(fast, exact);
        },
      ),
      { numRuns: 3_000 },
    );
  });

  test('"__proto__" keys are plain keys on both paths and never reach a prototype', () => {
    fc.assert(
      fc.property(jsonText, fc.boolean(), (inner, exactPath) => {
        const text = `{"__proto__": {"polluted": ${inner}}, "n": ${exactPath ? '26.30' : '1'}}`;
        const value = parseJson(text) as Record<string, unknown>;
        assert.equal(Object.getPrototypeOf(value), Object.prototype);
        assert.ok(Object.hasOwn(value, '__proto__'));
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
        assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
      }),
      { numRuns: 300 },
    );
  });
});
