import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import { BatchTicket } from './batch-ticket.js';
import { SluiceError, messageOf } from './errors.js';
import type { Graph } from './graph.js';
import type { InFlightBudget } from './in-flight-budget.js';
import type { SourceCounters } from './pipeline-summary.js';
import type { Source, SourceBatch, SourceContext } from './source.js';
import type { Supervisor } from './supervisor.js';
import { nowMs, type PipelineTelemetry } from './telemetry/pipeline-telemetry.js';

/**
 * The loop of one source node: connect, then read while the in-flight budget has room, handing each batch to the
 * graph with a ticket that acknowledges it (and returns its budget) when every piece is done. A failed `connect` or
 * `read` closes the incarnation and reconnects under the supervisor. Ends at the end of bounded input or when the
 * context's signal aborts; the last incarnation stays open until {@link close}, so late acknowledgements still commit.
 *
 * A batch's `watermark` follows its records into the graph as a watermark chunk. When the budget is full and every
 * batch in flight is held by sinks waiting for a watermark (`consistency: resolved`), no watermark can be read any
 * more: the loop then fails with `IN_FLIGHT_BUDGET_STALLED` instead of waiting forever.
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
  readonly #telemetry: PipelineTelemetry | undefined;
  #open = false;
  #closed = false;
  #nextRecords = 0;
  #nextBytes = 0;
  /** Tickets of the batches in flight. */
  readonly #live = new Set<BatchTicket>();
  /** Set while the loop waits for budget: fails the wait when the source is stalled. */
  #onStalled: ((error: SluiceError) => void) | undefined;

  constructor(
    node: string,
    source: Source,
    context: SourceContext,
    parts: {
      budget: InFlightBudget;
      supervisor: Supervisor;
      graph: Graph;
      counters: SourceCounters;
      /** Spans, metrics and readiness (absent: none). */
      telemetry?: PipelineTelemetry;
    },
  ) {
    this.#node = node;
    this.#source = source;
    this.#context = context;
    this.#budget = parts.budget;
    this.#supervisor = parts.supervisor;
    this.#graph = parts.graph;
    this.#counters = parts.counters;
    this.#telemetry = parts.telemetry;
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
            this.#telemetry?.health.connected(this.#node);
          } catch (error) {
            this.#telemetry?.health.failed(this.#node, `connect failed: ${messageOf(error)}`);
            if (!(await this.#supervisor.failed(error, 'connect', signal))) break;
            continue;
          }
          if (this.#closed) {
            await this.#closeIncarnation();
            break;
          }
        }
        await this.#waitForRoom(signal);
        if (signal.aborted) break;
        let batch: SourceBatch | null;
        const readStarted = nowMs();
        try {
          batch = await this.#source.read();
        } catch (error) {
          this.#telemetry?.health.failed(this.#node, `read failed: ${messageOf(error)}`);
          await this.#closeIncarnation();
          // A read cut short by the stop is not a connector failure.
          if (signal.aborted || !(await this.#supervisor.failed(error, 'read', signal))) break;
          continue;
        }
        this.#supervisor.succeeded();
        this.#telemetry?.health.succeeded(this.#node);
        if (batch === null) break;
        this.#dispatch(batch, readStarted);
        // A source whose reads resolve at once (generate, a buffered consumer) would otherwise read on in one chain
        // of microtasks until the budget is full, holding back the I/O that lets a sink start its next write.
        await nextTurn();
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

  async #waitForRoom(signal: AbortSignal): Promise<void> {
    const budget = this.#budget;
    if (budget.hasRoom(this.#nextRecords, this.#nextBytes)) return;
    const stalled = this.#stalled();
    if (stalled !== undefined) throw stalled;
    this.#graph.flushPending();
    const waitStarted = performance.now();
    try {
      await new Promise<void>((resolve, reject) => {
        this.#onStalled = reject;
        budget.waitForRoom(this.#nextRecords, this.#nextBytes, signal).then(resolve, reject);
      });
    } finally {
      this.#onStalled = undefined;
      this.#telemetry?.backpressured(this.#node, performance.now() - waitStarted);
    }
  }

  /** The error to fail with when the budget is full and every batch in flight waits for a watermark. */
  #stalled(): SluiceError | undefined {
    if (this.#live.size === 0 || this.#budget.hasRoom(this.#nextRecords, this.#nextBytes)) return undefined;
    for (const ticket of this.#live) if (!ticket.stalled) return undefined;
    const budget = this.#budget;
    return new SluiceError(
      'IN_FLIGHT_BUDGET_STALLED',
      `source "${this.#node}" has ${budget.records} records (about ${budget.bytes} bytes) in flight, all held by sinks ` +
        'that write only up to the next watermark (consistency: resolved), and its in-flight budget is full, so the ' +
        'next watermark can never be read; raise runtime.in_flight.records / runtime.in_flight.bytes above the ' +
        'changes that arrive between two watermarks (CockroachDB: between two resolved timestamps), or have the ' +
        'source emit watermarks more often',
    );
  }

  #checkStalled(): void {
    const fail = this.#onStalled;
    if (fail === undefined) return;
    const stalled = this.#stalled();
    if (stalled !== undefined) fail(stalled);
  }

  async #closeIncarnation(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    this.#telemetry?.health.disconnected(this.#node);
    try {
      await this.#source.close();
    } catch (error) {
      this.#logger.warn({ err: error }, `source "${this.#node}" failed to close`);
    }
  }

  #dispatch(batch: SourceBatch, readStarted: number): void {
    const { records } = batch;
    const rejected = batch.rejected ?? [];
    const count = records.length + rejected.length;
    const bytes = batch.bytes;
    this.#counters.read += records.length;
    this.#counters.rejected += rejected.length;
    this.#nextRecords = count;
    this.#nextBytes = bytes;
    this.#budget.take(count, bytes);
    const ticket = new BatchTicket(
      count > 0 ? bytes / count : 0,
      (handled) => {
        this.#live.delete(ticket);
        this.#budget.give(count, bytes);
        this.#telemetry?.acknowledged(this.#node, ticket, count, handled);
        if (handled === undefined) batch.ack();
        else batch.ack(handled);
      },
      () => this.#checkStalled(),
    );
    this.#live.add(ticket);
    this.#telemetry?.batchRead(this.#node, records, ticket, readStarted);
    const readers = this.#graph.readers(this.#node);
    if (readers > 0 && records.length > 0) {
      ticket.retain(readers);
      this.#graph.emit(this.#node, { records, ticket });
    }
    if (readers > 0 && batch.watermark !== undefined) {
      ticket.retain(readers);
      this.#graph.emit(this.#node, {
        records: [],
        ticket,
        watermark: { source: this.#node, value: batch.watermark },
      });
    }
    if (rejected.length > 0) {
      ticket.retain();
      this.#graph.deadLetter(rejected, ticket);
    }
    ticket.release();
  }
}
