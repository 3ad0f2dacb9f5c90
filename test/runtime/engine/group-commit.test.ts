import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Subject } from 'rxjs';
import { BatchTicket } from '../../../runtime/batch-ticket.js';
import { groupCommit } from '../../../runtime/group-commit.js';
import type { MicroBatch } from '../../../runtime/micro-batch.js';
import { ids, makeRecord } from './fixtures.js';

/** A micro-batch of `count` records of 10 bytes each. */
function batch(first: number, count: number): MicroBatch {
  const records = Array.from({ length: count }, (_, index) => makeRecord('s', first + index));
  return { records, tickets: [new BatchTicket(10, () => undefined)], bytes: count * 10 };
}

const watermark = (value: string): MicroBatch => ({
  records: [],
  tickets: [new BatchTicket(0, () => undefined)],
  bytes: 0,
  watermark: { source: 's', value },
});

/** A sink whose writes finish when the test says so, recording what each write held. */
class HeldWrites {
  readonly writes: MicroBatch[] = [];
  readonly #finish: (() => void)[] = [];
  running = 0;
  peak = 0;

  write = (written: MicroBatch): Promise<number> => {
    this.writes.push(written);
    this.running++;
    this.peak = Math.max(this.peak, this.running);
    return new Promise((resolve) =>
      this.#finish.push(() => {
        this.running--;
        resolve(written.records.length);
      }),
    );
  };

  /** Finishes the oldest unfinished write and lets the operator start the next. */
  async finishOne(): Promise<void> {
    this.#finish.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function run(maxInFlight: number, maxJoinedRecords: number, maxBytes = 1_000_000) {
  const input = new Subject<MicroBatch>();
  const sink = new HeldWrites();
  const outputs: number[] = [];
  let completed = false;
  input.pipe(groupCommit({ maxInFlight, maxJoinedRecords, maxBytes }, sink.write)).subscribe({
    next: (value) => outputs.push(value),
    complete: () => (completed = true),
  });
  return { input, sink, outputs, completed: () => completed };
}

void describe('groupCommit', () => {
  void test('a sink that keeps up writes each micro-batch alone', async () => {
    const { input, sink, outputs, completed } = run(1, 100);
    for (let index = 0; index < 3; index++) {
      input.next(batch(index * 10, 10));
      await sink.finishOne();
    }
    input.complete();
    assert.deepEqual(
      sink.writes.map((write) => ids(write.records)),
      [0, 10, 20].map((first) => Array.from({ length: 10 }, (_, index) => first + index)),
    );
    assert.deepEqual(outputs, [10, 10, 10]);
    assert.ok(completed());
  });

  void test('batches that waited for a busy sink are joined whole, in order, up to the limit', async () => {
    const { input, sink, outputs, completed } = run(1, 25);
    const waiting = [batch(0, 10), batch(10, 10), batch(20, 10), batch(30, 10), batch(40, 10), batch(50, 10)];
    for (const next of waiting) input.next(next);
    input.complete();
    assert.equal(sink.writes.length, 1, 'only the first batch started: the sink is busy');
    while (sink.running > 0) await sink.finishOne();
    // 10 alone (the sink was idle), then 20 + 20 (a third batch would pass 25), then the last 10.
    assert.deepEqual(
      sink.writes.map((write) => write.records.length),
      [10, 20, 20, 10],
    );
    assert.deepEqual(
      sink.writes.flatMap((write) => ids(write.records)),
      Array.from({ length: 60 }, (_, index) => index),
    );
    assert.deepEqual(
      sink.writes.map((write) => write.tickets),
      [
        [waiting[0]!.tickets[0]],
        [waiting[1]!.tickets[0], waiting[2]!.tickets[0]],
        [waiting[3]!.tickets[0], waiting[4]!.tickets[0]],
        [waiting[5]!.tickets[0]],
      ],
    );
    assert.equal(sink.peak, 1);
    assert.deepEqual(outputs, [10, 20, 20, 10]);
    assert.ok(completed());
  });

  void test('joined writes also stay within max_bytes', async () => {
    const { input, sink } = run(1, 100, 250);
    for (let index = 0; index < 6; index++) input.next(batch(index * 10, 10));
    while (sink.running > 0) await sink.finishOne();
    // 100 bytes a batch: the first alone, then two at a time (a third would make 300 bytes).
    assert.deepEqual(
      sink.writes.map((write) => [write.records.length, write.bytes]),
      [
        [10, 100],
        [20, 200],
        [20, 200],
        [10, 100],
      ],
    );
  });

  void test('a batch larger than the limit is still written, alone', async () => {
    const { input, sink } = run(1, 15);
    input.next(batch(0, 5));
    input.next(batch(5, 20));
    input.next(batch(25, 5));
    while (sink.running > 0) await sink.finishOne();
    assert.deepEqual(
      sink.writes.map((write) => write.records.length),
      [5, 20, 5],
    );
  });

  void test('a watermark batch is never joined, and nothing after it joins what came before it', async () => {
    const { input, sink } = run(1, 100);
    input.next(batch(0, 5));
    input.next(batch(5, 5));
    input.next(watermark('w1'));
    input.next(batch(10, 5));
    input.next(batch(15, 5));
    while (sink.running > 0) await sink.finishOne();
    assert.deepEqual(
      sink.writes.map((write) => write.watermark?.value ?? ids(write.records).join(',')),
      ['0,1,2,3,4', '5,6,7,8,9', 'w1', '10,11,12,13,14,15,16,17,18,19'],
    );
  });

  void test('up to max_in_flight writes run at once; the output completes after the last one', async () => {
    const { input, sink, completed } = run(2, 10);
    for (let index = 0; index < 4; index++) input.next(batch(index * 10, 10));
    input.complete();
    assert.equal(sink.running, 2);
    await sink.finishOne();
    assert.equal(sink.running, 2, 'a freed slot takes the next batch');
    assert.equal(completed(), false);
    while (sink.running > 0) await sink.finishOne();
    assert.equal(sink.peak, 2);
    assert.equal(sink.writes.length, 4);
    assert.ok(completed());
  });

  void test('a failed write fails the output', async () => {
    const input = new Subject<MicroBatch>();
    let error: unknown;
    input
      .pipe(
        groupCommit({ maxInFlight: 1, maxJoinedRecords: 10, maxBytes: 1_000 }, () =>
          Promise.reject(new Error('disk full')),
        ),
      )
      .subscribe({ error: (caught: unknown) => (error = caught) });
    input.next(batch(0, 1));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal((error as Error).message, 'disk full');
  });
});
