import { Observable, type OperatorFunction, type Subscription, from } from 'rxjs';
import { joinArrays } from './join-arrays.js';
import type { MicroBatch } from './micro-batch.js';
import type { BatchPolicy } from './pipeline-spec.js';

/**
 * Writes micro-batches with up to `maxInFlight` writes at once, as `mergeMap` would, except that batches that
 * waited for a busy sink are joined into one write (group commit) of at most `maxJoinedRecords` records and
 * `maxBytes` bytes, the batches whole and in order. A sink that keeps up writes each micro-batch alone; a sink
 * that falls behind writes fewer, larger transactions instead of a growing queue of small ones. A watermark batch
 * is never joined: batches after it wait for it to start. The output is every write's output; an error of the
 * input or of a write errors it.
 */
export function groupCommit<T>(
  policy: Pick<BatchPolicy, 'maxInFlight' | 'maxJoinedRecords' | 'maxBytes'>,
  write: (batch: MicroBatch) => PromiseLike<T> | Observable<T>,
): OperatorFunction<MicroBatch, T> {
  const { maxInFlight } = policy;
  return (source) =>
    new Observable<T>((subscriber) => {
      const waiting: MicroBatch[] = [];
      const writes = new Set<Subscription>();
      let inputDone = false;

      const startWrites = (): void => {
        while (writes.size < maxInFlight && waiting.length > 0) {
          const batch = nextWrite(waiting, policy);
          let inner: Subscription | undefined = undefined;
          let finished = false;
          const done = (): void => {
            finished = true;
            if (inner !== undefined) writes.delete(inner);
            startWrites();
            if (inputDone && writes.size === 0 && waiting.length === 0) subscriber.complete();
          };
          inner = from(write(batch)).subscribe({
            next: (value) => subscriber.next(value),
            error: (error: unknown) => subscriber.error(error),
            complete: done,
          });
          // A write that completed synchronously has already made room.
          if (!finished) writes.add(inner);
        }
      };

      const input = source.subscribe({
        next: (batch) => {
          waiting.push(batch);
          startWrites();
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          inputDone = true;
          if (writes.size === 0 && waiting.length === 0) subscriber.complete();
        },
      });

      return () => {
        input.unsubscribe();
        for (const inner of writes) inner.unsubscribe();
        writes.clear();
      };
    });
}

/**
 * Takes the next write off `waiting`: a watermark batch alone, or record batches joined while they stay within
 * the policy's records and bytes.
 */
function nextWrite(
  waiting: MicroBatch[],
  { maxJoinedRecords, maxBytes }: Pick<BatchPolicy, 'maxJoinedRecords' | 'maxBytes'>,
): MicroBatch {
  const first = waiting.shift()!;
  if (first.watermark !== undefined) return first;
  let count = first.records.length;
  let bytes = first.bytes;
  let joined = 0;
  for (; joined < waiting.length; joined++) {
    const next = waiting[joined]!;
    if (
      next.watermark !== undefined ||
      count + next.records.length > maxJoinedRecords ||
      bytes + next.bytes > maxBytes
    )
      break;
    count += next.records.length;
    bytes += next.bytes;
  }
  if (joined === 0) return first;
  const batches = [first, ...waiting.splice(0, joined)];
  return {
    records: joinArrays(batches.map((batch) => batch.records)),
    tickets: batches.flatMap((batch) => batch.tickets),
    bytes,
  };
}
