import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ChangefeedDecodeError,
  type ChangefeedDecodeOptions,
  decodeWebhookBody,
} from '../../../connectors/crdb/index.js';
import { Decimal } from '../../../runtime/decimal.js';

const options: ChangefeedDecodeOptions = {
  sourceName: 'vehicles_hook',
  position: 'webhook:41',
  ingestTimeMs: 5,
};

function rejects(body: string | Uint8Array, includes: string[]): void {
  assert.throws(
    () => decodeWebhookBody(body, options),
    (error: unknown) => {
      assert.ok(error instanceof ChangefeedDecodeError, String(error));
      for (const text of [...includes, 'webhook:41'])
        assert.ok(error.message.includes(text), `"${error.message}" lacks "${text}"`);
      return true;
    },
  );
}

void describe('decodeWebhookBody', () => {
  void test('a batch gives one event per message, in order, each with its key, topic and own position', () => {
    const body = JSON.stringify({
      payload: [
        { after: { id: 1, price: 1 }, key: [1], topic: 'orders', updated: '1629813621680097993.0000000000' },
        { after: null, key: [2], topic: 'orders', updated: '1629813621680097994.0000000000' },
        {
          after: { id: 3 },
          before: { id: 3 },
          key: [3],
          topic: 'items',
          updated: '1629813621680097995.0000000000',
        },
      ],
      length: 3,
    }).replace('"price":1', '"price":1.10');
    const events = decodeWebhookBody(
      new TextEncoder().encode(body),
      { ...options, keyColumns: { orders: ['id'] } },
      { authorization: 'kept' },
    );
    assert.deepEqual(
      events.map(
        (event) =>
          event.kind === 'change' && [
            event.record.op,
            event.record.source.table,
            event.record.source.position,
            event.record.key,
          ],
      ),
      [
        ['insert', 'orders', 'webhook:41#0', { id: 1 }],
        ['delete', 'orders', 'webhook:41#1', { id: 2 }],
        ['update', 'items', 'webhook:41#2', { '0': 3 }],
      ],
    );
    const first = events[0]!;
    assert.ok(first.kind === 'change');
    assert.deepEqual(first.record.after?.price, new Decimal('1.10'));
    assert.deepEqual(first.record.headers, { authorization: 'kept' });
    assert.equal(first.record.source.hlc, '1629813621680097993.0000000000');
  });

  void test('a resolved body gives one resolved event, in either form', () => {
    for (const body of [
      '{"resolved":"1590611959605806000.0000000000"}',
      '{"__crdb__":{"resolved":"1590611959605806000.0000000000"}}',
    ]) {
      const events = decodeWebhookBody(body, options);
      assert.equal(events.length, 1);
      assert.equal(
        events[0]!.kind === 'resolved' && events[0]!.hlc.toString(),
        '1590611959605806000.0000000000',
      );
    }
  });

  void test('an empty batch gives no events', () => {
    assert.deepEqual(decodeWebhookBody('{"payload":[],"length":0}', options), []);
  });

  void test('length must equal the number of messages', () => {
    rejects('{"payload":[{"after":null,"key":[1]}],"length":2}', ['"length"', '1 messages', 'the number 2']);
    rejects('{"payload":[{"after":null,"key":[1]}]}', ['"length"', 'got nothing']);
  });

  void test('anything else is a decode error; a bad message fails the whole body with its own position', () => {
    rejects('{"after": {"a": 1}}', ['{"payload": [...], "length": N}', 'an object with keys "after"']);
    rejects('', ['webhook body', 'got nothing']);
    rejects('[]', ['webhook body', 'an array of 0 items']);
    rejects('{"payload":[{"after":5,"key":[1]}],"length":1}', ['"after"', 'webhook:41#0']);
  });
});
