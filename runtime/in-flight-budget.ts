/**
 * A source's in-flight budget: records and approximate bytes read but not yet acknowledged. The source loop asks
 * for room before each read and gives the batch's share back when its ticket completes, so a slow sink slows the
 * source. Room is judged with the size of the next batch estimated from the last one; a batch larger than the
 * whole budget is still admitted when nothing else is in flight, so the loop never deadlocks.
 */
export class InFlightBudget {
  readonly #maxRecords: number;
  readonly #maxBytes: number;
  #records = 0;
  #bytes = 0;
  #peakRecords = 0;
  #waiter: { records: number; bytes: number; resolve: () => void } | undefined;

  constructor(maxRecords: number, maxBytes: number) {
    this.#maxRecords = maxRecords;
    this.#maxBytes = maxBytes;
  }

  /** True when a batch of about `records` records and `bytes` bytes fits now. */
  hasRoom(records: number, bytes: number): boolean {
    if (this.#records === 0 && this.#bytes === 0) return true;
    return this.#records + records <= this.#maxRecords && this.#bytes + bytes <= this.#maxBytes;
  }

  /**
   * Resolves when a batch of about `records`/`bytes` fits, or at once when `signal` aborts. One waiter at a time
   * (a source reads one batch at a time).
   */
  waitForRoom(records: number, bytes: number, signal: AbortSignal): Promise<void> {
    if (this.hasRoom(records, bytes) || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        this.#waiter = undefined;
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
      this.#waiter = { records, bytes, resolve: done };
    });
  }

  /** Counts a batch just read. */
  take(records: number, bytes: number): void {
    this.#records += records;
    this.#bytes += bytes;
    if (this.#records > this.#peakRecords) this.#peakRecords = this.#records;
  }

  /** Gives back a batch's share once it is acknowledged. */
  give(records: number, bytes: number): void {
    this.#records -= records;
    this.#bytes -= bytes;
    const waiter = this.#waiter;
    if (waiter !== undefined && this.hasRoom(waiter.records, waiter.bytes)) waiter.resolve();
  }

  /** Records in flight now. */
  get records(): number {
    return this.#records;
  }

  /** Approximate bytes in flight now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The most records ever in flight at once. */
  get peakRecords(): number {
    return this.#peakRecords;
  }
}
