import type { Logger } from 'pino';
import { SluiceError, messageOf } from './errors.js';
import type { RestartPolicy } from './pipeline-spec.js';
import { Backoff } from './retry.js';

/**
 * Restart accounting for one connector (a source or a sink). The caller reports each failed `connect`/`read` with
 * {@link failed}, which waits out an exponential backoff before the next attempt, and each success with
 * {@link succeeded}, which resets the count. After `maxAttempts` restarts in a row fail, or on a non-retriable
 * Sluice error (bad settings), it gives up with code `CONNECTOR_FAILED` naming the node and the last cause.
 * Plain errors (a refused connection from a driver) count as transient.
 */
export class Supervisor {
  readonly #node: string;
  readonly #kind: 'source' | 'sink';
  readonly #policy: RestartPolicy;
  readonly #logger: Logger;
  readonly #backoff: Backoff;
  #failures = 0;

  constructor(node: string, kind: 'source' | 'sink', policy: RestartPolicy, logger: Logger) {
    this.#node = node;
    this.#kind = kind;
    this.#policy = policy;
    this.#logger = logger;
    this.#backoff = new Backoff(policy);
  }

  /**
   * Records a failure of `step`. Resolves `true` after the backoff delay when another attempt may be made, `false`
   * when `signal` aborted meanwhile (the pipeline is stopping); rejects with `CONNECTOR_FAILED` when giving up.
   */
  async failed(error: unknown, step: 'connect' | 'read', signal: AbortSignal): Promise<boolean> {
    this.#failures++;
    const what = `${this.#kind} "${this.#node}"`;
    if (error instanceof SluiceError && !error.retriable) {
      throw new SluiceError(
        'CONNECTOR_FAILED',
        `${what} failed to ${step} with a non-retriable error: ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    }
    if (this.#failures > this.#policy.maxAttempts) {
      throw new SluiceError(
        'CONNECTOR_FAILED',
        `${what} failed ${this.#failures} times in a row, giving up after ${this.#policy.maxAttempts} restarts ` +
          `(runtime restart max_attempts); last ${step} error: ${messageOf(error)}`,
        { cause: error },
      );
    }
    const delayMs = this.#backoff.next();
    this.#logger.warn(
      {
        err: error,
        step,
        attempt: this.#failures,
        maxAttempts: this.#policy.maxAttempts,
        delayMs: Math.round(delayMs),
      },
      `${what} failed to ${step}; restarting in ${Math.round(delayMs)} ms`,
    );
    return this.#backoff.wait(signal, delayMs);
  }

  /** Records a success: the next failure starts a new incident. */
  succeeded(): void {
    if (this.#failures === 0) return;
    this.#logger.info({ afterFailures: this.#failures }, `${this.#kind} "${this.#node}" recovered`);
    this.#failures = 0;
    this.#backoff.reset();
  }
}
