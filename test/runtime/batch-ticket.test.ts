import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BatchTicket } from '../../runtime/batch-ticket.js';

function ticket(): { ticket: BatchTicket; done: (number | undefined)[]; stalls: () => number } {
  const done: (number | undefined)[] = [];
  let stalls = 0;
  const made = new BatchTicket(
    10,
    (handled) => done.push(handled),
    () => stalls++,
  );
  return { ticket: made, done, stalls: () => stalls };
}

void describe('BatchTicket: parked pieces', () => {
  void test('is stalled once every outstanding piece is parked, and only then', () => {
    const { ticket: made, done, stalls } = ticket();
    made.retain(2);
    made.release();
    assert.equal(made.stalled, false, 'nothing parked');
    made.park();
    assert.equal(made.stalled, false, 'one of two pieces parked');
    assert.equal(stalls(), 0);
    made.park();
    assert.equal(made.stalled, true);
    assert.equal(stalls(), 1, 'told once when it became stalled');
    assert.deepEqual(done, []);
  });

  void test('releasing the last moving piece while the others are parked reports the stall', () => {
    const { ticket: made, stalls } = ticket();
    made.retain();
    made.park();
    assert.equal(stalls(), 0, 'the own hold still moves');
    made.release();
    assert.equal(made.stalled, true);
    assert.equal(stalls(), 1);
  });

  void test('unparked pieces complete the ticket when released', () => {
    const { ticket: made, done, stalls } = ticket();
    made.retain(2);
    made.release();
    made.park();
    made.park();
    made.unpark();
    assert.equal(made.stalled, false);
    made.release();
    assert.equal(made.stalled, true, 'the remaining piece is parked');
    assert.equal(stalls(), 2);
    made.unpark();
    made.release();
    assert.deepEqual(done, [undefined]);
    assert.equal(made.done, true);
    assert.equal(made.stalled, false, 'a completed ticket is not stalled');
  });

  void test('refuses to park more pieces than it holds, or to unpark what is not parked', () => {
    const { ticket: made } = ticket();
    assert.throws(() => made.unpark(), RangeError);
    made.park();
    assert.throws(() => made.park(), RangeError);
  });

  void test('works without a stall callback', () => {
    const made = new BatchTicket(0, () => undefined);
    made.park();
    assert.equal(made.stalled, true);
  });
});
