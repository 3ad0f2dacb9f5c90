import type { Logger } from 'pino';
import { BatchTicket } from './batch-ticket.js';
import type { Graph } from './graph.js';
import type { InFlightBudget } from './in-flight-budget.js';
import type { SourceCounters } from './pipeline-summary.js';
import type { Source, SourceBatch, SourceContext } from './source.js';
import type { Supervisor } from './supervisor.js';

/**
 * The loop of one source node: connect, then read while the in-flight budget has room, handing each batch to the
 * graph with a ticket that acknowledges it (and returns its budget) when every piece is done. A failed `connect` or
 * `read` closes the incarnation and reconnects under the supervisor. Ends at the end of bounded input or when the
 * context's signal aborts; the last incarnation stays open until {@link close}, so late acknowledgements still commit.
 */
export class SourceRunner {
  readonly #node: string;
  readonly #source: Source;
  readonly #context: SourceContext;
  readonly #budget: InFlightBudget;
  readonly #supervisor: Supervisor;
  readonly #graph: Graph;
  readonly #counters: SourceCounters;
  readonly #logger: Logger;
  #open = false;
  #closed = false;
  #nextRecords = 0;
  #nextBytes = 0;

  constructor(
    node: string,
    source: Source,
    context: SourceContext,
    parts: { budget: InFlightBudget; supervisor: Supervisor; graph: Graph; counters: SourceCounters },
  ) {
    this.#node = node;
    this.#source = source;
    this.#context = context;
    this.#budget = parts.budget;
    this.#supervisor = parts.supervisor;
    this.#graph = parts.graph;
    this.#counters = parts.counters;
    this.#logger = context.logger;
  }

  /** Reads until the input ends or the signal aborts. Rejects with `CONNECTOR_FAILED` when the supervisor gives up. */
  async run(): Promise<void> {
    const { signal } = this.#context;
    try {
      while (!signal.aborted && !this.#closed) {
        if (!this.#open) {
          try {
            await this.#source.connect(this.#context);
            this.#open = true;
          } catch (error) {
            if (!(await this.#supervisor.failed(error, 'connect', signal))) break;
            continue;
          }
          if (this.#closed) {
            await this.#closeIncarnation();
            break;
          }
        }
        await this.#budget.waitForRoom(this.#nextRecords, this.#nextBytes, signal);
        if (signal.aborted) break;
        let batch: SourceBatch | null;
        try {
          batch = await this.#source.read();
        } catch (error) {
          await this.#closeIncarnation();
          // A read cut short by the stop is not a connector failure.
          if (signal.aborted || !(await this.#supervisor.failed(error, 'read', signal))) break;
          continue;
        }
        this.#supervisor.succeeded();
        if (batch === null) break;
        this.#dispatch(batch);
      }
    } finally {
      this.#graph.endSource(this.#node);
    }
  }

  /** Closes the open incarnation (committing what was acknowledged), once; no reconnect happens afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#closeIncarnation();
  }

  async #closeIncarnation(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    try {
      await this.#source.close();
    } catch (error) {
      this.#logger.warn({ err: error }, `source "${this.#node}" failed to close`);
    }
  }

  #dispatch(batch: SourceBatch): void {
    const { records } = batch;
    const rejected = batch.rejected ?? [];
    const count = records.length + rejected.length;
    const bytes = batch.bytes;
    this.#counters.read += records.length;
    this.#counters.rejected += rejected.length;
    this.#nextRecords = count;
    this.#nextBytes = bytes;
    this.#budget.take(count, bytes);
    const ticket = new BatchTicket(count > 0 ? bytes / count : 0, (handled) => {
      this.#budget.give(count, bytes);
      if (handled === undefined) batch.ack();
      else batch.ack(handled);
    });
    const readers = records.length > 0 ? this.#graph.readers(this.#node) : 0;
    if (readers > 0) {
      ticket.retain(readers);
      this.#graph.emit(this.#node, { records, ticket });
    }
    if (rejected.length > 0) {
      ticket.retain();
      this.#graph.deadLetter(rejected, ticket);
    }
    ticket.release();
  }
}
