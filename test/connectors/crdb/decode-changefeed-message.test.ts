import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ChangefeedDecodeError,
  type ChangefeedDecodeOptions,
  type ChangefeedEvent,
  type ChangefeedMessage,
  decodeChangefeedMessage,
  detectEnvelope,
} from '../../../connectors/crdb/index.js';
import { Decimal } from '../../../runtime/decimal.js';
import { parseJson } from '../../../runtime/json.js';
import type { ChangeRecord } from '../../../runtime/record.js';

const base: ChangefeedDecodeOptions = {
  sourceName: 'orders_feed',
  position: 'orders/0@17',
  ingestTimeMs: 1_700_000_000_000,
};

function change(
  message: Partial<ChangefeedMessage>,
  options: Partial<ChangefeedDecodeOptions> = {},
): ChangeRecord {
  const event: ChangefeedEvent = decodeChangefeedMessage(
    { key: null, value: null, ...message },
    { ...base, ...options },
  );
  assert.equal(event.kind, 'change');
  return event.record;
}

function decodeError(
  message: Partial<ChangefeedMessage>,
  options: Partial<ChangefeedDecodeOptions>,
  includes: string[],
): void {
  assert.throws(
    () => decodeChangefeedMessage({ key: null, value: null, ...message }, { ...base, ...options }),
    (error: unknown) => {
      assert.ok(error instanceof ChangefeedDecodeError, String(error));
      assert.equal(error.code, 'CRDB_DECODE');
      assert.equal(error.retriable, false);
      assert.equal(error.position, base.position);
      for (const text of [...includes, 'orders/0@17'])
        assert.ok(error.message.includes(text), `"${error.message}" lacks "${text}"`);
      return true;
    },
  );
}

void describe('decodeChangefeedMessage: keys', () => {
  void test('array keys are numbered without key columns, zipped with them when configured', () => {
    const message = {
      key: '["eu", 7]',
      value: '{"after": {"region": "eu", "id": 7, "total": 1}}',
      topic: 'orders',
    };
    assert.deepEqual(change(message).key, { '0': 'eu', '1': 7 });
    assert.deepEqual(change(message, { keyColumns: { orders: ['region', 'id'] } }).key, {
      region: 'eu',
      id: 7,
    });
  });

  void test('key columns are found by the table and its shorter dotted suffixes', () => {
    const value = '{"after": {"id": 7}}';
    const keyColumns = { orders: ['id'] };
    assert.deepEqual(change({ key: '[7]', value, topic: 'shop.public.orders' }, { keyColumns }).key, {
      id: 7,
    });
    assert.deepEqual(change({ key: '[7]', value, table: 'public.orders' }, { keyColumns }).key, { id: 7 });
    assert.deepEqual(change({ key: '[7]', value, topic: 'orders_archive' }, { keyColumns }).key, { '0': 7 });
    assert.deepEqual(change({ key: '[7]', value, topic: 'constructor' }, { keyColumns }).key, { '0': 7 });
  });

  void test("a column family's topic (table.family) finds its table's key columns", () => {
    const value = '{"after": {"id": 7}}';
    const keyColumns = { orders: ['id'], 'orders.secret': ['other'] };
    assert.deepEqual(change({ key: '[7]', value, topic: 'orders.primary' }, { keyColumns }).key, { id: 7 });
    assert.deepEqual(change({ key: '[7]', value, topic: 'shop.public.orders.primary' }, { keyColumns }).key, {
      id: 7,
    });
    // A family named in key_columns itself wins.
    assert.deepEqual(change({ key: '[7]', value, topic: 'orders.secret' }, { keyColumns }).key, { other: 7 });
  });

  void test('a key of the wrong length for the configured columns is a decode error naming both', () => {
    decodeError(
      { key: '["eu"]', value: '{"after": null}', topic: 'orders' },
      { keyColumns: { orders: ['region', 'id'] } },
      ['2 key values', 'region, id', 'orders', 'an array of 1 item'],
    );
  });

  void test('the key in the value (always the primary key) wins over the message key (key_column)', () => {
    const record = change(
      { key: '["dog"]', value: '{"after": {"a": 0, "b": "dog"}, "key": [0]}', topic: 'foo' },
      { keyColumns: { foo: ['a'] } },
    );
    assert.deepEqual(record.key, { a: 0 });
  });

  void test('enriched keys: objects kept, enriched-with-schema keys give their payload, primary_keys name array keys', () => {
    const value = '{"after": {"a": 0, "b": "dog"}, "op": "c", "ts_ns": 1745525261013511000}';
    assert.deepEqual(change({ key: '{"a": 0}', value }, { envelope: 'enriched' }).key, { a: 0 });
    const schemaKey =
      '{"payload": {"a": 0}, "schema": {"type": "struct", "fields": [{"field": "a", "type": "int64"}]}}';
    assert.deepEqual(change({ key: schemaKey, value }, { envelope: 'enriched' }).key, { a: 0 });
    const arrayPayloadKey =
      '{"payload": [0, "x"], "schema": {"type": "struct", "fields": [{"field": "a"}, {"field": "c"}]}}';
    assert.deepEqual(change({ key: arrayPayloadKey, value }, { envelope: 'enriched' }).key, { a: 0, c: 'x' });
    const withSource =
      '{"after": {"a": 0, "b": "dog"}, "op": "c", "source": {"table_name": "foo", "primary_keys": ["a"]}}';
    assert.deepEqual(change({ key: '[0]', value: withSource }, { envelope: 'enriched' }).key, { a: 0 });
  });

  void test('without any key, the key columns are picked from the row when their names are known', () => {
    assert.deepEqual(
      change({ value: '{"after": {"id": 3, "name": "x"}}', topic: 't' }, { keyColumns: { t: ['id'] } }).key,
      { id: 3 },
    );
    assert.equal(change({ value: '{"after": {"id": 3, "name": "x"}}', topic: 't' }).key, null);
    assert.equal(
      change({ value: '{"after": {"name": "x"}}', topic: 't' }, { keyColumns: { t: ['id'] } }).key,
      null,
    );
  });

  void test('a key that is neither an array nor an object is a decode error', () => {
    decodeError({ key: '"7"', value: '{"after": {"id": 7}}' }, {}, ['JSON array', 'the string "7"']);
  });
});

void describe('decodeChangefeedMessage: op, before, after', () => {
  void test('wrapped: after null is a delete, before an object (diff) is an update, else an insert', () => {
    assert.equal(change({ key: '[1]', value: '{"after": null}' }).op, 'delete');
    const update = change({ key: '[1]', value: '{"after": {"a": 1, "b": 2}, "before": {"a": 1, "b": 1}}' });
    assert.equal(update.op, 'update');
    assert.deepEqual(update.before, { a: 1, b: 1 });
    assert.deepEqual(update.after, { a: 1, b: 2 });
    const deleteWithDiff = change({ key: '[1]', value: '{"after": null, "before": {"a": 1, "b": 2}}' });
    assert.equal(deleteWithDiff.op, 'delete');
    assert.deepEqual(deleteWithDiff.before, { a: 1, b: 2 });
    assert.equal(deleteWithDiff.after, null);
  });

  void test('enriched: op c/u/d maps to insert/update/delete, and must agree with after', () => {
    assert.equal(
      change({ key: '{"a":0}', value: '{"after": {"a": 0}, "op": "u"}' }, { envelope: 'enriched' }).op,
      'update',
    );
    assert.equal(
      change({ key: '{"a":0}', value: '{"after": null, "op": "d"}' }, { envelope: 'enriched' }).op,
      'delete',
    );
    decodeError({ key: '{"a":0}', value: '{"after": {"a": 0}, "op": "d"}' }, { envelope: 'enriched' }, [
      'null for op "d"',
    ]);
    decodeError({ key: '{"a":0}', value: '{"after": null, "op": "c"}' }, { envelope: 'enriched' }, [
      'an object for op "c"',
      'got null',
    ]);
    decodeError({ key: '{"a":0}', value: '{"after": {"a": 0}, "op": "r"}' }, { envelope: 'enriched' }, [
      '"c", "u" or "d"',
      'the string "r"',
    ]);
  });

  void test('bare: columns beside __crdb__ are the row; only __crdb__, or null, is a delete', () => {
    const insert = change(
      { value: '{"__crdb__": {"key": [1], "updated": "1701102296662969433.0000000000"}, "id": 1, "v": "x"}' },
      { envelope: 'bare' },
    );
    assert.equal(insert.op, 'insert');
    assert.deepEqual(insert.after, { id: 1, v: 'x' });
    assert.equal(insert.source.hlc, '1701102296662969433.0000000000');
    const removed = change({ value: '{"__crdb__": {"key": [1]}}' }, { envelope: 'bare' });
    assert.equal(removed.op, 'delete');
    assert.deepEqual(removed.key, { '0': 1 });
    assert.equal(change({ key: '[1]', value: 'null' }, { envelope: 'bare' }).op, 'delete');
  });

  void test('row: an empty value is a delete of the message key; key_only: an insert with no row', () => {
    const tombstone = change({ key: '[9]', value: new Uint8Array() }, { envelope: 'row' });
    assert.equal(tombstone.op, 'delete');
    assert.deepEqual(tombstone.key, { '0': 9 });
    const keyOnly = change({ key: '[9]', value: null }, { envelope: 'key_only' });
    assert.equal(keyOnly.op, 'insert');
    assert.equal(keyOnly.after, null);
    assert.deepEqual(keyOnly.key, { '0': 9 });
    decodeError({ key: '[9]', value: '{"a": 1}' }, { envelope: 'key_only' }, [
      'an empty value in the key_only envelope',
    ]);
  });

  void test('a tombstone or key_only message without a key says nothing and is a decode error', () => {
    decodeError({ key: null, value: '' }, { envelope: 'row' }, ['a key', 'row delete']);
    decodeError({ key: null, value: null }, { envelope: 'key_only' }, ['a key', 'key_only insert']);
  });

  void test('an empty value in a wrapped or enriched feed is a decode error', () => {
    decodeError({ key: '[1]', value: '' }, {}, ['a wrapped value', 'got nothing']);
    decodeError({ key: '{"a":1}', value: null }, { envelope: 'enriched' }, [
      'an enriched value',
      'got nothing',
    ]);
  });

  void test('JSONB holding JSON null ({"__crdb_json_null__": true}) becomes null; nested objects are left alone', () => {
    const record = change({
      key: '[2]',
      value:
        '{"after": {"data": {"__crdb_json_null__": true}, "doc": {"inner": {"__crdb_json_null__": true}}, "id": 2}, "before": {"data": {"__crdb_json_null__": true}, "id": 2}}',
    });
    assert.deepEqual(record.after, { data: null, doc: { inner: { __crdb_json_null__: true } }, id: 2 });
    assert.deepEqual(record.before, { data: null, id: 2 });
  });
});

void describe('decodeChangefeedMessage: lossless values and source', () => {
  void test('INT8 beyond 2^53 is a bigint, DECIMAL keeps its digits, in keys too', () => {
    const record = change({
      key: '[9223372036854775807]',
      value: '{"after": {"id": 9223372036854775807, "price": 26.30, "ratio": 0.1, "big": 1e400}}',
    });
    assert.deepEqual(record.key, { '0': 9223372036854775807n });
    assert.equal(record.after?.id, 9223372036854775807n);
    assert.deepEqual(record.after?.price, new Decimal('26.30'));
    assert.equal(record.after?.ratio, 0.1);
    assert.deepEqual(record.after?.big, new Decimal('1e400'));
  });

  void test('wrapped: hlc is updated, else mvcc_timestamp; sourceTimeMs is its wall time', () => {
    const both = change({
      key: '[1]',
      value:
        '{"after": {"a": 1}, "updated": "1701102311425045162.0000000001", "mvcc_timestamp": "1701102305519323705.0000000000"}',
    });
    assert.equal(both.source.hlc, '1701102311425045162.0000000001');
    assert.equal(both.source.mvcc_timestamp, '1701102305519323705.0000000000');
    assert.equal(both.sourceTimeMs, 1701102311425);
    const mvccOnly = change({
      key: '[1]',
      value: '{"after": {"a": 1}, "mvcc_timestamp": "1701102305519323705.0000000000?"}',
    });
    assert.equal(mvccOnly.source.hlc, '1701102305519323705.0000000000');
    assert.equal(mvccOnly.sourceTimeMs, 1701102305519);
    assert.equal(change({ key: '[1]', value: '{"after": {"a": 1}}' }).sourceTimeMs, null);
  });

  void test('a malformed HLC is a decode error naming the field', () => {
    decodeError({ key: '[1]', value: '{"after": {"a": 1}, "updated": "yesterday"}' }, {}, [
      '"updated" of the wrapped value',
      'the string "yesterday"',
    ]);
    decodeError({ key: '[1]', value: '{"after": {"a": 1}, "updated": 17}' }, {}, [
      '"updated"',
      'the number 17',
    ]);
  });

  void test('enriched: the source block is kept, ts_ns as bigint, table as database.schema.table', () => {
    const record = change(
      {
        key: '{"id": 5}',
        value:
          '{"after": {"id": 5}, "op": "c", "ts_ns": 12, "source": {"cluster_id": "c-1", "job_id": "1072079179268751361", "database_name": "shop",' +
          ' "schema_name": "public", "table_name": "orders", "primary_keys": ["id"], "ts_ns": 1747243394200039000,' +
          ' "ts_hlc": "1747243394200039000.0000000000", "crdb_internal_table_id": 104, "name": "not a source name", "hlc": "not the hlc"}}',
        topic: 'orders',
      },
      { envelope: 'enriched' },
    );
    assert.equal(record.source.table, 'shop.public.orders');
    assert.equal(record.source.name, 'orders_feed');
    assert.equal(record.source.cluster_id, 'c-1');
    assert.equal(record.source.job_id, '1072079179268751361');
    assert.equal(record.source.ts_ns, 1747243394200039000n);
    assert.equal(record.source.processed_ts_ns, 12n);
    assert.equal(record.source.hlc, '1747243394200039000.0000000000');
    assert.deepEqual(record.source.primary_keys, ['id']);
    assert.equal(record.source.crdb_internal_table_id, 104);
    assert.equal(record.sourceTimeMs, 1747243394200);
  });

  void test('table: the transport table, else topic in the value, else the Kafka topic', () => {
    assert.equal(
      change({
        key: '[1]',
        value: '{"after": {"a": 1}, "topic": "in_value"}',
        topic: 'kafka',
        table: 'sinkless',
      }).source.table,
      'sinkless',
    );
    const inValue = change({ key: '[1]', value: '{"after": {"a": 1}, "topic": "in_value"}', topic: 'kafka' });
    assert.equal(inValue.source.table, 'in_value');
    assert.equal(inValue.source.topic, 'in_value');
    assert.equal(change({ key: '[1]', value: '{"after": {"a": 1}}', topic: 'kafka' }).source.table, 'kafka');
    assert.equal(change({ key: '[1]', value: '{"after": {"a": 1}}' }).source.table, undefined);
  });

  void test('record fields: position, ingest time and headers come from the caller', () => {
    const record = change({
      key: '[1]',
      value: '{"after": {"a": 1}}',
      headers: { traceparent: '00-abc-def-01' },
    });
    assert.equal(record.source.position, 'orders/0@17');
    assert.equal(record.ingestTimeMs, 1_700_000_000_000);
    assert.deepEqual(record.headers, { traceparent: '00-abc-def-01' });
  });
});

void describe('decodeChangefeedMessage: resolved timestamps', () => {
  void test('wrapped and enriched resolve at the top level, the others under __crdb__', () => {
    const top = '{"resolved":"1590611959605806000.0000000000"}';
    const nested = '{"__crdb__":{"resolved":"1532379887442299001.0000000000"}}';
    for (const envelope of ['wrapped', 'enriched', 'auto'] as const) {
      const event = decodeChangefeedMessage({ key: null, value: top }, { ...base, envelope });
      assert.equal(event.kind === 'resolved' && event.hlc.toString(), '1590611959605806000.0000000000');
    }
    for (const envelope of ['bare', 'row', 'key_only', 'auto'] as const) {
      const event = decodeChangefeedMessage({ key: null, value: nested }, { ...base, envelope });
      assert.equal(event.kind === 'resolved' && event.hlc.toString(), '1532379887442299001.0000000000');
    }
  });

  void test('a row-envelope table whose only column is "resolved" stays a row', () => {
    const record = change(
      { key: '[1]', value: '{"resolved":"1590611959605806000.0000000000"}' },
      { envelope: 'row' },
    );
    assert.deepEqual(record.after, { resolved: '1590611959605806000.0000000000' });
  });

  void test('a resolved message with a malformed timestamp is a decode error', () => {
    decodeError({ value: '{"resolved": 1590611959605806000}' }, {}, [
      '"resolved"',
      'HLC',
      'the number 1590611959605806000',
    ]);
  });
});

void describe('decodeChangefeedMessage: malformed input', () => {
  void test('bytes that are not UTF-8, text that is not JSON, and JSON of the wrong shape', () => {
    decodeError({ key: '[1]', value: new Uint8Array([0x7b, 0xff, 0x7d]) }, {}, ['UTF-8', '3 bytes']);
    decodeError({ key: '[1]', value: '{"after": ' }, {}, ['the value to be JSON', '{\\"after\\": ']);
    decodeError({ key: '[1', value: '{"after": null}' }, {}, ['the key to be JSON']);
    decodeError({ key: '[1]', value: '[1, 2]' }, {}, ['a wrapped value', 'an array of 2 items']);
    decodeError({ key: '[1]', value: '{"before": null}' }, {}, [
      '"after" of the wrapped value',
      'got nothing',
    ]);
    decodeError({ key: '[1]', value: '{"after": 5}' }, {}, [
      '"after" of the wrapped value to be an object or null',
      'the number 5',
    ]);
    decodeError({ key: '[1]', value: '{"after": {}, "topic": 5}' }, {}, ['"topic"', 'a string']);
    decodeError({ key: '[1]', value: '"x"' }, { envelope: 'row' }, ['a row value']);
    decodeError(
      { key: '{"a": 0}', value: '{"after": {"a": 0}, "op": "c", "ts_ns": 1.5}' },
      { envelope: 'enriched' },
      ['"ts_ns"', 'an integer'],
    );
    decodeError(
      { key: '{"a": 0}', value: '{"after": {"a": 0}, "op": "c", "source": {"primary_keys": "a"}}' },
      { envelope: 'enriched' },
      ['primary_keys'],
    );
  });
});

void describe('detectEnvelope (envelope: auto)', () => {
  const detect = (text: string) => detectEnvelope(parseJson(text));

  void test('tells each envelope from its shape', () => {
    assert.equal(detectEnvelope(undefined), 'row');
    assert.equal(detect('null'), 'row');
    assert.equal(
      detect('{"after": {"a": 1}, "before": null, "key": [1], "topic": "t", "updated": "1.0000000000"}'),
      'wrapped',
    );
    assert.equal(detect('{"after": null}'), 'wrapped');
    assert.equal(
      detect('{"after": {"a": 1}, "op": "c", "ts_ns": 1745525261013511000, "source": {}}'),
      'enriched',
    );
    assert.equal(detect('{"payload": {"after": null, "op": "d"}, "schema": {"type": "struct"}}'), 'enriched');
    assert.equal(detect('{"__crdb__": {"updated": "1.0000000000"}, "a": 1}'), 'bare');
    assert.equal(detect('{"a": 1, "b": "x"}'), 'row');
  });

  void test('columns that only look like envelope fields by name fall through to row by their types', () => {
    assert.equal(detect('{"after": 5, "before": "x"}'), 'row');
    assert.equal(detect('{"after": {"a": 1}, "op": "x"}'), 'row');
    assert.equal(detect('{"after": {"a": 1}, "extra": 1}'), 'row');
    assert.equal(detect('{"after": {"a": 1}, "updated": "soon", "extra": 1}'), 'row');
    assert.equal(detect('{"after": 1, "updated": "1.0000000000", "extra": 1}'), 'row');
  });

  void test('a wrapped message with a field a later CockroachDB adds still reads as wrapped by its HLC', () => {
    const text = '{"after": {"a": 1}, "updated": "1747243394200039000.0000000000", "newfield": 1}';
    assert.equal(detect(text), 'wrapped');
    assert.equal(detect('{"after": null, "mvcc_timestamp": "1.0000000000", "key": [1], "extra": {}}'), 'wrapped');
    const record = change({ key: '[1]', value: text }, { envelope: 'auto' });
    assert.deepEqual(record.after, { a: 1 });
    assert.equal(record.source.hlc, '1747243394200039000.0000000000');
    assert.equal(detect('{"payload": [1], "schema": {}}'), 'row');
  });

  void test('documented ambiguity: a row whose columns are wrapped fields of the right types reads as wrapped', () => {
    assert.equal(detect('{"after": {"nested": true}, "topic": "a column"}'), 'wrapped');
    const record = change(
      { key: '[1]', value: '{"after": {"nested": true}, "topic": "a column"}' },
      { envelope: 'row' },
    );
    assert.deepEqual(record.after, { after: { nested: true }, topic: 'a column' });
  });
});
