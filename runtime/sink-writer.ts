import type { Logger } from 'pino';
import type { DeadLetter } from './dead-letter.js';
import { SluiceError, isRetriable, messageOf } from './errors.js';
import type { RestartPolicy } from './pipeline-spec.js';
import type { ChangeRecord } from './record.js';
import { Backoff } from './retry.js';
import type { Sink } from './sink.js';
import type { PipelineHealth } from './telemetry/pipeline-health.js';

/**
 * Writes micro-batches to one sink, retrying writes that reject with a retriable error (exponential backoff with
 * the restart delays, at most `retries` times; one warning per incident). A non-retriable error, exhausted
 * retries, or a forced stop during the backoff reject with code `SINK_WRITE_FAILED` naming the sink. Watermarks
 * for sinks that hold records until one (`Sink.watermark`) go through the same retries.
 */
export class SinkWriter {
  /** The sink node's name. */
  readonly node: string;
  readonly #sink: Sink;
  readonly #retries: number;
  readonly #policy: RestartPolicy;
  readonly #logger: Logger;
  readonly #signal: AbortSignal;
  readonly #health: PipelineHealth | undefined;

  /** @param health told of failures and recoveries, for readiness (absent: nobody). */
  constructor(
    node: string,
    sink: Sink,
    retries: number,
    policy: RestartPolicy,
    logger: Logger,
    signal: AbortSignal,
    health?: PipelineHealth,
  ) {
    this.node = node;
    this.#sink = sink;
    this.#retries = retries;
    this.#policy = policy;
    this.#logger = logger;
    this.#signal = signal;
    this.#health = health;
  }

  /**
   * Writes `records`; resolves with the records the sink rejected one by one and, when the sink holds the batch for
   * a watermark, the promise of its final write (see `WriteResult.applied`).
   */
  async write(
    records: readonly ChangeRecord[],
  ): Promise<{ rejected: readonly DeadLetter[]; applied?: Promise<readonly DeadLetter[]> }> {
    const result = await this.#retrying(
      `sink "${this.node}" failed to write ${records.length} records${position(records)}`,
      () => this.#sink.write(records),
    );
    return {
      rejected: result?.rejected ?? [],
      ...(result?.applied === undefined ? {} : { applied: result.applied }),
    };
  }

  /** Hands a source's watermark to the sink (nothing to do for a sink without `watermark`), with the same retries. */
  async watermark(source: string, watermark: string): Promise<void> {
    const sink = this.#sink;
    if (sink.watermark === undefined) return;
    await this.#retrying(
      `sink "${this.node}" failed to apply watermark ${watermark} of source "${source}"`,
      () => sink.watermark!(source, watermark),
    );
  }

  async #retrying<T>(where: string, attempt: () => Promise<T>): Promise<T> {
    let backoff: Backoff | undefined;
    for (let retry = 0; ; retry++) {
      try {
        const result = await attempt();
        if (retry > 0) {
          this.#health?.succeeded(this.node);
          this.#logger.info({ retries: retry }, `sink "${this.node}" succeeded after ${retry} retries`);
        }
        return result;
      } catch (error) {
        this.#health?.failed(this.node, messageOf(error));
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
