import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Subject, from, lastValueFrom, toArray } from 'rxjs';
import { workerOverlap } from '../../../runtime/worker-overlap.js';

/** Runs `values` through `workerOverlap` with a start that waits `delays[value]` ms; tracks how many ran at once. */
async function overlapped(values: number[], delays: number[], limit: number) {
  let running = 0;
  let peak = 0;
  const starts: number[] = [];
  const output = await lastValueFrom(
    from(values).pipe(
      workerOverlap(
        async (value: number) => {
          starts.push(value);
          running++;
          peak = Math.max(peak, running);
          await sleep(delays[value]);
          running--;
          return value * 10;
        },
        () => limit,
      ),
      toArray(),
    ),
  );
  return { output, peak, starts };
}

describe('workerOverlap', () => {
  test('runs up to the limit at once and emits in input order, whatever finishes first', async () => {
    const values = Array.from({ length: 12 }, (_, i) => i);
    const delays = values.map((i) => (i % 3 === 0 ? 30 : 2));
    const { output, peak, starts } = await overlapped(values, delays, 4);
    assert.deepEqual(output, values.map((i) => i * 10));
    assert.equal(peak, 4);
    assert.deepEqual(starts, values);
  });

  test('with a limit of 1 it runs one at a time, as concatMap does', async () => {
    const values = [0, 1, 2, 3, 4];
    const { output, peak } = await overlapped(values, [5, 1, 5, 1, 5], 1);
    assert.deepEqual(output, [0, 10, 20, 30, 40]);
    assert.equal(peak, 1);
  });

  test('synchronous results pass at once, but never ahead of a pending one', async () => {
    const input = new Subject<number>();
    const seen: number[] = [];
    let release: (() => void) | undefined;
    let completed = false;
    input
      .pipe(
        workerOverlap(
          (value: number) =>
            value === 1 ? new Promise<number>((resolve) => (release = () => resolve(value))) : value,
          () => 3,
        ),
      )
      .subscribe({ next: (value) => seen.push(value), complete: () => (completed = true) });
    input.next(0);
    assert.deepEqual(seen, [0]);
    input.next(1);
    input.next(2);
    input.next(3);
    input.complete();
    assert.deepEqual(seen, [0]);
    assert.equal(completed, false);
    release!();
    await sleep(1);
    assert.deepEqual(seen, [0, 1, 2, 3]);
    assert.equal(completed, true);
  });

  test('a rejection errors the output at its turn, after the earlier results', async () => {
    const emitted: number[] = [];
    const failure = new Error('batch 2 failed');
    await assert.rejects(
      lastValueFrom(
        from([0, 1, 2, 3]).pipe(
          workerOverlap(
            async (value: number) => {
              await sleep(value === 0 ? 20 : 1);
              if (value === 2 || value === 3) throw value === 2 ? failure : new Error('later failure');
              emitted.push(value);
              return value;
            },
            () => 4,
          ),
          toArray(),
        ),
      ),
      (error: unknown) => error === failure,
    );
    assert.deepEqual(emitted.sort(), [0, 1]);
  });

  test('a start that throws errors the output at its turn; an input error errors it at once', async () => {
    const thrown = new Error('cannot start');
    const results: number[] = [];
    await assert.rejects(
      lastValueFrom(
        from([0, 1, 2]).pipe(
          workerOverlap(
            (value: number) => {
              if (value === 1) throw thrown;
              return value;
            },
            () => 2,
          ),
        ),
        { defaultValue: -1 },
      ).then((last) => results.push(last)),
      (error: unknown) => error === thrown,
    );
    assert.deepEqual(results, []);
    const input = new Subject<number>();
    const broken = new Error('input broke');
    const outcome = lastValueFrom(input.pipe(workerOverlap(() => new Promise<number>(() => {}), () => 2)));
    input.next(1);
    input.error(broken);
    await assert.rejects(outcome, (error: unknown) => error === broken);
  });

  test('an empty input completes at once', async () => {
    const { output, peak } = await overlapped([], [], 4);
    assert.deepEqual(output, []);
    assert.equal(peak, 0);
  });
});
