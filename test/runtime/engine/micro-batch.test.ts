import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EMPTY, NEVER, Subject, throwError } from 'rxjs';
import { BatchTicket } from '../../../runtime/batch-ticket.js';
import type { Chunk } from '../../../runtime/chunk.js';
import { type MicroBatch, microBatch } from '../../../runtime/micro-batch.js';
import { ids, makeRecord } from './fixtures.js';

function chunk(first: number, count: number, bytesPerRecord = 10): { chunk: Chunk; acked: () => boolean } {
  let acked = false;
  const ticket = new BatchTicket(bytesPerRecord, () => (acked = true));
  const records = Array.from({ length: count }, (_, i) => makeRecord('s', first + i));
  return { chunk: { records, ticket }, acked: () => acked };
}

function collect(input: Subject<Chunk>, policy: { maxRecords: number; maxBytes: number; maxWaitMs: number }) {
  const batches: MicroBatch[] = [];
  let completed = false;
  let error: unknown;
  const subscription = input.pipe(microBatch(policy)).subscribe({
    next: (batch) => batches.push(batch),
    error: (caught: unknown) => (error = caught),
    complete: () => (completed = true),
  });
  return { batches, subscription, completed: () => completed, error: () => error };
}

const releaseAll = (batches: readonly MicroBatch[]): void => {
  for (const batch of batches) for (const ticket of batch.tickets) ticket.release();
};

const policy = { maxRecords: 10, maxBytes: 1_000_000, maxWaitMs: 20 };

void describe('microBatch', () => {
  void test('never: emits nothing, and unsubscribing leaves no timer behind', async () => {
    const batches: MicroBatch[] = [];
    const subscription = NEVER.pipe(microBatch(policy)).subscribe((batch) => batches.push(batch));
    await sleep(30);
    subscription.unsubscribe();
    assert.deepEqual(batches, []);
    assert.ok(subscription.closed);
  });

  void test('empty: completes without a batch', () => {
    let completed = false;
    const batches: MicroBatch[] = [];
    EMPTY.pipe(microBatch(policy)).subscribe({
      next: (batch) => batches.push(batch),
      complete: () => (completed = true),
    });
    assert.ok(completed);
    assert.deepEqual(batches, []);
  });

  void test('one chunk: emitted after max_wait_ms, passed on without copying', async () => {
    const input = new Subject<Chunk>();
    const out = collect(input, policy);
    const one = chunk(0, 3);
    input.next(one.chunk);
    assert.equal(out.batches.length, 0, 'a partial batch waits');
    await sleep(40);
    assert.equal(out.batches.length, 1);
    assert.equal(out.batches[0]!.records, one.chunk.records);
    releaseAll(out.batches);
    assert.ok(one.acked());
  });

  void test('many: chunks are grouped up to max_records and split where they do not fit, each piece holding the ticket', () => {
    const input = new Subject<Chunk>();
    const out = collect(input, policy);
    const chunks = [chunk(0, 4), chunk(4, 4), chunk(8, 25), chunk(33, 2)];
    for (const { chunk: next } of chunks) input.next(next);
    input.complete();
    assert.deepEqual(
      out.batches.map((batch) => batch.records.length),
      [10, 10, 10, 5],
    );
    assert.deepEqual(
      out.batches.flatMap((batch) => ids(batch.records)),
      Array.from({ length: 35 }, (_, i) => i),
    );
    assert.ok(out.completed());
    // The 25-record chunk lands in four batches: releasing all but the last leaves it unacknowledged.
    const [first, second, third] = out.batches;
    releaseAll([first!, second!, third!]);
    assert.ok(chunks[0]!.acked() && chunks[1]!.acked());
    assert.ok(!chunks[2]!.acked());
    releaseAll([out.batches[3]!]);
    assert.ok(chunks.every((entry) => entry.acked()));
  });

  void test('max_bytes splits by the estimated record size, and no write goes past it', () => {
    const input = new Subject<Chunk>();
    const out = collect(input, { maxRecords: 1_000, maxBytes: 250, maxWaitMs: 20 });
    input.next(chunk(0, 5, 100).chunk);
    input.next(chunk(5, 3, 60).chunk);
    input.complete();
    assert.deepEqual(
      out.batches.map((batch) => [batch.records.length, batch.bytes]),
      [
        [2, 200],
        [2, 200],
        [1 + 2, 100 + 120],
        [1, 60],
      ],
    );
    assert.deepEqual(
      out.batches.flatMap((batch) => ids(batch.records)),
      ids(Array.from({ length: 8 }, (_, i) => makeRecord('s', i))),
    );
  });

  void test('a record larger than max_bytes is a write alone', () => {
    const input = new Subject<Chunk>();
    const out = collect(input, { maxRecords: 1_000, maxBytes: 250, maxWaitMs: 20 });
    input.next(chunk(0, 1, 100).chunk);
    input.next(chunk(1, 2, 400).chunk);
    input.complete();
    assert.deepEqual(
      out.batches.map((batch) => [batch.records.length, batch.bytes]),
      [
        [1, 100],
        [1, 400],
        [1, 400],
      ],
    );
  });

  void test('completion flushes the partial batch at once', () => {
    const input = new Subject<Chunk>();
    const out = collect(input, { ...policy, maxWaitMs: 60_000 });
    input.next(chunk(0, 2).chunk);
    input.complete();
    assert.equal(out.batches.length, 1);
    assert.ok(out.completed());
  });

  void test('error: passed on, the partial batch dropped unacknowledged', async () => {
    const input = new Subject<Chunk>();
    const out = collect(input, policy);
    const pending = chunk(0, 2);
    input.next(pending.chunk);
    input.error(new Error('upstream failed'));
    await sleep(30);
    assert.deepEqual(out.batches, []);
    assert.equal((out.error() as Error).message, 'upstream failed');
    assert.ok(!pending.acked());

    let caught: unknown;
    throwError(() => new Error('at once'))
      .pipe(microBatch(policy))
      .subscribe({ error: (error: unknown) => (caught = error) });
    assert.equal((caught as Error).message, 'at once');
  });

  void test('early unsubscribe: a waiting batch is never emitted', async () => {
    const input = new Subject<Chunk>();
    const out = collect(input, policy);
    input.next(chunk(0, 2).chunk);
    out.subscription.unsubscribe();
    await sleep(40);
    assert.deepEqual(out.batches, []);
    assert.ok(!input.observed);
  });

  void test('an empty chunk is released at once', () => {
    const input = new Subject<Chunk>();
    const out = collect(input, policy);
    const empty = chunk(0, 0);
    input.next(empty.chunk);
    assert.ok(empty.acked());
    assert.deepEqual(out.batches, []);
  });
});
