import { Subject, filter, map, merge, share, type Observable, type Subscription } from 'rxjs';
import { BatchTicket } from './batch-ticket.js';
import type { Chunk } from './chunk.js';
import { type DeadLetter, deadLetterRow } from './dead-letter.js';
import { PipelineFailure, SluiceError, messageOf } from './errors.js';
import { groupCommit } from './group-commit.js';
import { type MicroBatch, microBatch } from './micro-batch.js';
import type { BatchOperator, OperatorResult } from './operator.js';
import type { OperatorRunner } from './operator-runner.js';
import type { PipelineCounters, SinkCounters } from './pipeline-summary.js';
import type { Edge, PipelineSpec, SinkSpec } from './pipeline-spec.js';
import type { ChangeRecord } from './record.js';
import type { SinkWriter } from './sink-writer.js';
import { PipelineTelemetry } from './telemetry/pipeline-telemetry.js';
import { workerOverlap } from './worker-overlap.js';

/** What the graph is built from: the spec, the built nodes, and the pipeline's failure hook. */
export interface GraphParts {
  readonly spec: PipelineSpec;
  readonly operators: ReadonlyMap<string, BatchOperator>;
  readonly sinks: ReadonlyMap<string, SinkWriter>;
  readonly dlq: SinkWriter | null;
  readonly runner: OperatorRunner;
  readonly counters: PipelineCounters;
  /** Spans and metrics of batches as they pass (absent: none). */
  readonly telemetry?: PipelineTelemetry;
  /** Called with every fatal error (several nodes may report the same one); the pipeline keeps the first. */
  readonly fail: (error: SluiceError) => void;
}

/** An operator's output for one input chunk: the default output and the named branches that have readers. */
interface Routed {
  readonly main: Chunk | undefined;
  readonly branches: Record<string, Chunk> | undefined;
}

const isChunk = (chunk: Chunk | undefined): chunk is Chunk => chunk !== undefined;

function edgeKey(node: string, branch: string | undefined): string {
  return branch === undefined ? node : `${node}.${branch}`;
}

/**
 * A pipeline spec compiled to an RxJS DAG of chunks: sources are subjects the source loops push into; an operator
 * reads the merge of its inputs and is shared by its readers (fan-out); `node.branch` edges select a router branch;
 * each sink micro-batches its input and writes with up to `maxInFlight` writes at once; dead letters from every
 * node go through one subject to the DLQ sink, which completes after every other sink.
 *
 * Ticket accounting: whoever hands a chunk on retains its ticket once per reader first; a sink releases a chunk's
 * pieces when the write resolves (after the DLQ write of its rejected records, if any), or, when the sink holds the
 * write for a watermark (`WriteResult.applied`), parks them until it is applied.
 *
 * Watermarks: a source batch's `watermark` enters as a watermark chunk behind the batch's records; operators pass it
 * to every reader without running on it; a sink reached by several paths from one source lets it through once it
 * came along each of them, and hands it to the sink after every write started before it has resolved. Its ticket is
 * released once the sink has taken it (for a buffering sink: once the records it covers are written).
 */
export class Graph {
  readonly #parts: GraphParts;
  readonly #sources = new Map<string, Subject<Chunk>>();
  readonly #readers = new Map<string, number>();
  /** Per operator, the branches some node reads (a watermark chunk is passed on to each). */
  readonly #readBranches = new Map<string, Set<string>>();
  readonly #read = new Set<string>();
  readonly #ended = new Set<string>();
  readonly #operatorStreams = new Map<string, Observable<Routed>>();
  readonly #building = new Set<string>();
  readonly #dlqInput: Subject<Chunk> | null;
  /** Asks every sink's and the DLQ's micro-batcher to write what it holds now (see {@link flushPending}). */
  readonly #flushes = new Subject<void>();
  readonly #dlqStream: Observable<unknown> | null;
  readonly #terminals: Observable<unknown>[];
  readonly #subscriptions: Subscription[] = [];
  #settle: (() => void) | undefined;

  constructor(parts: GraphParts) {
    this.#parts = parts;
    const { spec } = parts;
    for (const source of spec.sources) this.#sources.set(source.name, new Subject<Chunk>());
    for (const node of [...spec.operators, ...spec.sinks]) {
      for (const edge of node.from) {
        if (!this.#sources.has(edge.node) && !parts.operators.has(edge.node)) {
          throw new SluiceError(
            'PIPELINE_INVALID',
            `node "${node.name}" reads from "${edge.node}", which is not a source or operator`,
          );
        }
        if (edge.branch !== undefined && this.#sources.has(edge.node)) {
          throw new SluiceError(
            'PIPELINE_INVALID',
            `node "${node.name}" reads branch "${edge.branch}" of source "${edge.node}"; only operators have branches`,
          );
        }
        this.#read.add(edge.node);
        if (edge.branch !== undefined) {
          const branches = this.#readBranches.get(edge.node) ?? new Set<string>();
          branches.add(edge.branch);
          this.#readBranches.set(edge.node, branches);
        }
        const key = edgeKey(edge.node, edge.branch);
        this.#readers.set(key, (this.#readers.get(key) ?? 0) + 1);
      }
    }
    this.#dlqInput = parts.dlq === null ? null : new Subject<Chunk>();
    this.#terminals = spec.sinks.map((sink) => this.#sinkStream(sink, parts.sinks.get(sink.name)!));
    // An operator nobody reads still runs (its dead letters matter) and must finish before the DLQ does.
    for (const operator of spec.operators) {
      if (!this.#read.has(operator.name)) this.#terminals.push(this.#operatorStream(operator.name));
    }
    const { dlq } = parts;
    const counters = parts.counters.dlq;
    this.#dlqStream =
      this.#dlqInput === null || dlq === null || spec.dlq === null || counters === null
        ? null
        : this.#dlqInput.pipe(
            microBatch(spec.dlq.batch, this.#flushes),
            groupCommit(spec.dlq.batch, (batch) => this.#writeDeadLetters(dlq, batch, counters)),
          );
  }

  /** How many nodes read `node` (or its `branch`). */
  readers(node: string, branch?: string): number {
    return this.#readers.get(edgeKey(node, branch)) ?? 0;
  }

  /** Pushes a chunk read by `source`; the caller has retained the ticket once per reader. */
  emit(source: string, chunk: Chunk): void {
    this.#sources.get(source)!.next(chunk);
  }

  /**
   * Writes what every sink and the DLQ hold without waiting for their `max_wait`: a source calls it when its
   * in-flight budget is spent, since nothing it could still read would fill those writes, and their
   * acknowledgements are what gives the budget back.
   */
  flushPending(): void {
    this.#flushes.next();
  }

  /** Marks `source` as finished: no more chunks will come from it. */
  endSource(source: string): void {
    if (this.#ended.has(source)) return;
    this.#ended.add(source);
    this.#sources.get(source)!.complete();
    this.#settle?.();
  }

  /**
   * Sends dead letters to the DLQ; the caller has retained `ticket` once for them, released when the DLQ write
   * resolves. Without a DLQ the pipeline fails (the ticket stays held, so the input is not acknowledged).
   */
  deadLetter(letters: readonly DeadLetter[], ticket: BatchTicket): void {
    const input = this.#dlqInput;
    if (input === null) {
      const first = letters[0]!;
      this.#parts.fail(
        new SluiceError(
          'DEAD_LETTER_WITHOUT_DLQ',
          `node "${first.node}" set aside ${letters.length} record(s) (first from source "${first.source.name}" at ` +
            `${first.source.position}: ${first.reason}), but the pipeline has no dlq sink to keep them; ` +
            'add a `dlq:` section to the pipeline config (nothing is dropped silently)',
        ),
      );
      return;
    }
    this.#parts.telemetry?.deadLettered(letters);
    const now = Date.now();
    const records = letters.map((letter): ChangeRecord => ({
      op: 'insert',
      key: null,
      before: null,
      after: deadLetterRow(letter, now),
      source: letter.source,
      sourceTimeMs: null,
      ingestTimeMs: now,
      headers: {},
    }));
    input.next({ records, ticket });
  }

  /**
   * Subscribes every stream. Resolves when every sink and the DLQ have finished (each source ended and everything
   * drained, or a stream failed: the failure went to `fail`).
   */
  start(): Promise<void> {
    return new Promise<void>((resolve) => {
      const dlqInput = this.#dlqInput;
      let pending = this.#terminals.length + this.#sources.size;
      let dlqDone = this.#dlqStream === null;
      const dlqFinished = (): void => {
        dlqDone = true;
        if (pending === 0) resolve();
      };
      // The DLQ input completes once every other stream is done: only then can no more dead letters come.
      const drainDlq = (): void => {
        if (dlqDone) resolve();
        else dlqInput!.complete();
      };
      this.#settle = () => {
        if (--pending === 0) drainDlq();
      };
      if (this.#dlqStream !== null) {
        this.#subscriptions.push(
          this.#dlqStream.subscribe({
            error: (error: unknown) => (this.#parts.fail(asSluiceError(error)), dlqFinished()),
            complete: dlqFinished,
          }),
        );
      }
      for (const terminal of this.#terminals) {
        this.#subscriptions.push(
          terminal.subscribe({
            error: (error: unknown) => (this.#parts.fail(asSluiceError(error)), this.#settle!()),
            complete: this.#settle,
          }),
        );
      }
      if (pending === 0) drainDlq();
    });
  }

  /** Tears every stream down at once (a forced stop): pending chunks are dropped unacknowledged. */
  dispose(): void {
    for (const subscription of this.#subscriptions) subscription.unsubscribe();
  }

  #input(edges: readonly Edge[]): Observable<Chunk> {
    const inputs = edges.map((edge) => this.#output(edge));
    return inputs.length === 1 ? inputs[0]! : merge(...inputs);
  }

  #output(edge: Edge): Observable<Chunk> {
    const source = this.#sources.get(edge.node);
    if (source !== undefined) return source;
    const routed = this.#operatorStream(edge.node);
    const branch = edge.branch;
    return routed.pipe(
      map((output) => (branch === undefined ? output.main : output.branches?.[branch])),
      filter(isChunk),
    );
  }

  #operatorStream(name: string): Observable<Routed> {
    const built = this.#operatorStreams.get(name);
    if (built !== undefined) return built;
    if (this.#building.has(name))
      throw new SluiceError('PIPELINE_INVALID', `operator "${name}" reads its own output (a cycle)`);
    this.#building.add(name);
    const spec = this.#parts.spec.operators.find((operator) => operator.name === name)!;
    const operator = this.#parts.operators.get(name)!;
    const { runner, telemetry } = this.#parts;
    let failed = false;
    /** Routes a batch's output (or passes a watermark), in input order; undefined when nothing goes on. */
    type Step = () => Routed | undefined;
    const skip: Step = () => undefined;
    // Runs the operator on a chunk when it starts; what it gives is routed later, in input order. On the workers,
    // several chunks may run at once (`runner.overlap`), so `failed` is checked again when each is routed.
    const start = (chunk: Chunk): Step | Promise<Step> => {
      // After a failing record, later input is neither passed on nor acknowledged: it is read again after a restart.
      if (failed) return skip;
      if (chunk.watermark !== undefined) return () => (failed ? undefined : this.#passWatermark(name, chunk));
      const end = telemetry?.operator(name, chunk.ticket, chunk.records.length);
      const thrown = (error: unknown): Step => {
        end?.({ error });
        const wrapped = operatorError(name, chunk, error);
        return () => {
          if (failed) return undefined;
          throw wrapped;
        };
      };
      const route = (output: OperatorResult): Step => () => {
        end?.(PipelineTelemetry.operatorOutcome(output));
        if (failed) return undefined;
        if (output.failure !== undefined) failed = true;
        return this.#route(name, chunk, output);
      };
      let result: OperatorResult | Promise<OperatorResult>;
      try {
        result =
          end === undefined
            ? runner.run(name, operator, chunk.records)
            : end.within(() => runner.run(name, operator, chunk.records));
      } catch (error) {
        return thrown(error);
      }
      return result instanceof Promise ? result.then(route, thrown) : route(result);
    };
    const stream = this.#input(spec.from).pipe(
      workerOverlap(start, () => runner.overlap?.(name) ?? 1),
      map((step) => step()),
      filter((routed): routed is Routed => routed !== undefined),
      share(),
    );
    this.#building.delete(name);
    this.#operatorStreams.set(name, stream);
    return stream;
  }

  #passWatermark(name: string, chunk: Chunk): Routed {
    const { ticket } = chunk;
    const readers = this.readers(name);
    let branches: Record<string, Chunk> | undefined;
    if (readers > 0) ticket.retain(readers);
    for (const branch of this.#readBranches.get(name) ?? []) {
      ticket.retain(this.readers(name, branch));
      (branches ??= {})[branch] = chunk;
    }
    ticket.release();
    return { main: readers > 0 ? chunk : undefined, branches };
  }

  /** How many paths lead from `source` to `node` (a source or operator) along the spec's edges. */
  #paths(source: string, node: string, memo: Map<string, number>): number {
    if (this.#sources.has(node)) return node === source ? 1 : 0;
    const known = memo.get(node);
    if (known !== undefined) return known;
    const spec = this.#parts.spec.operators.find((operator) => operator.name === node);
    const count = (spec?.from ?? []).reduce((sum, edge) => sum + this.#paths(source, edge.node, memo), 0);
    memo.set(node, count);
    return count;
  }

  /**
   * Lets a watermark chunk through to a sink once it came along every path from its source (releasing the pieces of
   * the earlier arrivals); other chunks pass.
   */
  #watermarkGate(spec: SinkSpec): (chunk: Chunk) => boolean {
    const needed = new Map<string, number>();
    const arrivals = new Map<string, number>();
    return (chunk) => {
      const watermark = chunk.watermark;
      if (watermark === undefined) return true;
      let paths = needed.get(watermark.source);
      if (paths === undefined) {
        const memo = new Map<string, number>();
        paths = spec.from.reduce((sum, edge) => sum + this.#paths(watermark.source, edge.node, memo), 0);
        needed.set(watermark.source, paths);
      }
      if (paths <= 1) return true;
      const key = `${watermark.source}\n${watermark.value}`;
      const seen = (arrivals.get(key) ?? 0) + 1;
      if (seen < paths) {
        arrivals.set(key, seen);
        chunk.ticket.release();
        return false;
      }
      arrivals.delete(key);
      return true;
    };
  }

  #route(name: string, chunk: Chunk, result: OperatorResult): Routed {
    const counters = this.#parts.counters.operators[name]!;
    const { ticket } = chunk;
    const total = chunk.records.length;
    counters.in += total;
    let outputs = result.records.length;
    counters.out += outputs;
    let main: Chunk | undefined;
    let branches: Record<string, Chunk> | undefined;
    const readers = outputs > 0 ? this.readers(name) : 0;
    if (readers > 0) {
      ticket.retain(readers);
      main = { records: result.records, ticket };
    }
    if (result.branches !== undefined) {
      for (const branch in result.branches) {
        const records = result.branches[branch]!;
        if (records.length === 0) continue;
        outputs += records.length;
        counters.branches[branch] = (counters.branches[branch] ?? 0) + records.length;
        const branchReaders = this.readers(name, branch);
        if (branchReaders > 0) {
          ticket.retain(branchReaders);
          (branches ??= {})[branch] = { records, ticket };
        }
      }
    }
    const dead = result.dead ?? [];
    counters.deadLettered += dead.length;
    const handled = result.failure === undefined ? total : result.failure.handled;
    counters.filtered += Math.max(0, handled - outputs - dead.length);
    if (dead.length > 0) {
      ticket.retain();
      this.deadLetter(dead, ticket);
    }
    if (result.failure !== undefined) {
      ticket.limit(result.failure.handled);
      this.#parts.fail(result.failure.error);
    }
    ticket.release();
    return { main, branches };
  }

  #sinkStream(spec: SinkSpec, writer: SinkWriter): Observable<unknown> {
    const counters = this.#parts.counters.sinks[spec.name]!;
    const writes = new Set<Promise<void>>();
    let watermarks: Promise<void> = Promise.resolve();
    return this.#input(spec.from).pipe(
      filter(this.#watermarkGate(spec)),
      microBatch(spec.batch, this.#flushes),
      groupCommit(spec.batch, (batch) => {
        if (batch.watermark === undefined) {
          const write = this.#write(writer, batch, counters);
          writes.add(write);
          return write.finally(() => writes.delete(write));
        }
        const { source, value } = batch.watermark;
        const before = [...writes, watermarks];
        const applied = (async () => {
          await Promise.all(before);
          await writer.watermark(source, value);
          for (const ticket of batch.tickets) ticket.release();
        })();
        watermarks = applied.catch(() => undefined);
        return applied;
      }),
    );
  }

  async #write(writer: SinkWriter, batch: MicroBatch, counters: SinkCounters): Promise<void> {
    const { rejected, applied } = await this.#traced(writer, batch);
    if (applied === undefined) {
      this.#written(batch, rejected, counters);
      return;
    }
    for (const ticket of batch.tickets) ticket.park();
    applied.then(
      (late) => {
        for (const ticket of batch.tickets) ticket.unpark();
        this.#written(batch, rejected.length === 0 ? late : [...rejected, ...late], counters);
      },
      (error: unknown) => this.#parts.fail(asSluiceError(error)),
    );
  }

  /** Counts a write that is durable and releases its pieces (after the DLQ write of its rejected records). */
  #written(batch: MicroBatch, rejected: readonly DeadLetter[], counters: SinkCounters): void {
    counters.written += batch.records.length - rejected.length;
    counters.rejected += rejected.length;
    const { tickets } = batch;
    if (rejected.length === 0) {
      for (const ticket of tickets) ticket.release();
      return;
    }
    // The batch counts as handled once its rejected records are in the DLQ.
    const group = new BatchTicket(tickets[0]!.bytesPerRecord, () => {
      for (const ticket of tickets) ticket.release();
    });
    this.#parts.telemetry?.inherit(group, tickets[0]);
    group.retain();
    this.deadLetter(rejected, group);
    group.release();
  }

  /** One write of `batch` to `writer`, inside its span when tracing is on. */
  #traced(writer: SinkWriter, batch: MicroBatch): ReturnType<SinkWriter['write']> {
    const telemetry = this.#parts.telemetry;
    if (telemetry === undefined) return writer.write(batch.records);
    return telemetry.write(writer.node, batch.records, batch.tickets, () => writer.write(batch.records));
  }

  async #writeDeadLetters(
    writer: SinkWriter,
    batch: MicroBatch,
    counters: { written: number },
  ): Promise<void> {
    const { rejected } = await this.#traced(writer, batch);
    counters.written += batch.records.length - rejected.length;
    if (rejected.length > 0) {
      const first = rejected[0]!;
      throw new SluiceError(
        'DEAD_LETTER_REJECTED',
        `dlq sink "${writer.node}" refused ${rejected.length} dead letter(s) (first from source "${first.source.name}" ` +
          `at ${first.source.position}): ${first.reason}`,
      );
    }
    for (const ticket of batch.tickets) ticket.release();
  }
}

function operatorError(node: string, chunk: Chunk, error: unknown): SluiceError {
  if (error instanceof PipelineFailure) return error;
  const first = chunk.records[0];
  const where =
    first === undefined ? '' : ` (first from source "${first.source.name}" at ${first.source.position})`;
  return new SluiceError(
    'OPERATOR_FAILED',
    `operator "${node}" threw on a batch of ${chunk.records.length} records${where}: ${messageOf(error)}`,
    {
      cause: error,
    },
  );
}

function asSluiceError(error: unknown): SluiceError {
  return error instanceof SluiceError
    ? error
    : new SluiceError('PIPELINE_ERROR', `pipeline stream failed: ${messageOf(error)}`, { cause: error });
}
