import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ChangefeedDecodeError,
  type ChangefeedDecodeOptions,
  decodeSinklessRow,
} from '../../../connectors/crdb/index.js';

const options: ChangefeedDecodeOptions = {
  sourceName: 'core_feed',
  position: 'sinkless:12',
  ingestTimeMs: 5,
};
const bytes = (text: string) => Buffer.from(text, 'utf8');

void describe('decodeSinklessRow', () => {
  void test('a row with a table is a change of that table, key and value as BYTES', () => {
    const event = decodeSinklessRow(
      { table: 'cdc_test', key: bytes('[0]'), value: bytes('{"after": {"a": 0}}') },
      { ...options, keyColumns: { cdc_test: ['a'] } },
    );
    assert.ok(event.kind === 'change');
    assert.equal(event.record.op, 'insert');
    assert.equal(event.record.source.table, 'cdc_test');
    assert.deepEqual(event.record.key, { a: 0 });
    assert.deepEqual(event.record.after, { a: 0 });
    assert.equal(event.record.source.position, 'sinkless:12');
  });

  void test('a row whose table and key are NULL is a resolved timestamp, in either form, whatever the envelope', () => {
    for (const envelope of ['wrapped', 'bare', 'row', 'key_only', 'enriched'] as const) {
      for (const value of [
        '{"resolved":"1549591174801796000.0000000000"}',
        '{"__crdb__":{"resolved":"1549591174801796000.0000000000"}}',
      ]) {
        const event = decodeSinklessRow(
          { table: null, key: null, value: bytes(value) },
          { ...options, envelope },
        );
        assert.equal(
          event.kind === 'resolved' && event.hlc.toString(),
          '1549591174801796000.0000000000',
          `${envelope} ${value}`,
        );
      }
    }
  });

  void test('key_only and row deletes arrive with an empty value', () => {
    const keyOnly = decodeSinklessRow(
      { table: 't', key: bytes('[4]'), value: new Uint8Array() },
      { ...options, envelope: 'key_only' },
    );
    assert.ok(keyOnly.kind === 'change');
    assert.equal(keyOnly.record.op, 'insert');
    const removed = decodeSinklessRow(
      { table: 't', key: bytes('[4]'), value: null },
      { ...options, envelope: 'row' },
    );
    assert.ok(removed.kind === 'change');
    assert.equal(removed.record.op, 'delete');
    assert.deepEqual(removed.record.key, { '0': 4 });
  });

  void test('a NULL table without a resolved value is a decode error', () => {
    for (const row of [
      { table: null, key: null, value: bytes('{"after": {"a": 0}}') },
      { table: null, key: bytes('[0]'), value: bytes('{"resolved":"1549591174801796000.0000000000"}') },
      { table: null, key: null, value: null },
    ]) {
      assert.throws(
        () => decodeSinklessRow(row, options),
        (error: unknown) =>
          error instanceof ChangefeedDecodeError &&
          /table is NULL/.test(error.message) &&
          error.message.includes('sinkless:12'),
      );
    }
  });
});
