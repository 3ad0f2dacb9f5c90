import type { Logger } from 'pino';
import { AckTracker } from '../../runtime/ack-tracker.js';
import type { CheckpointStore } from '../../runtime/checkpoint-store.js';
import { messageOf, SluiceError } from '../../runtime/errors.js';
import { Hlc } from './hlc.js';

/** The key under which the webhook and sinkless sources keep their checkpoint (the store namespaces it). */
const CHECKPOINT_KEY = 'resolved';

/**
 * The checkpoint of a changefeed transport without offsets of its own (webhook, sinkless SQL): the last resolved
 * timestamp whose changes, and every change before it in the stream, are handled. Batches are tracked in source
 * order with the newest resolved timestamp seen up to their end; the contiguous acknowledged prefix decides what is
 * saved, as `{"resolved": "<hlc>"}`. Saves run one at a time; a failed save is kept in {@link failure}.
 */
export class ResolvedCheckpoint {
  readonly #store: CheckpointStore;
  readonly #logger: Logger;
  readonly #tracker: AckTracker<string | null>;
  #latest: Hlc | undefined;
  #saved: string | null;
  #saving: Promise<void> = Promise.resolve();
  #failure: SluiceError | undefined;

  private constructor(store: CheckpointStore, logger: Logger, committed: Hlc | undefined) {
    this.#store = store;
    this.#logger = logger;
    this.#latest = committed;
    this.#saved = committed?.toString() ?? null;
    this.#tracker = new AckTracker<string | null>(this.#saved);
  }

  /**
   * Reads the saved checkpoint. Rejects with `CRDB_CHECKPOINT_INVALID` when the stored value is not
   * `{"resolved": "<hlc>"}` (a checkpoint is never silently reset).
   */
  static async load(store: CheckpointStore, logger: Logger, where: string): Promise<ResolvedCheckpoint> {
    const stored = await store.load(CHECKPOINT_KEY);
    if (stored === undefined) return new ResolvedCheckpoint(store, logger, undefined);
    const text =
      typeof stored === 'object' && stored !== null ? (stored as { resolved?: unknown }).resolved : undefined;
    try {
      if (typeof text !== 'string') throw new TypeError('no "resolved" text');
      return new ResolvedCheckpoint(store, logger, Hlc.parse(text));
    } catch (cause) {
      throw new SluiceError(
        'CRDB_CHECKPOINT_INVALID',
        `expected the checkpoint of ${where} to be {"resolved": "<hlc>"}, got ${JSON.stringify(stored)?.slice(0, 120)} (${messageOf(cause)})`,
        { cause },
      );
    }
  }

  /** The resolved timestamp committed when the checkpoint was loaded or last advanced, if any. */
  get committed(): Hlc | undefined {
    const text = this.#tracker.committable;
    return text === null || text === undefined ? undefined : Hlc.parse(text);
  }

  /** A save that failed (retriable): the owner fails its next read with it. */
  get failure(): SluiceError | undefined {
    return this.#failure;
  }

  /**
   * Registers the next batch in source order, with the resolved timestamp it carries (if any), and returns the
   * function to call once it is handled: `complete` false means only part of it was, so the checkpoint never
   * advances past the resolved timestamp known before this batch.
   */
  track(resolved: Hlc | undefined): (complete: boolean) => void {
    const before = this.#latest?.toString() ?? null;
    if (resolved !== undefined && (this.#latest === undefined || resolved.compareTo(this.#latest) > 0))
      this.#latest = resolved;
    const id = this.#tracker.track(this.#latest?.toString() ?? null);
    return (complete) => {
      const committable = complete ? this.#tracker.ack(id) : this.#tracker.ack(id, before);
      if (committable !== undefined && committable !== null && committable !== this.#saved)
        this.#save(committable);
    };
  }

  /** Resolves once every save started so far has finished. */
  flush(): Promise<void> {
    return this.#saving;
  }

  #save(resolved: string): void {
    this.#saved = resolved;
    this.#saving = this.#saving.then(async () => {
      try {
        await this.#store.save(CHECKPOINT_KEY, { resolved });
      } catch (cause) {
        this.#failure ??= new SluiceError(
          'CRDB_CHECKPOINT_SAVE_FAILED',
          `saving resolved timestamp ${resolved} failed: ${messageOf(cause)}`,
          {
            retriable: true,
            cause,
          },
        );
        this.#logger.warn({ err: cause, resolved }, 'changefeed checkpoint save failed');
      }
    });
  }
}
