import { SluiceError } from '../../runtime/errors.js';

/** Settings of a {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  readonly failureThreshold: number;
  /** How long the circuit stays open before one probe may pass, in milliseconds. */
  readonly coolDownMs: number;
  /** The clock (tests pass their own). */
  readonly now?: () => number;
}

/** `closed`: calls pass; `open`: calls are refused until the cool-down ends; `half-open`: one probe is in flight. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** What a readiness check reports. */
export interface Health {
  readonly ok: boolean;
  /** Why it is not ok (absent when ok). */
  readonly reason?: string;
}

/**
 * Stops hammering a target that is down. Closed, it lets every call through and counts consecutive failures;
 * after `failureThreshold` of them it opens and refuses calls for `coolDownMs`; then it lets exactly one probe
 * through (half-open): success closes it, failure opens it for another cool-down.
 *
 * Usage: `breaker.admit()` before the call (throws when refused), then `succeeded()` or `failed(error)`.
 */
export class CircuitBreaker {
  readonly #options: CircuitBreakerOptions;
  readonly #now: () => number;
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #lastError = '';

  constructor(options: CircuitBreakerOptions) {
    if (!(options.failureThreshold >= 1))
      throw new RangeError(`failureThreshold must be at least 1, got ${options.failureThreshold}`);
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The state now. An open circuit turns half-open when, after its cool-down, a call is admitted as the probe. */
  get state(): CircuitState {
    return this.#state;
  }

  /**
   * Lets a call through or refuses it with a retriable SluiceError of code `SINK_UNAVAILABLE` that says how long
   * the circuit stays open. An open circuit whose cool-down has ended admits this call as its one probe.
   */
  admit(what: string): void {
    if (this.#state === 'closed') return;
    const remaining = this.#openedAt + this.#options.coolDownMs - this.#now();
    if (this.#state === 'open' && remaining <= 0) {
      this.#state = 'half-open';
      return;
    }
    const wait = this.#state === 'open' ? `for another ${remaining} ms` : 'while a probe is in flight';
    throw new SluiceError(
      'SINK_UNAVAILABLE',
      `${what} refused: the circuit is open after ${this.#failures} consecutive failures (last: ${this.#lastError}); calls resume ${wait}`,
      { retriable: true },
    );
  }

  /** Reports that an admitted call reached the target (it answered, even with an error of its own): the circuit closes. */
  succeeded(): void {
    this.#state = 'closed';
    this.#failures = 0;
  }

  /** Reports that an admitted call failed because the target is unavailable. */
  failed(error: unknown): void {
    this.#failures++;
    this.#lastError = error instanceof Error ? error.message : String(error);
    if (this.#state === 'half-open' || this.#failures >= this.#options.failureThreshold) {
      this.#state = 'open';
      this.#openedAt = this.#now();
    }
  }

  /** For readiness checks: not ok while the circuit is open or probing. */
  health(): Health {
    if (this.#state === 'closed') return { ok: true };
    return {
      ok: false,
      reason: `circuit ${this.#state} after ${this.#failures} consecutive failures: ${this.#lastError}`,
    };
  }
}
