import { Observable, type OperatorFunction } from 'rxjs';
import type { BatchTicket } from './batch-ticket.js';
import type { Chunk, ChunkWatermark } from './chunk.js';
import type { BatchPolicy } from './pipeline-spec.js';
import { joinArrays } from './join-arrays.js';
import type { ChangeRecord } from './record.js';

/**
 * One sink write: the records and the tickets of the chunks they came from (a ticket once per piece it holds). A
 * watermark batch has no records, the watermark chunk's ticket, and the `watermark`.
 */
export interface MicroBatch {
  readonly records: readonly ChangeRecord[];
  readonly tickets: readonly BatchTicket[];
  /** The records' approximate size (each ticket's bytes per record, as `maxBytes` counts them). */
  readonly bytes: number;
  /** Set on a watermark batch only: every record before it in the input is in an earlier batch. */
  readonly watermark?: ChunkWatermark;
}

/**
 * Groups chunks into sink writes under a batch policy: a write is emitted when it reaches `maxRecords`, when the
 * next record would take it past `maxBytes` (bytes estimated from each ticket's bytes per record; a record larger
 * than `maxBytes` is a write alone), when its oldest record has waited `maxWaitMs`, or when the input completes. A chunk that does not fit is split; each extra piece retains the chunk's ticket once.
 * A chunk that fills a write alone is passed on without copying. Errors pass through (the partial write is dropped:
 * its records are not acknowledged, so the source reads them again). A watermark chunk flushes what is pending and
 * is passed on as a watermark batch of its own, so it stays behind every record that came before it. Each value of
 * `flushes` emits what is pending at once (the engine's answer to a source that has spent its in-flight budget).
 */
export function microBatch(
  policy: Pick<BatchPolicy, 'maxRecords' | 'maxBytes' | 'maxWaitMs'>,
  flushes?: Observable<unknown>,
): OperatorFunction<Chunk, MicroBatch> {
  const maxRecords = Math.max(1, policy.maxRecords);
  return (source) =>
    new Observable<MicroBatch>((subscriber) => {
      let parts: ChangeRecord[][] = [];
      let tickets: BatchTicket[] = [];
      let count = 0;
      let bytes = 0;
      let timer: NodeJS.Timeout | undefined;

      const flush = (): void => {
        if (timer !== undefined) {
          clearTimeout(timer);
          timer = undefined;
        }
        if (count === 0) return;
        const records = parts.length === 1 ? parts[0]! : joinArrays(parts);
        const batch: MicroBatch = { records, tickets, bytes };
        parts = [];
        tickets = [];
        count = 0;
        bytes = 0;
        subscriber.next(batch);
      };

      const flushing = flushes?.subscribe(() => flush());
      const subscription = source.subscribe({
        next: (chunk) => {
          const { records, ticket, watermark } = chunk;
          if (watermark !== undefined) {
            flush();
            subscriber.next({ records: [], tickets: [ticket], bytes: 0, watermark });
            return;
          }
          const total = records.length;
          if (total === 0) {
            ticket.release();
            return;
          }
          const perRecord = ticket.bytesPerRecord;
          let start = 0;
          while (start < total) {
            const room = policy.maxBytes - bytes;
            // The next record would take the write past max_bytes: write what is pending first.
            if (count > 0 && perRecord > room) {
              flush();
              continue;
            }
            const byRecords = maxRecords - count;
            const byBytes = perRecord > 0 ? Math.max(1, Math.floor(room / perRecord)) : byRecords;
            const take = Math.min(total - start, byRecords, byBytes);
            if (start > 0) ticket.retain();
            parts.push(take === total ? records : records.slice(start, start + take));
            tickets.push(ticket);
            count += take;
            bytes += take * perRecord;
            start += take;
            if (count >= maxRecords || bytes >= policy.maxBytes) flush();
          }
          if (count > 0 && timer === undefined) timer = setTimeout(flush, policy.maxWaitMs);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          flush();
          subscriber.complete();
        },
      });

      return () => {
        if (timer !== undefined) clearTimeout(timer);
        flushing?.unsubscribe();
        subscription.unsubscribe();
      };
    });
}
