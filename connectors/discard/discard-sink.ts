import { setTimeout as delay } from 'node:timers/promises';
import { NotConnectedError } from '../../runtime/errors.js';
import type { ChangeRecord } from '../../runtime/record.js';
import type { Sink, SinkContext } from '../../runtime/sink.js';

/** Discards every record, counting them; each write can be slowed by a fixed delay (for backpressure demos). */
export class DiscardSink implements Sink {
  readonly #delayMs: number;
  #connected = false;
  #records = 0;
  #writes = 0;

  /** `delayMs`: how long each write takes, in milliseconds. */
  constructor(delayMs = 0) {
    this.#delayMs = delayMs;
  }

  /** Records written (discarded) so far, over every connection. */
  get records(): number {
    return this.#records;
  }

  /** Writes so far. */
  get writes(): number {
    return this.#writes;
  }

  async connect(_context: SinkContext): Promise<void> {
    this.#connected = true;
  }

  async write(records: readonly ChangeRecord[]): Promise<void> {
    if (!this.#connected) throw new NotConnectedError('discard sink');
    if (this.#delayMs > 0) await delay(this.#delayMs);
    this.#records += records.length;
    this.#writes++;
  }

  async close(): Promise<void> {
    this.#connected = false;
  }
}
