import { setTimeout as sleep } from 'node:timers/promises';

/** The delays a {@link Backoff} grows between. */
export interface BackoffPolicy {
  /** The first delay, in milliseconds; it doubles on each further attempt. */
  readonly initialDelayMs: number;
  /** The longest delay, in milliseconds. */
  readonly maxDelayMs: number;
}

/**
 * Exponential backoff with jitter, for restarts and retries: the n-th delay is `initialDelayMs * 2^n` capped at
 * `maxDelayMs`, of which the upper half is random ("equal jitter"), so that many failing connectors do not retry in
 * step. One instance per incident: `reset()` after a success.
 */
export class Backoff {
  readonly #policy: BackoffPolicy;
  readonly #random: () => number;
  #attempt = 0;

  constructor(policy: BackoffPolicy, random: () => number = Math.random) {
    this.#policy = policy;
    this.#random = random;
  }

  /** The delay before the next attempt, in milliseconds; each call counts one attempt. */
  next(): number {
    const base = Math.min(this.#policy.maxDelayMs, this.#policy.initialDelayMs * 2 ** this.#attempt);
    this.#attempt++;
    return base / 2 + this.#random() * (base / 2);
  }

  /**
   * Waits `delayMs` (by default the {@link next} delay). Resolves `true` after the wait, `false` at once when `signal`
   * aborts before or during it.
   */
  async wait(signal?: AbortSignal, delayMs: number = this.next()): Promise<boolean> {
    if (signal?.aborted === true) return false;
    try {
      await sleep(delayMs, undefined, signal === undefined ? undefined : { signal });
      return true;
    } catch {
      return false;
    }
  }

  /** Starts over from the first delay (after a success). */
  reset(): void {
    this.#attempt = 0;
  }

  /** Attempts counted since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }
}
