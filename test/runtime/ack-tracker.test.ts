import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AckTracker } from '../../runtime/ack-tracker.js';

describe('AckTracker', () => {
  test('nothing is committable before the first batch is acknowledged', () => {
    const tracker = new AckTracker<number>();
    tracker.track(10);
    tracker.track(20);
    assert.equal(tracker.ack(1), undefined);
    assert.equal(tracker.committable, undefined);
    assert.equal(tracker.pending, 2);
  });

  test('out-of-order acknowledgements commit only the contiguous prefix', () => {
    const tracker = new AckTracker<number>(5);
    const ids = [10, 20, 30, 40].map((position) => tracker.track(position));
    assert.equal(tracker.ack(ids[2]!), undefined);
    assert.equal(tracker.committable, 5);
    assert.equal(tracker.ack(ids[0]!), 10);
    assert.equal(tracker.ack(ids[1]!), 30);
    assert.equal(tracker.pending, 1);
    assert.equal(tracker.ack(ids[3]!), 40);
    assert.equal(tracker.pending, 0);
  });

  test('a partial acknowledgement commits its position and the prefix never passes it', () => {
    const tracker = new AckTracker<number>();
    const ids = [10, 20, 30].map((position) => tracker.track(position));
    tracker.ack(ids[2]!);
    assert.equal(tracker.ack(ids[1]!, 15), undefined);
    assert.equal(tracker.ack(ids[0]!), 15);
    assert.equal(tracker.committable, 15);
  });

  test('advancing a batch moves the committable position only when it ends the acknowledged prefix', () => {
    const tracker = new AckTracker<number>();
    const ids = [10, 20, 30].map((position) => tracker.track(position));
    // Not yet acknowledged: the new position waits for the acknowledgement.
    assert.equal(tracker.advance(ids[0]!, 12), undefined);
    assert.equal(tracker.ack(ids[0]!), 12);
    // Already committed and the end of the prefix: committable moves at once.
    assert.equal(tracker.advance(ids[0]!, 15), 15);
    assert.equal(tracker.committable, 15);
    assert.equal(tracker.ack(ids[1]!), 20);
    // No longer the end of the prefix: the later batch's position stands.
    assert.equal(tracker.advance(ids[0]!, 18), undefined);
    assert.equal(tracker.committable, 20);
    assert.throws(() => tracker.advance(99, 1), RangeError);
  });

  test('a partially acknowledged batch keeps its position when advanced', () => {
    const tracker = new AckTracker<number>();
    const id = tracker.track(10);
    assert.equal(tracker.ack(id, 5), 5);
    assert.equal(tracker.advance(id, 12), undefined);
    assert.equal(tracker.committable, 5);
  });

  test('acknowledging twice or an unknown id throws', () => {
    const tracker = new AckTracker<number>();
    const id = tracker.track(1);
    tracker.ack(id);
    assert.throws(() => tracker.ack(id), RangeError);
    assert.throws(() => tracker.ack(99), RangeError);
  });

  test('stays correct across many batches (entries are compacted)', () => {
    const tracker = new AckTracker<number>();
    const ids: number[] = [];
    for (let position = 1; position <= 5000; position++) ids.push(tracker.track(position));
    for (let index = ids.length - 1; index >= 1; index--) tracker.ack(ids[index]!);
    assert.equal(tracker.committable, undefined);
    assert.equal(tracker.ack(ids[0]!), 5000);
    const next = tracker.track(5001);
    assert.equal(tracker.ack(next), 5001);
  });
});
