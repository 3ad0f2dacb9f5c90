import { Observable, type OperatorFunction } from 'rxjs';

/** One started value: its result once settled. */
interface Slot<R> {
  settled: boolean;
  failed: boolean;
  value: R | undefined;
  error: unknown;
}

/**
 * `concatMap` that lets work overlap: `start` is called on each value in arrival order as soon as fewer than
 * `limit(value)` started values are still waiting to be emitted, and the results are emitted strictly in arrival
 * order. With a limit of 1 it is `concatMap` (a value starts once the one before it was emitted); worker-run
 * operators use a larger limit so several batches are on the threads at once (issue 4).
 *
 * A `start` that throws, or a promise it returns that rejects, errors the output at that value's turn, after every
 * earlier result was emitted. An error of the input errors the output at once, as `concatMap` does. The output
 * completes once the input has completed and every result was emitted. At most `limit` results are held; values
 * that arrive meanwhile wait in arrival order (bounded upstream, as for `concatMap`).
 */
export function workerOverlap<T, R>(
  start: (value: T) => R | Promise<R>,
  limit: (value: T) => number,
): OperatorFunction<T, R> {
  return (input) =>
    new Observable<R>((subscriber) => {
      const waiting: T[] = [];
      const started: Slot<R>[] = [];
      let inputDone = false;
      let draining = false;
      let again = false;

      const begin = (value: T): void => {
        const slot: Slot<R> = { settled: false, failed: false, value: undefined, error: undefined };
        started.push(slot);
        const settle = (failed: boolean, outcome: unknown): void => {
          slot.settled = true;
          slot.failed = failed;
          if (failed) slot.error = outcome;
          else slot.value = outcome as R;
        };
        let result: R | Promise<R>;
        try {
          result = start(value);
        } catch (error) {
          settle(true, error);
          return;
        }
        if (!(result instanceof Promise)) {
          settle(false, result);
          return;
        }
        result.then(
          (settled) => (settle(false, settled), drain()),
          (error: unknown) => (settle(true, error), drain()),
        );
      };

      // Emits the settled head of `started`, starts waiting values while there is room; re-entrant calls (an emit
      // that makes the input push) run as one more pass of the outer call.
      const drain = (): void => {
        if (draining) {
          again = true;
          return;
        }
        draining = true;
        try {
          do {
            again = false;
            while (!subscriber.closed && started.length > 0 && started[0]!.settled) {
              const head = started.shift()!;
              if (head.failed) subscriber.error(head.error);
              else subscriber.next(head.value as R);
            }
            while (!subscriber.closed && waiting.length > 0 && started.length < Math.max(1, limit(waiting[0]!))) {
              begin(waiting.shift()!);
              again = true;
            }
          } while (again && !subscriber.closed);
          if (!subscriber.closed && inputDone && waiting.length === 0 && started.length === 0)
            subscriber.complete();
        } finally {
          draining = false;
        }
      };

      const subscription = input.subscribe({
        next: (value) => {
          waiting.push(value);
          drain();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          inputDone = true;
          drain();
        },
      });
      return () => subscription.unsubscribe();
    });
}
