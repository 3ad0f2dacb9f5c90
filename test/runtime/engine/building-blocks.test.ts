import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BatchTicket } from '../../../runtime/batch-ticket.js';
import { SluiceError } from '../../../runtime/errors.js';
import { InFlightBudget } from '../../../runtime/in-flight-budget.js';
import { Backoff } from '../../../runtime/retry.js';
import { Supervisor } from '../../../runtime/supervisor.js';
import { silentLogger } from './fixtures.js';

void describe('BatchTicket', () => {
  void test('completes once, when the creator and every retained piece have released', () => {
    const calls: (number | undefined)[] = [];
    const ticket = new BatchTicket(10, (handled) => calls.push(handled));
    ticket.retain(2);
    ticket.release();
    ticket.release();
    assert.deepEqual(calls, []);
    ticket.release();
    assert.deepEqual(calls, [undefined]);
    assert.ok(ticket.done);
    assert.throws(() => ticket.release(), RangeError);
    assert.throws(() => ticket.retain(), RangeError);
  });

  void test('a limit keeps the smallest handled count', () => {
    const calls: (number | undefined)[] = [];
    const ticket = new BatchTicket(0, (handled) => calls.push(handled));
    ticket.limit(7);
    ticket.limit(3);
    ticket.limit(5);
    ticket.release();
    assert.deepEqual(calls, [3]);
  });
});

void describe('InFlightBudget', () => {
  void test('has room until the next batch would pass a limit; giving back wakes the waiter', async () => {
    const budget = new InFlightBudget(100, 1_000);
    const controller = new AbortController();
    budget.take(60, 100);
    assert.ok(!budget.hasRoom(60, 100), 'records would pass the limit');
    assert.ok(budget.hasRoom(40, 100));
    assert.ok(!budget.hasRoom(10, 950), 'bytes would pass the limit');
    let woke = false;
    const waiting = budget.waitForRoom(60, 100, controller.signal).then(() => (woke = true));
    await Promise.resolve();
    assert.ok(!woke);
    budget.give(60, 100);
    await waiting;
    assert.equal(budget.records, 0);
    assert.equal(budget.peakRecords, 60);
  });

  void test('admits any batch when nothing is in flight, and stops waiting on abort', async () => {
    const budget = new InFlightBudget(10, 10);
    assert.ok(budget.hasRoom(1_000, 1_000_000));
    budget.take(1_000, 5);
    const controller = new AbortController();
    const waiting = budget.waitForRoom(1, 1, controller.signal);
    controller.abort();
    await waiting;
    assert.equal(budget.records, 1_000);
  });
});

void describe('Backoff', () => {
  void test('doubles from the initial delay up to the cap, with the upper half jittered', () => {
    const low = new Backoff({ initialDelayMs: 100, maxDelayMs: 1_000 }, () => 0);
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map(() => low.next()),
      [50, 100, 200, 400, 500, 500],
    );
    const high = new Backoff({ initialDelayMs: 100, maxDelayMs: 1_000 }, () => 1);
    assert.deepEqual(
      [1, 2, 3, 4, 5].map(() => high.next()),
      [100, 200, 400, 800, 1_000],
    );
    high.reset();
    assert.equal(high.attempts, 0);
    assert.equal(high.next(), 100);
  });

  void test('wait resolves false at once when aborted', async () => {
    const backoff = new Backoff({ initialDelayMs: 60_000, maxDelayMs: 60_000 });
    const controller = new AbortController();
    const started = Date.now();
    const waiting = backoff.wait(controller.signal);
    controller.abort();
    assert.equal(await waiting, false);
    assert.ok(Date.now() - started < 1_000);
    assert.equal(await new Backoff({ initialDelayMs: 1, maxDelayMs: 1 }).wait(), true);
  });
});

void describe('Supervisor', () => {
  const policy = { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 };
  const signal = new AbortController().signal;

  void test('allows max_attempts restarts in a row, then gives up with CONNECTOR_FAILED', async () => {
    const supervisor = new Supervisor('orders', 'source', policy, silentLogger);
    assert.equal(await supervisor.failed(new Error('reset'), 'read', signal), true);
    assert.equal(await supervisor.failed(new Error('reset'), 'read', signal), true);
    await assert.rejects(supervisor.failed(new Error('refused'), 'connect', signal), {
      code: 'CONNECTOR_FAILED',
      message:
        /source "orders" failed 3 times in a row, giving up after 2 restarts .*last connect error: refused/,
    });
  });

  void test('a success starts the count over', async () => {
    const supervisor = new Supervisor('orders', 'sink', policy, silentLogger);
    for (let round = 0; round < 3; round++) {
      assert.equal(await supervisor.failed(new Error('reset'), 'connect', signal), true);
      assert.equal(await supervisor.failed(new Error('reset'), 'connect', signal), true);
      supervisor.succeeded();
    }
  });

  void test('a non-retriable Sluice error gives up at once', async () => {
    const supervisor = new Supervisor('orders', 'sink', policy, silentLogger);
    await assert.rejects(
      supervisor.failed(new SluiceError('CONFIG_INVALID', 'bad password'), 'connect', signal),
      {
        code: 'CONNECTOR_FAILED',
        message: 'sink "orders" failed to connect with a non-retriable error: bad password',
      },
    );
  });
});
