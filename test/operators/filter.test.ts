import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { filterOperator } from '../../operators/filter.js';
import { compilePredicate, type ExpressionError } from '../../runtime/expression/index.js';
import type { BatchOperator } from '../../runtime/operator.js';
import { build, check, ids, record, records } from './operator-harness.js';

const filter = (config: Record<string, unknown>) => build<BatchOperator>(filterOperator, config, 'paid');

describe('filter', () => {
  test('an empty batch gives nothing', async () => {
    assert.deepEqual(await (await filter({ where: 'true' })).process([]), { records: [] });
  });

  test('one record that matches passes, one that does not is dropped', async () => {
    const operator = await filter({ where: 'after.status == "paid"' });
    assert.deepEqual(ids(await operator.process([record({ id: 1, status: 'paid' })])), [1]);
    assert.deepEqual(await operator.process([record({ id: 2, status: 'open' })]), { records: [] });
  });

  test('many records keep their order; deletes (no after) do not match after fields', async () => {
    const operator = await filter({ where: 'after.status == "paid" && after.amount > 100' });
    const result = await operator.process([
      ...records([
        { id: 1, status: 'paid', amount: 150 },
        { id: 2, status: 'paid', amount: 50 },
        { id: 3, status: 'open', amount: 500 },
        { id: 4, status: 'paid', amount: 101 },
      ]),
      record(null, { key: { id: 5 } }),
    ]);
    assert.deepEqual(ids(result), [1, 4]);
  });

  test('a condition on the operation keeps deletes', async () => {
    const operator = await filter({ where: 'op == "delete" || after.status == "paid"' });
    const result = await operator.process([
      record(null, { key: { id: 5 } }),
      record({ id: 6, status: 'open' }),
    ]);
    assert.deepEqual(ids(result), [5]);
  });

  test('a record the condition cannot be evaluated on goes to the DLQ', async () => {
    const operator = await filter({ where: 'int(after.amount) > 10' });
    const result = await operator.process(
      records([
        { id: 1, amount: '20' },
        { id: 2, amount: 'many' },
        { id: 3, amount: '5' },
      ]),
    );
    assert.deepEqual(ids(result), [1]);
    assert.equal(result.dead?.length, 1);
    assert.equal(result.dead[0]!.node, 'paid');
    assert.deepEqual(result.dead[0]!.source, { name: 'orders', position: 'orders:2' });
    assert.match(result.dead[0]!.reason, /^cannot evaluate where \(int\(after.amount\) > 10\): /);
  });

  test('with on_error: fail the pipeline stops at that record', async () => {
    const operator = await filter({ where: 'int(after.amount) > 10', on_error: 'fail' });
    const result = await operator.process(
      records([
        { id: 1, amount: '20' },
        { id: 2, amount: 'many' },
        { id: 3, amount: '50' },
      ]),
    );
    assert.deepEqual(ids(result), [1]);
    assert.equal(result.failure?.handled, 1);
    assert.equal(result.failure?.error.code, 'EXPRESSION_EVAL');
    assert.match(
      result.failure.error.message,
      /^node paid: cannot evaluate where .* \(record from orders at orders:2\)$/,
    );
  });

  test('check reports a condition that does not compile, with its offset', async () => {
    const issues = await check(filterOperator, { where: 'after.status === "paid"' });
    assert.equal(issues.length, 1);
    assert.deepEqual(issues[0]!.path, ['where']);
    const expected = (() => {
      try {
        compilePredicate('after.status === "paid"');
      } catch (error) {
        return error as ExpressionError;
      }
      throw new Error('expected the expression not to compile');
    })();
    assert.equal(typeof expected.offset, 'number');
    assert.equal(issues[0]!.offset, expected.offset);
    assert.equal(issues[0]!.message, expected.message);
    await assert.rejects(filter({ where: 'after.status === "paid"' }));
  });
});
