/**
 * Counts the outstanding pieces of one source batch as it spreads through the graph (one per branch of a fan-out,
 * per sink micro-batch it lands in, per dead-letter write). It starts with one hold, owned by whoever creates it:
 * `retain` one per piece handed on, then `release` the own hold. When the count reaches zero, `onDone` runs once
 * with the number of leading records handled (`undefined`: all of them).
 *
 * A piece may be *parked*: written to a sink that holds it until a later watermark (`consistency: resolved`). A
 * ticket whose every outstanding piece is parked is *stalled*: only a watermark read after it can complete it.
 */
export class BatchTicket {
  /** Approximate bytes per record of the batch, for sink micro-batch sizing. */
  readonly bytesPerRecord: number;
  readonly #onDone: (handled: number | undefined) => void;
  readonly #onStalled: (() => void) | undefined;
  #pending = 1;
  #parked = 0;
  #handled: number | undefined;

  /** @param onStalled called each time the ticket becomes stalled (see the class comment). */
  constructor(bytesPerRecord: number, onDone: (handled: number | undefined) => void, onStalled?: () => void) {
    this.bytesPerRecord = bytesPerRecord;
    this.#onDone = onDone;
    this.#onStalled = onStalled;
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
    else if (this.#parked === this.#pending) this.#onStalled?.();
  }

  /** Marks one outstanding piece as parked until a watermark; call {@link unpark} before releasing it. */
  park(): void {
    if (this.#parked >= this.#pending) throw new RangeError('batch ticket parked more pieces than it holds');
    if (++this.#parked === this.#pending) this.#onStalled?.();
  }

  /** Marks one parked piece as moving again (its watermark came: it is about to be released). */
  unpark(): void {
    if (this.#parked <= 0) throw new RangeError('batch ticket unparked more often than parked');
    this.#parked--;
  }

  /** True while pieces are outstanding and every one of them is parked. */
  get stalled(): boolean {
    return this.#pending > 0 && this.#parked === this.#pending;
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
