/**
 * Counts the outstanding pieces of one source batch as it spreads through the graph (one per branch of a fan-out,
 * per sink micro-batch it lands in, per dead-letter write). It starts with one hold, owned by whoever creates it:
 * `retain` one per piece handed on, then `release` the own hold. When the count reaches zero, `onDone` runs once
 * with the number of leading records handled (`undefined`: all of them).
 */
export class BatchTicket {
  /** Approximate bytes per record of the batch, for sink micro-batch sizing. */
  readonly bytesPerRecord: number;
  readonly #onDone: (handled: number | undefined) => void;
  #pending = 1;
  #handled: number | undefined;

  constructor(bytesPerRecord: number, onDone: (handled: number | undefined) => void) {
    this.bytesPerRecord = bytesPerRecord;
    this.#onDone = onDone;
  }

  /** Adds `count` outstanding pieces. */
  retain(count = 1): void {
    if (this.#pending <= 0) throw new RangeError('batch ticket retained after it completed');
    this.#pending += count;
  }

  /** Marks one piece done; completes the ticket when it was the last. */
  release(): void {
    if (this.#pending <= 0) throw new RangeError('batch ticket released more often than retained');
    if (--this.#pending === 0) this.#onDone(this.#handled);
  }

  /** Limits what counts as handled to the first `handled` records (an operator stopped the pipeline inside the batch). */
  limit(handled: number): void {
    this.#handled = this.#handled === undefined ? handled : Math.min(this.#handled, handled);
  }

  /** True once every piece is released. */
  get done(): boolean {
    return this.#pending === 0;
  }
}
