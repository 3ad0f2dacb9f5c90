import type { Logger } from 'pino';
import { AckTracker } from './ack-tracker.js';
import type { CheckpointStore } from './checkpoint-store.js';
import { DEFAULTS } from './limits.js';

/** What a {@link CheckpointCommitter} needs. */
export interface CheckpointCommitterOptions<P> {
  /** Where the checkpoint goes (a source's `context.checkpoints`). */
  readonly store: CheckpointStore;
  /** The key it is saved under. */
  readonly key: string;
  /** Where failed background saves are reported. */
  readonly logger: Logger;
  /** Fewest milliseconds between two saves while running (default `DEFAULTS.checkpointIntervalMs`). */
  readonly intervalMs?: number;
  /** The position already committed (the checkpoint the source resumed from), if any. */
  readonly committed?: P;
}

/**
 * The checkpointing of a source that keeps its checkpoint in a {@link CheckpointStore}: an {@link AckTracker}
 * whose committable position is saved at most once per interval while running (a save failure is logged and
 * retried at the next interval) and always on {@link close}. Positions are saved as they are, so they must be
 * JSON-serialisable; a position is saved only when it differs (by identity) from the last one saved.
 */
export class CheckpointCommitter<P> {
  readonly #store: CheckpointStore;
  readonly #key: string;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #tracker: AckTracker<P>;
  #saved: P | undefined;
  /** Ids handed out by {@link track} so far. */
  #tracked = 0;
  /** The earliest partially acknowledged batch: nothing after its position may ever be committed. */
  #partial: { readonly id: number; readonly position: P } | undefined;
  #lastSaveAt = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #saving: Promise<void> | undefined;
  #closed = false;

  constructor(options: CheckpointCommitterOptions<P>) {
    this.#store = options.store;
    this.#key = options.key;
    this.#logger = options.logger;
    this.#intervalMs = options.intervalMs ?? DEFAULTS.checkpointIntervalMs;
    this.#tracker = new AckTracker<P>(options.committed);
    this.#saved = options.committed;
  }

  /** Registers the next batch, in source order, with the position that follows it. Returns its id for {@link ack}. */
  track(position: P): number {
    this.#tracked++;
    return this.#tracker.track(position);
  }

  /**
   * Marks batch `id` acknowledged and saves the new committable position when the interval allows, else schedules
   * the save. A partial acknowledgement passes the `position` after the handled records: the records after it were
   * not handled, so nothing beyond it is committed afterwards, whatever later batches report. Throws on an id not
   * awaiting acknowledgement (a bug in the caller).
   */
  ack(id: number, position?: P): void {
    if (position !== undefined && (this.#partial === undefined || id < this.#partial.id)) this.#partial = { id, position };
    if (this.#tracker.ack(id, position) !== undefined && !this.#closed) this.#schedule();
  }

  /** The end of the contiguous acknowledged prefix, stopped at the first partially acknowledged batch. */
  get committable(): P | undefined {
    const partial = this.#partial;
    const head = this.#tracked - this.#tracker.pending;
    return partial !== undefined && head > partial.id ? partial.position : this.#tracker.committable;
  }

  /** Stops background saves and saves the committable position if it is newer than the last save. Rejects when that save fails. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#saving;
    const position = this.committable;
    if (position === undefined || position === this.#saved) return;
    await this.#store.save(this.#key, position);
    this.#saved = position;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#saving !== undefined) return;
    const wait = this.#lastSaveAt + this.#intervalMs - performance.now();
    if (wait <= 0) {
      this.#save();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#save();
    }, wait);
    this.#timer.unref();
  }

  #save(): void {
    const position = this.committable;
    if (position === undefined || position === this.#saved || this.#closed) return;
    this.#lastSaveAt = performance.now();
    this.#saving = this.#store.save(this.#key, position).then(
      () => {
        this.#saved = position;
      },
      (error: unknown) => {
        this.#logger.warn({ err: error, key: this.#key }, 'could not save the checkpoint; will retry');
      },
    );
    void this.#saving.then(() => {
      this.#saving = undefined;
      if (!this.#closed && this.committable !== this.#saved) this.#schedule();
    });
  }
}
