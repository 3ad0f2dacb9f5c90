import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Decimal } from '../../../runtime/decimal.js';
import type { OperatorResult } from '../../../runtime/operator.js';
import type { ChangeRecord, Row } from '../../../runtime/record.js';
import { RecordCodec } from '../../../runtime/record-codec.js';
import { type WireResult, fromWireResult, toWireResult } from '../../../runtime/worker-protocol.js';

const engineCodec = new RecordCodec();
const threadCodec = new RecordCodec();

function order(id: number): ChangeRecord {
  return {
    op: 'insert',
    key: { id },
    before: null,
    after: {
      id,
      email: `user${id}@example.com`,
      amount: new Decimal('26.30'),
      at: new Date(1_700_000_000_000 + id),
    },
    source: { name: 'orders', position: `orders:${id}` },
    sourceTimeMs: null,
    ingestTimeMs: 1_700_000_000_000,
    headers: { traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` },
  };
}

/**
 * Runs `operator` as a worker thread would: on the decoded batch, its result encoded back; returns what crossed
 * and the result the engine rebuilds against its own input.
 */
function crossing(
  input: ChangeRecord[],
  operator: (records: ChangeRecord[]) => ChangeRecord[],
): { wire: WireResult; result: OperatorResult; onThread: ChangeRecord[] } {
  const threadInput = threadCodec.decode<ChangeRecord[]>(engineCodec.encode(input));
  const onThread = operator(threadInput);
  const wire = engineCodec.decode<WireResult>(
    threadCodec.encode(toWireResult({ records: onThread }, threadInput)),
  );
  return { wire, result: fromWireResult(wire, input), onThread };
}

/** The records as the thread's codec would give them whole, field order included. */
function asSentWhole(records: ChangeRecord[]): ChangeRecord[] {
  return engineCodec.decode<ChangeRecord[]>(threadCodec.encode(records));
}

function assertSameRecords(actual: ChangeRecord[], expected: ChangeRecord[]): void {
  assert.deepEqual(actual, expected);
  actual.forEach((record, index) =>
    assert.deepEqual(
      Object.keys(record.after ?? {}),
      Object.keys(expected[index]!.after ?? {}),
      `record ${index}`,
    ),
  );
}

describe('worker results on the wire', () => {
  test('records a node passed on unchanged come back as their indexes, and are the engine’s own objects', () => {
    const input = [order(1), order(2), order(3)];
    const { wire, result } = crossing(input, (records) => records.filter((record) => record.key!.id !== 2));
    assert.deepEqual(Array.from(wire.kept!), [0, 2]);
    assert.equal(wire.records, undefined);
    assert.equal(result.records[0], input[0]);
    assert.equal(result.records[1], input[2]);
  });

  test('a transform changing, adding and dropping fields crosses back as those changes and rebuilds the same records', () => {
    const input = [order(1), order(2)];
    const { wire, result, onThread } = crossing(input, (records) =>
      records.map((record) => {
        const { email, ...rest } = record.after!;
        return {
          ...record,
          after: { ...rest, id: (rest.id as number) * 10, email_hash: `#${email as string}` },
        };
      }),
    );
    assert.equal(wire.records, undefined);
    assert.deepEqual(wire.patched, [
      { set: { id: 10, email_hash: '#user1@example.com' }, unset: ['email'] },
      { set: { id: 20, email_hash: '#user2@example.com' }, unset: ['email'] },
    ]);
    assertSameRecords(result.records, asSentWhole(onThread));
    assert.deepEqual(Object.keys(result.records[0]!.after!), ['id', 'amount', 'at', 'email_hash']);
    // Values the transform did not touch are the engine's own (exact decimal and date included).
    assert.equal(result.records[1]!.after!.amount, input[1]!.after!.amount);
    assert.equal(result.records[1]!.after!.at, input[1]!.after!.at);
    assert.equal(result.records[0]!.headers, input[0]!.headers);
  });

  test('records that are not field changes of the input at their index cross back whole', () => {
    const input = [order(1), order(2)];
    const cases: [string, (records: ChangeRecord[]) => ChangeRecord[]][] = [
      ['fields reordered', (records) => records.map((r) => ({ ...r, after: { email: 'x', ...r.after } }))],
      ['key changed', (records) => records.map((r) => ({ ...r, key: { id: 7 } }))],
      ['operation changed', (records) => records.map((r) => ({ ...r, op: 'update' as const }))],
      ['a field beyond the record type', (records) => records.map((r) => ({ ...r, extra: 1 }))],
      [
        'one record made into two',
        (records) => records.flatMap((r) => [{ ...r }, { ...r, after: { id: 0 } }]),
      ],
      ['records swapped', (records) => [{ ...records[1]! }, { ...records[0]! }]],
      ['a delete made', (records) => records.map((r) => ({ ...r, op: 'delete' as const, after: null }))],
    ];
    for (const [name, operator] of cases) {
      const { wire, result, onThread } = crossing(input, operator);
      assert.equal(wire.patched, undefined, name);
      assert.ok(wire.records !== undefined, name);
      assertSameRecords(result.records, asSentWhole(onThread));
    }
  });

  test('a `__proto__` field of the engine’s record stays an own field, never the prototype', () => {
    const input = [order(1)];
    const after: Row = JSON.parse('{"id": 1, "__proto__": {"polluted": true}}') as Row;
    input[0] = { ...input[0]!, after };
    const { result } = crossing(input, (records) =>
      records.map((record) => ({ ...record, after: { ...record.after, id: 2 } })),
    );
    const rebuilt = result.records[0]!.after!;
    assert.equal(Object.getPrototypeOf(rebuilt), Object.prototype);
    assert.equal(rebuilt.id, 2);
    assert.deepEqual(Object.getOwnPropertyDescriptor(rebuilt, '__proto__')?.value, { polluted: true });
  });
});
