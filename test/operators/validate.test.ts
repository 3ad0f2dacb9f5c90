import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateOperator, type ValidateOperator } from '../../operators/validate.js';
import { Decimal } from '../../runtime/decimal.js';
import type { Row } from '../../runtime/record.js';
import { build, check, ids, record, records } from './operator-harness.js';

type Rule = Record<string, unknown>;
const validate = (config: Record<string, unknown>) =>
  build<ValidateOperator>(validateOperator, config, 'checks');
const rules = (...list: Rule[]) => validate({ rules: list });

/** The dead letters of one batch through a single rule, as (id, reason) pairs. */
async function rejected(rule: Rule, rows: Row[]) {
  const operator = await rules({ name: 'r', action: 'dlq', ...rule });
  const result = await operator.process(records(rows));
  return {
    passed: ids(result),
    dead: (result.dead ?? []).map((letter) => ({ id: letter.record?.after?.id, reason: letter.reason })),
  };
}

describe('validate', () => {
  test('an empty batch gives nothing', async () => {
    const operator = await rules({ name: 'id', field: 'id', not_null: true });
    assert.deepEqual(operator.process([]), { records: [] });
  });

  test('one record that passes every rule goes on unchanged', async () => {
    const operator = await rules(
      { name: 'id', field: 'id', not_null: true },
      { name: 'amount', field: 'amount', range: { min: 0 } },
    );
    const input = records([{ id: 1, amount: 3 }]);
    const result = await operator.process(input);
    assert.equal(result.records[0], input[0]);
    assert.deepEqual(operator.ruleFailures(), { id: 0, amount: 0 });
  });

  test('a dead letter carries the rule, field, value, reason, source position and record', async () => {
    const operator = await rules({
      name: 'email_shape',
      field: 'contact.email',
      regex: '^[^@]+@[^@]+$',
      action: 'dlq',
    });
    const result = await operator.process(
      records([
        { id: 1, contact: { email: 'a@b' } },
        { id: 2, contact: { email: 'nobody' } },
      ]),
    );
    assert.deepEqual(ids(result), [1]);
    assert.deepEqual(result.dead, [
      {
        node: 'checks',
        rule: 'email_shape',
        field: 'contact.email',
        value: 'nobody',
        reason: 'expected text matching /^[^@]+@[^@]+$/, got text "nobody"',
        source: { name: 'orders', position: 'orders:2' },
        record: record({ id: 2, contact: { email: 'nobody' } }, { position: 2 }),
      },
    ]);
  });

  test('not_null fails on null and on an absent field', async () => {
    assert.deepEqual(
      await rejected({ field: 'id', not_null: true }, [{ id: 1 }, { id: null }, { other: 1 }]),
      {
        passed: [1],
        dead: [
          { id: null, reason: 'expected a value, got null' },
          { id: undefined, reason: 'expected a value, got nothing (field absent)' },
        ],
      },
    );
  });

  test('regex, range, in, type and length pass null and absent values (only not_null catches them)', async () => {
    for (const rule of [
      { regex: 'x' },
      { range: { min: 0 } },
      { in: ['a'] },
      { type: 'integer' },
      { length: { max: 1 } },
      { unique: {} },
    ]) {
      const result = await rejected({ field: 'v', ...rule }, [{ id: 1, v: null }, { id: 2 }]);
      assert.deepEqual(result.passed, [1, 2], JSON.stringify(rule));
    }
  });

  test('range compares exactly, with inclusive and exclusive bounds', async () => {
    const rule = {
      field: 'amount',
      range: { min: 0, max: 10000, min_inclusive: true, max_inclusive: false },
    };
    const rows = [
      { id: 1, amount: 0 },
      { id: 2, amount: new Decimal('9999.99999999999999999') },
      { id: 3, amount: 10000 },
      { id: 4, amount: -0.01 },
      { id: 5, amount: 12n },
      { id: 6, amount: '12' },
    ];
    assert.deepEqual(await rejected(rule, rows), {
      passed: [1, 2, 5],
      dead: [
        { id: 3, reason: 'expected a number >= 0 and < 10000, got 10000' },
        { id: 4, reason: 'expected a number >= 0 and < 10000, got -0.01' },
        { id: 6, reason: 'expected a number >= 0 and < 10000, got text "12"' },
      ],
    });
    const exact = await rejected({ field: 'amount', range: { max: '0.1', max_inclusive: false } }, [
      { id: 1, amount: new Decimal('0.09999999999999999999') },
      { id: 2, amount: 0.1 },
    ]);
    assert.deepEqual(exact.passed, [1]);
  });

  test('in compares text exactly and numbers by value', async () => {
    assert.deepEqual(
      await rejected({ field: 'currency', in: ['EUR', 'USD', 'GBP', 1, true] }, [
        { id: 1, currency: 'EUR' },
        { id: 2, currency: 'eur' },
        { id: 3, currency: new Decimal('1.0') },
        { id: 4, currency: true },
        { id: 5, currency: 2 },
      ]),
      {
        passed: [1, 3, 4],
        dead: [
          { id: 2, reason: 'expected one of "EUR", "USD", "GBP", 1, true, got text "eur"' },
          { id: 5, reason: 'expected one of "EUR", "USD", "GBP", 1, true, got 2' },
        ],
      },
    );
  });

  test('type checks each kind of value', async () => {
    const cases: [string, unknown[], unknown[]][] = [
      ['integer', [1, 2n ** 70n, -3], [1.5, '1', new Decimal('1.5')]],
      ['number', [1, 1.5, 2n, new Decimal('26.30')], ['1', true]],
      ['string', ['', 'a'], [1, new Date(0)]],
      ['boolean', [true, false], ['true', 0]],
      [
        'timestamp',
        [new Date(0), '2024-05-01T10:00:00Z', '2024-05-01 10:00:00.123456+02:00', '2024-05-01'],
        ['yesterday', 1714557600000, '2024-13-45'],
      ],
      ['object', [{}, { a: 1 }], [[], 'x']],
      ['array', [[], [1]], [{}, 'x']],
      ['bytes', [new Uint8Array(2)], ['AQL/', [1, 2]]],
    ];
    for (const [type, good, bad] of cases) {
      const rows = [...good, ...bad].map((v, index) => ({ id: index, v }) as Row);
      const result = await rejected({ field: 'v', type }, rows);
      assert.deepEqual(
        result.passed,
        good.map((_, index) => index),
        type,
      );
      assert.equal(result.dead.length, bad.length, type);
      assert.match(result.dead[0]!.reason, new RegExp(`^expected ${type}, got `));
    }
  });

  test('length counts characters of text, items of lists and bytes', async () => {
    assert.deepEqual(
      await rejected({ field: 'note', length: { min: 1, max: 3 } }, [
        { id: 1, note: '😀😀😀' },
        { id: 2, note: 'abcd' },
        { id: 3, note: '' },
        { id: 4, note: [1, 2] },
        { id: 5, note: 7 },
      ]),
      {
        passed: [1, 4],
        dead: [
          { id: 2, reason: 'expected length >= 1 and <= 3, got length 4: text "abcd"' },
          { id: 3, reason: 'expected length >= 1 and <= 3, got length 0: text ""' },
          { id: 5, reason: 'expected text, a list or bytes of length >= 1 and <= 3, got 7' },
        ],
      },
    );
  });

  test('unique remembers at most `window` distinct values (LRU)', async () => {
    const operator = await rules({ name: 'unique_id', field: 'id', unique: { window: 2 } });
    assert.deepEqual(
      ids(await operator.process(records([{ id: 1 }, { id: 2 }, { id: 1 }, { id: 3 }]))),
      [1, 2, 3],
    );
    // 1 was seen again after 2, so 2 is the least recent and was forgotten when 3 came.
    assert.deepEqual(ids(await operator.process(records([{ id: 2 }, { id: 3 }, { id: 1 }]))), [2, 1]);
    assert.deepEqual(operator.ruleFailures(), { unique_id: 2 });
    const letter = (await operator.process(records([{ id: 1 }]))).dead![0]!;
    assert.equal(letter.reason, 'expected a value not seen among the last 2 distinct values, got 1 again');
  });

  test('expr rules test the whole record', async () => {
    assert.deepEqual(
      await rejected({ expr: 'after.status != "paid" || after.amount > 0' }, [
        { id: 1, status: 'paid', amount: 5 },
        { id: 2, status: 'paid', amount: 0 },
        { id: 3, status: 'open', amount: 0 },
      ]),
      {
        passed: [1, 3],
        dead: [
          { id: 2, reason: 'expected after.status != "paid" || after.amount > 0 to be true, got false' },
        ],
      },
    );
  });

  test('function rules: false and reasons fail the rule; a throw or a bad return dead-letters the record', async () => {
    const operator = await rules(
      { name: 'order', function: { module: './rules.mjs', export: 'checkOrder' }, action: 'dlq' },
      { name: 'name', field: 'name', function: { module: './rules.mjs', export: 'nameOk' }, action: 'dlq' },
      {
        name: 'catalogue',
        field: 'name',
        function: { module: './rules.mjs', export: 'broken' },
        action: 'warn',
      },
      {
        name: 'confused',
        field: 'amount',
        function: { module: './rules.mjs', export: 'confused' },
        action: 'warn',
      },
    );
    const result = await operator.process(
      records([
        { id: 1, name: 'ok', amount: 1 },
        { id: 2, name: 'ok', amount: 5000 },
        { id: 3, name: 'xavier', amount: 1 },
        { id: 4, name: 'boom', amount: 1 },
      ]),
    );
    assert.deepEqual(ids(result), []);
    assert.deepEqual(
      result.dead?.map((letter) => [letter.record?.after?.id, letter.rule, letter.reason]),
      [
        [1, 'confused', 'rule function confused returned number; expected true, false or a reason'],
        [2, 'order', 'amount 5000 needs a review'],
        [3, 'name', 'rule function nameOk returned false'],
        [4, 'catalogue', 'rule function broken threw: cannot read the catalogue'],
      ],
    );
  });

  test('warn rules pass records, count failures per rule and log at most once per rule per 10 s', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    const operator = await validate({
      rules: [
        { name: 'currency', field: 'currency', in: ['EUR'], action: 'warn' },
        { name: 'note_len', field: 'note', length: { max: 2 }, action: 'warn' },
      ],
    });
    const batch = records(
      Array.from({ length: 500 }, (_, id) => ({ id, currency: id % 2 === 0 ? 'EUR' : 'JPY', note: 'abc' })),
    );
    const first = await operator.process(batch);
    assert.equal(first.records.length, 500);
    assert.equal(first.dead, undefined);
    assert.deepEqual(operator.ruleFailures(), { currency: 250, note_len: 500 });
    assert.deepEqual(
      operator.lines.map((line) => [line.rule, line.failures]),
      [
        ['currency', 250],
        ['note_len', 500],
      ],
    );
    assert.match(
      String(operator.lines[0]!.msg),
      /^rule currency failed 250 time\(s\) \(action warn, records passed\); latest: expected one of "EUR", got text "JPY"$/,
    );

    await operator.process(batch);
    t.mock.timers.tick(9_999);
    await operator.process(batch);
    assert.equal(operator.lines.length, 2);
    t.mock.timers.tick(1);
    await operator.process(records([{ id: 1, currency: 'EUR', note: 'a' }]));
    assert.deepEqual(
      operator.lines.slice(2).map((line) => [line.rule, line.failures, line.total]),
      [
        ['currency', 500, 750],
        ['note_len', 1000, 1500],
      ],
    );
    await operator.process(batch);
    await operator.close?.();
    assert.deepEqual(
      operator.lines.slice(4).map((line) => [line.rule, line.failures]),
      [
        ['currency', 250],
        ['note_len', 500],
      ],
    );
  });

  test('a fail rule stops the pipeline naming the rule, field, value and source position', async () => {
    const operator = await rules(
      { name: 'currency', field: 'currency', in: ['EUR'], action: 'warn' },
      { name: 'id_present', field: 'id', not_null: true, action: 'fail' },
      { name: 'email_shape', field: 'email', regex: '@', action: 'dlq' },
    );
    const result = await operator.process(
      records([
        { id: 1, email: 'a@b' },
        { id: 2, email: 'bad' },
        { id: null, email: 'c@d', currency: 'JPY' },
        { id: 4, email: 'e@f' },
      ]),
    );
    assert.deepEqual(ids(result), [1]);
    assert.equal(result.dead?.length, 1);
    assert.equal(result.failure?.handled, 2);
    assert.equal(result.failure?.error.code, 'RULE_FAILED');
    assert.equal(
      result.failure?.error.message,
      'node checks: rule id_present failed on field id: expected a value, got null (record from orders at orders:3)',
    );
    assert.deepEqual(operator.ruleFailures(), { currency: 1, id_present: 1, email_shape: 1 });
  });

  test('an expression that cannot be evaluated dead-letters the record under warn, and stops the pipeline under fail', async () => {
    const warn = await rules({ name: 'cents', expr: 'int(after.amount) > 0', action: 'warn' });
    const warned = await warn.process(
      records([
        { id: 1, amount: '5' },
        { id: 2, amount: 'x' },
      ]),
    );
    assert.deepEqual(ids(warned), [1]);
    assert.match(warned.dead![0]!.reason, /^cannot evaluate int\(after.amount\) > 0: /);
    const fail = await rules({ name: 'cents', expr: 'int(after.amount) > 0', action: 'fail' });
    const failed = await fail.process(
      records([
        { id: 1, amount: '5' },
        { id: 2, amount: 'x' },
      ]),
    );
    assert.equal(failed.failure?.handled, 1);
    assert.match(failed.failure.error.message, /^node checks: rule cents failed: cannot evaluate/);
  });

  test('the threshold stops the pipeline when more than the ratio of the last window records failed', async () => {
    const operator = await validate({
      rules: [{ name: 'positive', field: 'n', range: { min: 0 }, action: 'dlq' }],
      threshold: { max_failure_ratio: 0.2, window: 10 },
    });
    // 2 failures in the first 10: at the limit (20%), not above it.
    const rows = (signs: string) =>
      [...signs].map((sign, index) => ({ id: index, n: sign === '-' ? -1 : 1 }));
    const first = await operator.process(records(rows('-+++-+++++')));
    assert.equal(first.failure, undefined);
    assert.equal(first.dead?.length, 2);
    // The window slides: the failure at position 0 leaves it as this failure enters, so still 2 of the last 10.
    const second = await operator.process(records(rows('-+')));
    assert.equal(second.failure, undefined);
    assert.equal(second.dead?.length, 1);
    // Failures in the window: old position 4, the one just above, and now this one: 3 of the last 10.
    const third = await operator.process(records(rows('+-+')));
    assert.deepEqual(ids(third), [0]);
    assert.equal(third.dead, undefined);
    assert.equal(third.failure?.handled, 1);
    assert.equal(third.failure?.error.code, 'FAILURE_THRESHOLD');
    assert.equal(
      third.failure?.error.message,
      'node checks: more than 20% of the last 10 checked records failed a rule (3 failed), at the record from orders at orders:2',
    );
  });

  test('deletes pass unchecked unless apply_to_deletes, which checks their before image or key', async () => {
    const rule = { name: 'id_present', field: 'id', not_null: true };
    const deletes = [
      record(null, { key: { id: 1 } }),
      record(null, { before: { id: null }, key: { id: 2 } }),
      record(null, { key: { other: 3 } }),
    ];
    const skipping = await rules(rule);
    assert.equal((await skipping.process(deletes)).records.length, 3);
    const checking = await validate({ rules: [rule], apply_to_deletes: true });
    const result = await checking.process(deletes);
    assert.deepEqual(ids(result), [1]);
    assert.equal(result.dead?.length, 2);
  });

  test('check reports rules with no check or two, a missing field, a bad regex, a bad expression and a missing function', async () => {
    const issues = await check(validateOperator, {
      rules: [
        { name: 'a', field: 'x' },
        { name: 'b', field: 'x', not_null: true, regex: 'y' },
        { name: 'c', regex: 'y' },
        { name: 'c', field: 'x', regex: '(' },
        { name: 'd', expr: 'after.x >' },
        { name: 'e', function: { module: './rules.mjs', export: 'notAFunction' } },
        { name: 'f', field: 'x', range: { min: 5, max: 1 } },
      ],
    });
    assert.deepEqual(
      issues.map((issue) => [issue.path.join('.'), issue.offset]),
      [
        ['rules.0', undefined],
        ['rules.1', undefined],
        ['rules.2.field', undefined],
        ['rules.3.name', undefined],
        ['rules.3.regex', undefined],
        ['rules.6.range', undefined],
        ['rules.4.expr', 9],
        ['rules.5.function', undefined],
      ],
    );
    assert.equal(
      issues[0]!.message,
      'expected exactly one check (not_null, regex, range, in, type, length, unique, expr, function), got none',
    );
    assert.equal(
      issues[1]!.message,
      'expected exactly one check (not_null, regex, range, in, type, length, unique, expr, function), got not_null, regex',
    );
    assert.equal(issues[2]!.message, 'a regex rule needs the field it checks');
    assert.match(
      issues[7]!.message,
      /^expected module \.\/rules\.mjs to export a function named notAFunction, got a number/,
    );
  });

  test('failures not yet logged are logged at close', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 0 });
    const operator = await validate({ rules: [{ name: 'w', field: 'v', in: [1], action: 'warn' }] });
    await operator.process(records([{ id: 1, v: 2 }]));
    await operator.process(records([{ id: 2, v: 2 }]));
    assert.equal(operator.lines.length, 1);
    await operator.close?.();
    assert.deepEqual(
      operator.lines.map((line) => line.failures),
      [1, 1],
    );
  });
});
