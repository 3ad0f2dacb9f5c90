import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compilePredicate, ExpressionError } from '../../../runtime/expression/index.js';
import { orderChange } from './record-fixture.js';

void describe('compilePredicate', () => {
  const paid = orderChange({ status: 'paid', amount: 150, currency: 'EUR', flag: null });
  const open = orderChange({ status: 'open', amount: 150, currency: 'EUR' });

  void test('true only for true', () => {
    const predicate = compilePredicate('after.status == "paid" && after.amount > 100');
    assert.equal(predicate.text, 'after.status == "paid" && after.amount > 100');
    assert.equal(predicate.test(paid), true);
    assert.equal(predicate.test(open), false);
  });

  void test('null is false, as in a SQL WHERE', () => {
    assert.equal(compilePredicate('after.flag').test(paid), false);
    assert.equal(compilePredicate('after.missing').test(paid), false);
  });

  void test('uses extra variables', () => {
    const predicate = compilePredicate('after.amount >= min_amount', { variables: ['min_amount'] });
    assert.equal(predicate.test(paid, { min_amount: 100 }), true);
    assert.equal(predicate.test(paid, { min_amount: 200 }), false);
  });

  void test('a non-boolean result is an EXPRESSION_EVAL error naming the type', () => {
    const predicate = compilePredicate('after.amount + 1');
    assert.throws(
      () => predicate.test(paid),
      (error: unknown) =>
        error instanceof ExpressionError &&
        error.code === 'EXPRESSION_EVAL' &&
        /"after\.amount \+ 1" must give a bool \(true or false\), got int/.test(error.message),
    );
    assert.throws(() => compilePredicate('after.status').test(paid), /got string/);
  });

  void test('evaluation failures and compile errors are ExpressionErrors', () => {
    assert.throws(
      () => compilePredicate('sha256(after) == ""').test(paid),
      (error: unknown) => error instanceof ExpressionError && error.code === 'EXPRESSION_EVAL',
    );
    assert.throws(
      () => compilePredicate('after.status = "paid"'),
      (error: unknown) =>
        error instanceof ExpressionError && error.code === 'EXPRESSION_INVALID' && error.offset === 13,
    );
  });
});
