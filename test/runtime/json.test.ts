import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '../../runtime/decimal.js';
import { parseJson } from '../../runtime/json.js';

describe('parseJson', () => {
  test('numbers a double would alter keep their text; look-alikes inside strings stay strings', () => {
    const value = parseJson(
      '{"at":"2024-01-01T00:00:00.000Z","amount":118.10,"big":12345678901234567890,"tiny":0.0000001,"huge":1e400,"n":[1.5,2]}',
    );
    assert.deepEqual(value, {
      at: '2024-01-01T00:00:00.000Z',
      amount: new Decimal('118.10'),
      big: 12345678901234567890n,
      tiny: new Decimal('0.0000001'),
      huge: new Decimal('1e400'),
      n: [1.5, 2],
    });
  });

  test('a key named __proto__ holding such a number stays an own property', () => {
    const value = parseJson('{"__proto__":26.30}') as Record<string, unknown>;
    assert.ok(Object.hasOwn(value, '__proto__'));
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(value, '__proto__')?.value, new Decimal('26.30'));
  });

  test('malformed numbers and numbers in key position are refused, as JSON.parse refuses them', () => {
    for (const text of ['{26.30:1}', '[01.50]', '[1.50.0]', '{"a":-26.30e}'])
      assert.throws(() => parseJson(text), SyntaxError, text);
  });

  test('a text with the \\u0000 escape is read exactly too', () => {
    assert.deepEqual(parseJson('["\\u000026.30",26.30]'), ['\u000026.30', new Decimal('26.30')]);
  });
});
