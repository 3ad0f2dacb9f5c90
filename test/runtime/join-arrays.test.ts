import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { joinArrays } from '../../runtime/join-arrays.js';

void describe('joinArrays', () => {
  void test('joins the parts in order into a new array, leaving the parts as they were', () => {
    const parts = [[1, 2], [], [3], [4, 5, 6]];
    const joined = joinArrays(parts);
    assert.deepEqual(joined, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(parts, [[1, 2], [], [3], [4, 5, 6]]);
    assert.notEqual(joinArrays([parts[0]!]), parts[0]);
    assert.deepEqual(joinArrays([]), []);
  });

  void test('joins more parts than one call takes arguments, nested arrays left whole', () => {
    const parts = Array.from({ length: 200_000 }, (_, index) => [index, [index]]);
    const joined = joinArrays(parts);
    assert.equal(joined.length, 400_000);
    assert.equal(joined[0], 0);
    assert.deepEqual(joined[399_999], [199_999]);
    assert.ok(joined.every((value, index) => (index % 2 === 0 ? value === index / 2 : Array.isArray(value))));
  });
});
