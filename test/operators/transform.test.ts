import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeValue } from '../../operators/support/describe-value.js';
import { transformOperator } from '../../operators/transform.js';
import { Decimal } from '../../runtime/decimal.js';
import type { BatchOperator } from '../../runtime/operator.js';
import type { Row, Value } from '../../runtime/record.js';
import { build, check, record, records } from './operator-harness.js';

const transform = (config: Record<string, unknown>) =>
  build<BatchOperator>(transformOperator, config, 'shape');

/** The after image of the single record a transform of `after` gives. */
async function shaped(config: Record<string, unknown>, after: Row): Promise<Row | null> {
  const result = await (await transform(config)).process([record(after)]);
  assert.equal(result.dead, undefined, JSON.stringify(result.dead?.[0]?.reason));
  return result.records[0]!.after;
}

describe('transform', () => {
  test('an empty batch gives nothing', async () => {
    assert.deepEqual(await (await transform({ drop: ['note'] })).process([]), { records: [] });
  });

  test('one record: rename, cast, set, drop and mask together', async () => {
    const after = await shaped(
      {
        set: { total_cents: 'int(after.amount * 100)', region: '"eu"' },
        rename: { customer: 'customer_name' },
        drop: ['note'],
        cast: { id: 'string', amount: 'decimal' },
        mask: { email: { hash: 'sha256' }, phone: 'redact', card: { keep_last: 4 } },
      },
      {
        id: 42,
        amount: '26.30',
        customer: 'Ada',
        note: 'call first',
        email: 'abc',
        phone: '+44 20 7946 0000',
        card: '4111111111111111',
      },
    );
    assert.deepEqual(after, {
      id: '42',
      amount: new Decimal('26.30'),
      customer_name: 'Ada',
      email: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      phone: '***',
      card: '************1111',
      total_cents: 2630,
      region: 'eu',
    });
  });

  test('many records: before images and key columns are reshaped too, inputs are left alone', async () => {
    const operator = await transform({
      rename: { id: 'order_id' },
      cast: { amount: 'integer' },
      mask: { email: 'redact' },
      drop: ['note'],
    });
    const input = [
      record(
        { id: 1, amount: '5', email: 'a@x', note: 'n' },
        { op: 'update', before: { id: 1, amount: '4', email: 'a@y', note: 'o' }, key: { id: 1 } },
      ),
      record(null, { op: 'delete', before: { id: 2, amount: '7.00', email: 'b@x' }, key: { id: 2 } }),
      record({ id: 3, amount: 1e3 }, { key: { id: 3 } }),
    ];
    const copy = structuredClone(input);
    const result = await operator.process(input);
    assert.deepEqual(
      result.records.map(({ key, before, after }) => ({ key, before, after })),
      [
        {
          key: { order_id: 1 },
          before: { order_id: 1, amount: 4, email: '***' },
          after: { order_id: 1, amount: 5, email: '***' },
        },
        { key: { order_id: 2 }, before: { order_id: 2, amount: 7, email: '***' }, after: null },
        { key: { order_id: 3 }, before: null, after: { order_id: 3, amount: 1000 } },
      ],
    );
    assert.deepEqual(input, copy);
  });

  test('set expressions see renamed and cast fields, and the before image sees itself as after', async () => {
    const operator = await transform({
      rename: { qty: 'quantity' },
      cast: { quantity: 'integer' },
      set: { double: 'after.quantity * 2' },
    });
    const [out] = (await operator.process([record({ qty: '3' }, { op: 'update', before: { qty: '2' } })]))
      .records;
    assert.deepEqual(out!.after, { quantity: 3, double: 6 });
    assert.deepEqual(out!.before, { quantity: 2, double: 4 });
  });

  test('fields keep their order: renamed and new ones come last, dropped ones go after the expressions ran', async () => {
    const operator = await transform({
      rename: { customer: 'customer_name', code: 'id' },
      set: { total: 'after.amount + after.fee', amount: 'after.amount * 2' },
      drop: ['fee', 'note'],
    });
    const input = { code: 'A1', id: 7, customer: 'Ada', amount: 10, fee: 1, note: 'n' };
    const [out] = (await operator.process([record(input, { op: 'update', before: { ...input, fee: 2 } })]))
      .records;
    assert.deepEqual(Object.entries(out!.after!), [
      ['id', 'A1'],
      ['amount', 20],
      ['customer_name', 'Ada'],
      ['total', 11],
    ]);
    assert.deepEqual(out!.before, { id: 'A1', amount: 20, customer_name: 'Ada', total: 12 });
    assert.deepEqual(input, { code: 'A1', id: 7, customer: 'Ada', amount: 10, fee: 1, note: 'n' });
  });

  test('without expressions, renamed and dropped fields go in one copy; a __proto__ column stays a column', async () => {
    const input = JSON.parse('{"__proto__": {"x": 1}, "a": 1, "b": 2, "c": 3}') as Row;
    const after = await shaped({ rename: { a: 'b' }, drop: ['c', 'b'] }, input);
    assert.deepEqual(Object.keys(after!), ['__proto__']);
    assert.equal(Object.getPrototypeOf(after), Object.prototype);
    const renamed = await shaped({ rename: { a: 'z' }, drop: ['c'] }, input);
    assert.deepEqual(Object.entries(renamed!), [
      ['__proto__', { x: 1 }],
      ['b', 2],
      ['z', 1],
    ]);
  });

  test('nested fields: dotted paths read, write and remove inside objects without touching the input', async () => {
    const input = { address: { city: 'paris', zip: 75001, line: 'x' }, id: 1 };
    const after = await shaped(
      {
        rename: { 'address.city': 'city' },
        cast: { 'address.zip': 'string' },
        drop: ['address.line'],
        set: { 'meta.source': '"crm"' },
      },
      input,
    );
    assert.deepEqual(after, { address: { zip: '75001' }, id: 1, city: 'paris', meta: { source: 'crm' } });
    assert.deepEqual(input, { address: { city: 'paris', zip: 75001, line: 'x' }, id: 1 });
  });

  test('casts give exact values', async () => {
    const cases: [string, Value, Value][] = [
      ['decimal', '26.30', new Decimal('26.30')],
      ['decimal', new Decimal('26.30'), new Decimal('26.30')],
      ['decimal', 0.1, new Decimal('0.1')],
      ['decimal', 12345678901234567890n, new Decimal('12345678901234567890')],
      ['integer', '9007199254740993', 9007199254740993n],
      ['integer', '42.000', 42],
      ['integer', new Decimal('1.5e3'), 1500],
      ['integer', ' -7 ', -7],
      ['integer', true, 1],
      ['number', '2.5', 2.5],
      ['number', new Decimal('26.30'), 26.3],
      ['string', new Decimal('26.30'), '26.30'],
      ['string', 9007199254740993n, '9007199254740993'],
      ['string', new Date('2024-05-01T10:00:00.123Z'), '2024-05-01T10:00:00.123Z'],
      ['string', { a: [1, new Decimal('2.50')] }, '{"a":[1,2.50]}'],
      ['string', new Uint8Array([1, 2, 255]), 'AQL/'],
      ['boolean', 'Yes', true],
      ['boolean', 'off', false],
      ['boolean', 0, false],
      ['timestamp', '2024-05-01T10:00:00Z', new Date('2024-05-01T10:00:00.000Z')],
      ['timestamp', 1714557600000, new Date('2024-05-01T10:00:00.000Z')],
      ['timestamp', '2024-05-01T10:00:00.123456Z', '2024-05-01T10:00:00.123456Z'],
      [
        'json',
        '{"price": 26.30, "big": 12345678901234567890}',
        { price: new Decimal('26.30'), big: 12345678901234567890n },
      ],
      ['json', { already: 'structured' }, { already: 'structured' }],
      ['decimal', null, null],
    ];
    for (const [type, input, expected] of cases) {
      const after = await shaped({ cast: { v: type } }, { v: input });
      assert.deepEqual(after, { v: expected }, `${type} of ${describeValue(input)}`);
    }
    assert.deepEqual(await shaped({ cast: { absent: 'integer' } }, { id: 1 }), { id: 1 });
  });

  test('masks give exact values', async () => {
    const cases: [unknown, Value, Value][] = [
      [{ hash: 'sha256' }, 'abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
      [
        { hash: 'sha256', salt: 'key' },
        'The quick brown fox jumps over the lazy dog',
        'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
      ],
      [
        { hash: 'sha512' },
        'abc',
        'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
      ],
      [{ truncate: 4 }, '4111111111111111', '4111'],
      [{ truncate: 2 }, '😀😀😀', '😀😀'],
      [{ keep_last: 4 }, 4111111111111111, '************1111'],
      [{ keep_last: 4 }, 'abc', 'abc'],
      ['redact', 'secret', '***'],
      ['redact', null, null],
      [{ hash: 'sha256' }, null, null],
    ];
    for (const [spec, input, expected] of cases) {
      assert.deepEqual(
        await shaped({ mask: { v: spec } }, { v: input }),
        { v: expected },
        JSON.stringify(spec),
      );
    }
  });

  test('a record whose cast fails goes to the DLQ with the field, the value and the reason', async () => {
    const operator = await transform({ cast: { amount: 'decimal' } });
    const result = await operator.process(records([{ amount: '1.50' }, { amount: 'twelve' }, { amount: 3 }]));
    assert.deepEqual(
      result.records.map((item) => item.after?.amount),
      [new Decimal('1.50'), new Decimal('3')],
    );
    assert.equal(result.dead?.length, 1);
    const letter = result.dead[0]!;
    assert.equal(letter.node, 'shape');
    assert.equal(letter.field, 'amount');
    assert.equal(letter.value, 'twelve');
    assert.deepEqual(letter.source, { name: 'orders', position: 'orders:2' });
    assert.equal(
      letter.reason,
      'cannot cast field amount to decimal: expected a value convertible to decimal, got text "twelve"',
    );
    assert.deepEqual(letter.record?.after, { amount: 'twelve' });
  });

  test('integer casts refuse fractions instead of rounding', async () => {
    const result = await (
      await transform({ cast: { n: 'integer' } })
    ).process(records([{ n: 2.5 }, { n: '3.01' }, { n: new Decimal('1e400') }]));
    assert.equal(result.records.length, 0);
    assert.equal(result.dead?.length, 3);
  });

  test('with on_error: fail, a failing record stops the pipeline after the records before it', async () => {
    const operator = await transform({ cast: { amount: 'integer' }, on_error: 'fail' });
    const result = await operator.process(
      records([{ amount: '1' }, { amount: '2' }, { amount: 'x' }, { amount: '4' }]),
    );
    assert.deepEqual(
      result.records.map((item) => item.after?.amount),
      [1, 2],
    );
    assert.equal(result.failure?.handled, 2);
    assert.equal(result.failure?.error.code, 'CAST_FAILED');
    assert.equal(
      result.failure?.error.message,
      'node shape: cannot cast field amount to integer: expected a value convertible to integer (whole number text), got text "x" (record from orders at orders:3)',
    );
  });

  test('an expression that fails on a record sends it to the DLQ', async () => {
    const operator = await transform({ set: { cents: 'int(after.amount)' } });
    const result = await operator.process(records([{ amount: '12' }, { amount: 'lots' }]));
    assert.deepEqual(
      result.records.map((item) => item.after?.cents),
      [12],
    );
    assert.equal(result.dead?.[0]?.field, 'cents');
    assert.match(
      result.dead[0].reason,
      /^cannot set field cents \(after image\): expression "int\(after.amount\)" failed/,
    );
  });

  test('check reports expressions that do not compile with their offset, and clashing renames', async () => {
    assert.deepEqual(
      await check(transformOperator, { set: { a: 'after.x +' }, rename: { b: 'c', d: 'c' } }),
      [
        { path: ['rename', 'd'], message: 'd and b are both renamed to c' },
        {
          path: ['set', 'a'],
          message:
            'invalid expression "after.x +" at offset 9: the expression ends too early: expected an operand',
          offset: 9,
        },
      ],
    );
    assert.deepEqual(await check(transformOperator, { drop: ['a.'] }), [
      {
        path: ['drop', 0],
        message: 'expected a field name or a dotted path such as "address.city", got "a."',
      },
    ]);
    await assert.rejects(transform({ set: { a: 'nope(' } }));
  });
});
