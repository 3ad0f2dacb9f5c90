import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dedupOperator, type DedupOperator } from '../../operators/dedup.js';
import { Decimal } from '../../runtime/decimal.js';
import { build, buildContext, check, ids, record, records } from './operator-harness.js';

const dedup = (config: Record<string, unknown>) => build<DedupOperator>(dedupOperator, config, 'once');

describe('dedup', () => {
  test('an empty batch gives nothing', async () => {
    const operator = await dedup({ key: ['id'], version: 'v' });
    assert.deepEqual(operator.process([]), { records: [] });
  });

  test('one record passes', async () => {
    const operator = await dedup({ key: ['id'], version: 'v' });
    assert.deepEqual(ids(await operator.process(records([{ id: 1, v: 1 }]))), [1]);
  });

  test('drops records whose version is not newer than the last seen for their key, across batches', async () => {
    const operator = await dedup({ key: ['id'], version: 'v' });
    const first = await operator.process(
      records([
        { id: 1, v: 1 },
        { id: 2, v: 5 },
        { id: 1, v: 1 },
        { id: 1, v: 2 },
      ]),
    );
    assert.deepEqual(
      first.records.map((item) => item.after),
      [
        { id: 1, v: 1 },
        { id: 2, v: 5 },
        { id: 1, v: 2 },
      ],
    );
    const second = await operator.process(
      records([
        { id: 2, v: 4 },
        { id: 1, v: 3 },
        { id: 2, v: 5 },
      ]),
    );
    assert.deepEqual(
      second.records.map((item) => item.after),
      [{ id: 1, v: 3 }],
    );
    assert.equal(operator.stats().dropped, 3);
  });

  test('a composite key and nested fields', async () => {
    const operator = await dedup({ key: ['tenant', 'order.id'], version: 'v' });
    const result = await operator.process(
      records([
        { tenant: 'a', order: { id: 1 }, v: 1 },
        { tenant: 'b', order: { id: 1 }, v: 1 },
        { tenant: 'a', order: { id: 1 }, v: 1 },
      ]),
    );
    assert.deepEqual(
      result.records.map((item) => item.after?.tenant),
      ['a', 'b'],
    );
  });

  test('orders CockroachDB HLC strings as (wall, logical), not as text', async () => {
    const operator = await dedup({ key: ['id'], version: 'updated' });
    const result = await operator.process(
      records([
        { id: 1, updated: '1700000000000000000.0000000002' },
        { id: 1, updated: '1700000000000000000.0000000001' }, // older logical
        { id: 1, updated: '1700000000000000000.0000000010' }, // newer logical
        { id: 1, updated: '999999999999999999.0000000099' }, // fewer wall digits: older, though text-greater
        { id: 1, updated: '1700000000000000001.0000000000' }, // newer wall
      ]),
    );
    assert.deepEqual(
      result.records.map((item) => item.after?.updated),
      ['1700000000000000000.0000000002', '1700000000000000000.0000000010', '1700000000000000001.0000000000'],
    );
  });

  test('compares numbers, bigints and decimals numerically and exactly', async () => {
    const operator = await dedup({ key: ['id'], version: 'v' });
    const result = await operator.process(
      records([
        { id: 1, v: 9 },
        { id: 1, v: 10n }, // newer (lexically "10" < "9")
        { id: 1, v: new Decimal('10.00') }, // equal: dropped
        { id: 1, v: new Decimal('10.000000000000000000001') }, // newer by less than a double can tell
        { id: 1, v: 2n ** 64n },
        { id: 1, v: 2 ** 64 }, // equal to 2^64: dropped
      ]),
    );
    assert.deepEqual(
      result.records.map((item) => item.after?.v),
      [9, 10n, new Decimal('10.000000000000000000001'), 2n ** 64n],
    );
  });

  test('orders other strings lexically (ISO-8601 timestamps) and dates by time', async () => {
    const operator = await dedup({ key: ['id'], version: 'at' });
    const result = await operator.process(
      records([
        { id: 1, at: '2024-05-01T10:00:00Z' },
        { id: 1, at: '2024-04-30T23:00:00Z' },
        { id: 2, at: new Date('2024-05-01T10:00:00Z') },
        { id: 2, at: new Date('2024-05-01T10:00:01Z') },
      ]),
    );
    assert.deepEqual(ids(result), [1, 2, 2]);
  });

  test('reads the version from the source with version_in: source', async () => {
    const operator = await dedup({ key: ['id'], version: 'hlc', version_in: 'source' });
    const make = (id: number, hlc: string, after: boolean) => {
      const base = record(after ? { id } : null, { before: after ? null : { id } });
      return { ...base, source: { ...base.source, hlc } };
    };
    const result = await operator.process([
      make(1, '5.0000000001', true),
      make(1, '5.0000000001', true),
      make(1, '6.0000000000', false),
    ]);
    assert.deepEqual(
      result.records.map((item) => item.op),
      ['insert', 'delete'],
    );
  });

  test('without a version, the first record of each key passes', async () => {
    const operator = await dedup({ key: ['id'] });
    const result = await operator.process(records([{ id: 'a' }, { id: 'b' }, { id: 'a' }, { id: 'a' }]));
    assert.deepEqual(ids(result), ['a', 'b']);
    assert.equal(operator.stats().dropped, 2);
  });

  test('remembers at most `window` keys, forgetting the least recently seen', async () => {
    const operator = await dedup({ key: ['id'], window: 2 });
    assert.deepEqual(
      ids(await operator.process(records([{ id: 1 }, { id: 2 }, { id: 1 }, { id: 3 }]))),
      [1, 2, 3],
    );
    // 2 was the least recently seen (1 was seen again), so it is forgotten and passes again; 1 and 3 are remembered.
    assert.deepEqual(ids(await operator.process(records([{ id: 2 }, { id: 3 }]))), [2]);
    assert.deepEqual(ids(await operator.process(records([{ id: 1 }]))), [1]);
    const stats = operator.stats();
    assert.equal(stats.keys, 2);
    assert.equal(stats.evicted, 3);
  });

  test('passes records without key fields or without a version, and counts them', async () => {
    const operator = await dedup({ key: ['id'], version: 'v' });
    const result = await operator.process([
      record({ other: 1 }),
      record({ other: 1 }),
      record(null, { key: { id: 7 } }),
      record(null, { key: { id: 7 } }),
    ]);
    assert.equal(result.records.length, 4);
    assert.deepEqual(operator.stats(), { dropped: 0, unkeyed: 2, unversioned: 2, keys: 0, evicted: 0 });
  });

  test('a version that cannot be ordered against the last one goes to the DLQ', async () => {
    const operator = await dedup({ key: ['id'], version: 'v' });
    const result = await operator.process(
      records([
        { id: 1, v: 3 },
        { id: 1, v: 'three' },
        { id: 1, v: 4 },
      ]),
    );
    assert.deepEqual(
      result.records.map((item) => item.after?.v),
      [3, 4],
    );
    assert.equal(result.dead?.length, 1);
    const letter = result.dead[0]!;
    assert.equal(letter.node, 'once');
    assert.equal(letter.field, 'v');
    assert.equal(letter.value, 'three');
    assert.deepEqual(letter.source, { name: 'orders', position: 'orders:2' });
    assert.match(
      letter.reason,
      /expected a version comparable with the last one seen for this key \(3\), got text "three"/,
    );
  });

  test('check reports a malformed field path', async () => {
    assert.deepEqual(await check(dedupOperator, { key: ['id', 'a..b'] }), [
      {
        path: ['key', 1],
        message: 'expected a field name or a dotted path such as "address.city", got "a..b"',
      },
    ]);
    assert.throws(() => dedupOperator.create({ key: ['a..b'] }, buildContext('once')), {
      code: 'CONFIG_INVALID',
      message: /node once has invalid options:\n {2}key\.0: expected a field name/,
    });
  });

  test('treats a whole number and the equal bigint as the same key', async () => {
    const operator = await build<DedupOperator>(dedupOperator, { key: ['id'] });
    assert.deepEqual(
      ids(await operator.process(records([{ id: 2 ** 64 }, { id: 2n ** 64n }, { id: 5 }, { id: 5n }]))),
      [2 ** 64, 5],
    );
  });
});
