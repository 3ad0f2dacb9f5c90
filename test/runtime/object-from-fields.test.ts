import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '../../runtime/decimal.js';
import { objectFromFields } from '../../runtime/object-from-fields.js';

describe('objectFromFields', () => {
  test('builds the object of the names and values, in order, for every name list it meets', () => {
    const names = Array.from({ length: 30 }, (_, index) => `field_${index}`);
    for (let round = 0; round < 3; round++) {
      const values = names.map((_, index) => (index % 2 === 0 ? index * round : `v${index}`));
      const built = objectFromFields(names, values);
      assert.deepEqual(Object.keys(built), names);
      assert.deepEqual(Object.values(built), values);
    }
    const other = objectFromFields(['b', 'a'], [new Decimal('1.50'), null]);
    assert.deepEqual(other, { b: new Decimal('1.50'), a: null });
    assert.deepEqual(Object.keys(other), ['b', 'a']);
  });

  test('names that are not identifiers, __proto__ and repeated names are plain own properties, the last winning', () => {
    const odd = ['a"b', "c'd\\", 'line\nbreak', '${x}', '1', ''];
    assert.deepEqual(Object.entries(objectFromFields(odd, [1, 2, 3, 4, 5, 6])), [
      ['1', 5],
      ['a"b', 1],
      ["c'd\\", 2],
      ['line\nbreak', 3],
      ['${x}', 4],
      ['', 6],
    ]);
    const proto = objectFromFields(['__proto__', 'x'], [{ polluted: true }, 1]);
    assert.equal(Object.getPrototypeOf(proto), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(proto, '__proto__')?.value, { polluted: true });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(objectFromFields(['a', 'b', 'a'], [1, 2, 3]), { a: 3, b: 2 });
  });

  test('stays right past the shapes it caches, and a name list changed after the call does not change later objects', () => {
    for (let shape = 0; shape < 600; shape++) {
      const names = [`n${shape}`, 'shared'];
      assert.deepEqual(objectFromFields(names, [shape, 'x']), { [`n${shape}`]: shape, shared: 'x' });
    }
    const names = ['a', 'b'];
    objectFromFields(names, [1, 2]);
    names[1] = 'c';
    assert.deepEqual(objectFromFields(['a', 'b'], [3, 4]), { a: 3, b: 4 });
    assert.deepEqual(objectFromFields(names, [5, 6]), { a: 5, c: 6 });
  });
});
