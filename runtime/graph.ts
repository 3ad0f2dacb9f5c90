import {
  EMPTY,
  Subject,
  concatMap,
  filter,
  from,
  map,
  merge,
  mergeMap,
  of,
  share,
  type Observable,
  type Subscription,
} from 'rxjs';
import { BatchTicket } from './batch-ticket.js';
import type { Chunk } from './chunk.js';
import { type DeadLetter, deadLetterRow } from './dead-letter.js';
import { PipelineFailure, SluiceError, messageOf } from './errors.js';
import { type MicroBatch, microBatch } from './micro-batch.js';
import type { BatchOperator, OperatorResult } from './operator.js';
import type { OperatorRunner } from './operator-runner.js';
import type { PipelineCounters, SinkCounters } from './pipeline-summary.js';
import type { Edge, PipelineSpec, SinkSpec } from './pipeline-spec.js';
import type { ChangeRecord } from './record.js';
import type { SinkWriter } from './sink-writer.js';

/** What the graph is built from: the spec, the built nodes, and the pipeline's failure hook. */
export interface GraphParts {
  readonly spec: PipelineSpec;
  readonly operators: ReadonlyMap<string, BatchOperator>;
  readonly sinks: ReadonlyMap<string, SinkWriter>;
  readonly dlq: SinkWriter | null;
  readonly runner: OperatorRunner;
  readonly counters: PipelineCounters;
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
 * pieces when the write resolves (after the DLQ write of its rejected records, if any).
 */
export class Graph {
  readonly #parts: GraphParts;
  readonly #sources = new Map<string, Subject<Chunk>>();
  readonly #readers = new Map<string, number>();
  readonly #read = new Set<string>();
  readonly #ended = new Set<string>();
  readonly #operatorStreams = new Map<string, Observable<Routed>>();
  readonly #building = new Set<string>();
  readonly #dlqInput: Subject<Chunk> | null;
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
            microBatch(spec.dlq.batch),
            mergeMap((batch) => this.#writeDeadLetters(dlq, batch, counters), spec.dlq.batch.maxInFlight),
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
    const { runner } = this.#parts;
    let failed = false;
    const stream = this.#input(spec.from).pipe(
      concatMap((chunk): Observable<Routed> => {
        // After a failing record, later input is neither passed on nor acknowledged: it is read again after a restart.
        if (failed) return EMPTY;
        let result: OperatorResult | Promise<OperatorResult>;
        try {
          result = runner.run(name, operator, chunk.records);
        } catch (error) {
          throw operatorError(name, chunk, error);
        }
        const route = (output: OperatorResult): Routed => {
          if (output.failure !== undefined) failed = true;
          return this.#route(name, chunk, output);
        };
        if (result instanceof Promise) {
          return from(
            result.then(route, (error: unknown) => {
              throw operatorError(name, chunk, error);
            }),
          );
        }
        return of(route(result));
      }),
      share(),
    );
    this.#building.delete(name);
    this.#operatorStreams.set(name, stream);
    return stream;
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
    return this.#input(spec.from).pipe(
      microBatch(spec.batch),
      mergeMap((batch) => this.#write(writer, batch, counters), spec.batch.maxInFlight),
    );
  }

  async #write(writer: SinkWriter, batch: MicroBatch, counters: SinkCounters): Promise<void> {
    const rejected = await writer.write(batch.records);
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
    group.retain();
    this.deadLetter(rejected, group);
    group.release();
  }

  async #writeDeadLetters(
    writer: SinkWriter,
    batch: MicroBatch,
    counters: { written: number },
  ): Promise<void> {
    const rejected = await writer.write(batch.records);
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
