import type { Logger } from 'pino';
import type { DeadLetter } from './dead-letter.js';
import { SluiceError, isRetriable, messageOf } from './errors.js';
import type { RestartPolicy } from './pipeline-spec.js';
import type { ChangeRecord } from './record.js';
import { Backoff } from './retry.js';
import type { Sink } from './sink.js';

/**
 * Writes micro-batches to one sink, retrying writes that reject with a retriable error (exponential backoff with
 * the restart delays, at most `retries` times; one warning per incident). A non-retriable error, exhausted
 * retries, or a forced stop during the backoff reject with code `SINK_WRITE_FAILED` naming the sink.
 */
export class SinkWriter {
  /** The sink node's name. */
  readonly node: string;
  readonly #sink: Sink;
  readonly #retries: number;
  readonly #policy: RestartPolicy;
  readonly #logger: Logger;
  readonly #signal: AbortSignal;

  constructor(
    node: string,
    sink: Sink,
    retries: number,
    policy: RestartPolicy,
    logger: Logger,
    signal: AbortSignal,
  ) {
    this.node = node;
    this.#sink = sink;
    this.#retries = retries;
    this.#policy = policy;
    this.#logger = logger;
    this.#signal = signal;
  }

  /** Writes `records`; resolves with the records the sink rejected one by one. */
  async write(records: readonly ChangeRecord[]): Promise<readonly DeadLetter[]> {
    let backoff: Backoff | undefined;
    for (let retry = 0; ; retry++) {
      try {
        const result = await this.#sink.write(records);
        if (retry > 0)
          this.#logger.info({ retries: retry }, `sink "${this.node}" write succeeded after ${retry} retries`);
        return result?.rejected ?? [];
      } catch (error) {
        const where = `sink "${this.node}" failed to write ${records.length} records${position(records)}`;
        if (!isRetriable(error)) {
          throw new SluiceError('SINK_WRITE_FAILED', `${where}: ${messageOf(error)}`, { cause: error });
        }
        if (retry >= this.#retries) {
          throw new SluiceError(
            'SINK_WRITE_FAILED',
            `${where} after ${retry} retries (runtime sink_write_retries: ${this.#retries}): ${messageOf(error)}`,
            { cause: error },
          );
        }
        backoff ??= new Backoff(this.#policy);
        if (retry === 0) {
          this.#logger.warn({ err: error, maxRetries: this.#retries }, `${where}; retrying with backoff`);
        }
        if (!(await backoff.wait(this.#signal))) {
          throw new SluiceError(
            'SINK_WRITE_FAILED',
            `${where}: stopped while retrying after: ${messageOf(error)}`,
            {
              cause: error,
            },
          );
        }
      }
    }
  }
}

function position(records: readonly ChangeRecord[]): string {
  const first = records[0];
  return first === undefined ? '' : ` (first from source "${first.source.name}" at ${first.source.position})`;
}
