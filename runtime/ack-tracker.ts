interface Entry<P> {
  position: P;
  done: boolean;
  /** Acknowledged for only part of its records: the prefix may end here but never pass it. */
  partial: boolean;
}

/**
 * Turns acknowledgements that arrive in any order into the position that may be committed: the end of the
 * longest contiguous acknowledged prefix. Sources keep one per stream they commit separately (a Kafka partition,
 * a file, a replication slot).
 *
 * `track` is called in source order; `ack` in any order. Both are O(1) amortised; memory is one entry per
 * unacknowledged batch, which the in-flight budget bounds.
 */
export class AckTracker<P> {
  readonly #entries: Entry<P>[] = [];
  #head = 0;
  #firstId = 0;
  #committable: P | undefined;
  #stopped = false;

  /** Starts from an already committed position (restored from a checkpoint), if any. */
  constructor(committed?: P) {
    this.#committable = committed;
  }

  /** Registers the next batch, in source order, with the position to commit once it and all before it are acknowledged. Returns its id. */
  track(position: P): number {
    this.#entries.push({ position, done: false, partial: false });
    return this.#firstId + this.#entries.length - 1;
  }

  /**
   * Marks batch `id` acknowledged; `position` replaces the tracked one (a partial acknowledgement commits less,
   * and the prefix then never advances past that batch: the records after its handled part were not handled).
   * Returns the new committable position when the contiguous prefix advanced, else `undefined`.
   * Acknowledging an id twice, or one never tracked, throws: it would be a bug in the caller.
   */
  ack(id: number, position?: P): P | undefined {
    const index = id - this.#firstId;
    const entry = this.#entries[index];
    if (entry === undefined || index < this.#head || entry.done) {
      throw new RangeError(`batch ${id} is not awaiting acknowledgement`);
    }
    entry.done = true;
    if (position !== undefined) {
      entry.position = position;
      entry.partial = true;
    }
    if (index !== this.#head || this.#stopped) return undefined;
    while (this.#head < this.#entries.length && this.#entries[this.#head]!.done) {
      const head = this.#entries[this.#head]!;
      this.#committable = head.position;
      this.#head++;
      if (head.partial) {
        this.#stopped = true;
        break;
      }
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries.splice(0, this.#head);
      this.#firstId += this.#head;
      this.#head = 0;
    }
    return this.#committable;
  }

  /**
   * Replaces batch `id`'s position with a later one, learned after it was tracked (a transaction's commit that
   * arrived after its last records were taken). A partially acknowledged batch keeps its position. Returns the new
   * committable position when batch `id` is the end of the acknowledged prefix, else `undefined`.
   */
  advance(id: number, position: P): P | undefined {
    const index = id - this.#firstId;
    if (index >= this.#entries.length) throw new RangeError(`batch ${id} was never tracked`);
    // Dropped from the front: committed long ago, and later batches with it.
    if (index < 0) return undefined;
    const entry = this.#entries[index]!;
    if (entry.partial) return undefined;
    entry.position = position;
    if (index !== this.#head - 1) return undefined;
    this.#committable = position;
    return position;
  }

  /** The end of the contiguous acknowledged prefix: the position safe to commit. */
  get committable(): P | undefined {
    return this.#committable;
  }

  /** Batches tracked and not yet part of the acknowledged prefix. */
  get pending(): number {
    return this.#entries.length - this.#head;
  }
}
