import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '../../runtime/decimal.js';
import type { ChangeRecord, Row } from '../../runtime/record.js';
import { SchemaTracker, valueKind } from '../../runtime/schema-drift.js';

function change(after: Row | null, table = 'public.orders', before: Row | null = null): ChangeRecord {
  return {
    op: after === null ? 'delete' : 'insert',
    key: null,
    before,
    after,
    source: { name: 'pg', position: '0/1', table },
    sourceTimeMs: null,
    ingestTimeMs: 0,
    headers: {},
  };
}

describe('SchemaTracker', () => {
  test('the first record of a stream sets its baseline and reports nothing', () => {
    const tracker = new SchemaTracker();
    assert.deepEqual(tracker.observe(change({ id: 1, amount: new Decimal('2.50'), note: null })), []);
    assert.deepEqual(
      tracker.columns('public.orders'),
      new Map([
        ['id', 'integer'],
        ['amount', 'decimal'],
        ['note', 'null'],
      ]),
    );
    assert.equal(tracker.columns('other'), undefined);
  });

  test('reports an added column once', () => {
    const tracker = new SchemaTracker();
    tracker.observe(change({ id: 1 }));
    assert.deepEqual(tracker.observe(change({ id: 2, email: 'a@b' })), [
      { kind: 'column_added', stream: 'public.orders', column: 'email', to: 'string' },
    ]);
    assert.deepEqual(tracker.observe(change({ id: 3, email: 'c@d' })), []);
  });

  test('reports a type change once per new kind; nulls never change a type and integers fit decimals', () => {
    const tracker = new SchemaTracker();
    tracker.observe(change({ qty: 1, note: null }));
    assert.deepEqual(tracker.observe(change({ qty: null, note: 'first text' })), []);
    assert.deepEqual(tracker.observe(change({ qty: 2.5, note: 'x' })), [
      { kind: 'type_changed', stream: 'public.orders', column: 'qty', from: 'integer', to: 'decimal' },
    ]);
    assert.deepEqual(tracker.observe(change({ qty: 3, note: 'x' })), []);
    assert.deepEqual(tracker.observe(change({ qty: new Decimal('3.10'), note: 'x' })), []);
    assert.deepEqual(tracker.observe(change({ qty: 'three', note: 'x' })), [
      { kind: 'type_changed', stream: 'public.orders', column: 'qty', from: 'decimal', to: 'string' },
    ]);
    assert.deepEqual(tracker.observe(change({ qty: 4.5, note: 'x' })), []);
  });

  test('a column counts as removed only after `removedAfter` consecutive records without it', () => {
    const tracker = new SchemaTracker({ removedAfter: 3 });
    tracker.observe(change({ id: 1, nickname: 'a' }));
    assert.deepEqual(tracker.observe(change({ id: 2 })), []);
    assert.deepEqual(tracker.observe(change({ id: 3 })), []);
    assert.deepEqual(tracker.observe(change({ id: 4, nickname: 'sparse but present' })), []);
    assert.deepEqual(tracker.observe(change({ id: 5 })), []);
    assert.deepEqual(tracker.observe(change({ id: 6 })), []);
    assert.deepEqual(tracker.observe(change({ id: 7 })), [
      { kind: 'column_removed', stream: 'public.orders', column: 'nickname', from: 'string' },
    ]);
    assert.deepEqual(tracker.observe(change({ id: 8 })), []);
    assert.deepEqual([...tracker.columns('public.orders')!.keys()], ['id']);
    assert.deepEqual(tracker.observe(change({ id: 9, nickname: 'back' })), [
      { kind: 'column_added', stream: 'public.orders', column: 'nickname', to: 'string' },
    ]);
  });

  test('a column present with a null value is not missing', () => {
    const tracker = new SchemaTracker({ removedAfter: 1 });
    tracker.observe(change({ id: 1, note: 'a' }));
    assert.deepEqual(tracker.observe(change({ id: 2, note: null })), []);
  });

  test('streams are tracked apart, by table or else by source name', () => {
    const tracker = new SchemaTracker();
    tracker.observe(change({ id: 1 }, 'a'));
    tracker.observe(change({ name: 'x' }, 'b'));
    assert.deepEqual(tracker.observe(change({ id: 2 }, 'a')), []);
    const untabled: ChangeRecord = { ...change({ v: 1 }), source: { name: 'events', position: '1' } };
    tracker.observe(untabled);
    assert.deepEqual(tracker.columns('events'), new Map([['v', 'integer']]));
    assert.equal(SchemaTracker.streamOf(untabled), 'events');
  });

  test('deletes show their before image; a delete without one changes nothing', () => {
    const tracker = new SchemaTracker({ removedAfter: 1 });
    tracker.observe(change({ id: 1, note: 'a' }));
    assert.deepEqual(tracker.observe(change(null)), []);
    assert.deepEqual(tracker.observe(change(null, 'public.orders', { id: 1 })), [
      { kind: 'column_removed', stream: 'public.orders', column: 'note', from: 'string' },
    ]);
  });

  test('memory is bounded by maxColumns and maxStreams; what is beyond is counted', () => {
    const tracker = new SchemaTracker({ maxColumns: 2, maxStreams: 1 });
    tracker.observe(change({ a: 1, b: 2, c: 3 }));
    assert.deepEqual(tracker.observe(change({ a: 1, b: 2, d: 4 })), []);
    assert.deepEqual(tracker.observe(change({ z: 1 }, 'second')), []);
    assert.equal(tracker.columns('second'), undefined);
    assert.deepEqual(tracker.stats(), { streams: 1, untrackedColumns: 2, untrackedStreams: 1 });
  });

  test('describes changes in words and names every value kind', () => {
    assert.equal(
      SchemaTracker.describe({
        kind: 'type_changed',
        stream: 's',
        column: 'c',
        from: 'integer',
        to: 'string',
      }),
      's: column c changed from integer to string',
    );
    assert.equal(
      SchemaTracker.describe({ kind: 'column_added', stream: 's', column: 'c', to: 'null' }),
      's: column c added (null)',
    );
    assert.equal(
      SchemaTracker.describe({ kind: 'column_removed', stream: 's', column: 'c', from: 'bytes' }),
      's: column c removed (was bytes)',
    );
    assert.deepEqual(
      [null, true, 1, 2n, 1.5, new Decimal('1'), 'x', new Date(0), new Uint8Array(1), [], {}].map((value) =>
        valueKind(value),
      ),
      [
        'null',
        'boolean',
        'integer',
        'integer',
        'decimal',
        'decimal',
        'string',
        'timestamp',
        'bytes',
        'array',
        'object',
      ],
    );
    assert.throws(() => new SchemaTracker({ removedAfter: 0 }), RangeError);
  });
});
