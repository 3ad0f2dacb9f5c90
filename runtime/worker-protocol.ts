import type { DeadLetter } from './dead-letter.js';
import { PipelineFailure } from './errors.js';
import type { OperatorResult } from './operator.js';
import type { ChangeRecord } from './record.js';

/**
 * The messages between the engine and its operator worker threads. Batches and results cross as msgpack bytes
 * (`RecordCodec`) whose `ArrayBuffer` is transferred, never cloned; the rest is small and structured-cloned.
 *
 * - {@link WorkerSetup} is the thread's `workerData`: what it needs to build the operator nodes it may be asked
 *   to run, with the same registry the engine used (`type` + `options`, as in the pipeline spec).
 * - {@link WorkerTask} asks the thread to run a chain of nodes on one batch (the records of one lane, in input
 *   order): the first node on the batch, each next one on what the one before gave.
 * - The reply is the bytes of a {@link WorkerReply}: each node's result, or the message of what one threw.
 */
export interface WorkerSetup {
  /** The pipeline's name (for the nodes' build context and logs). */
  readonly pipeline: string;
  /** The directory relative paths in options resolve against (user modules). */
  readonly configDir: string;
  /** The engine logger's level; the thread logs to stderr at it. */
  readonly logLevel: string;
  /** Values the thread's logs must mask (the pipeline's secrets). */
  readonly secrets: readonly string[];
  /** The nodes the thread may be asked to run; each is built on first use. */
  readonly nodes: readonly WorkerNode[];
}

/** An operator node as the worker builds it. */
export interface WorkerNode {
  readonly name: string;
  readonly type: string;
  readonly options: Record<string, unknown>;
}

/**
 * One batch for a chain of nodes. `records` holds `RecordCodec` bytes of a `ChangeRecord[]`; its buffer is
 * transferred. A task whose `nodes` is empty is a start-up check: the thread builds every node it was set up with
 * and answers with no results (or with what a build threw).
 */
export interface WorkerTask {
  /** The nodes to run in order, each on the previous one's records (the first on the task's). */
  readonly nodes: readonly string[];
  readonly records: Uint8Array<ArrayBuffer>;
  /** W3C trace context of the batch's span, so the worker's work can join the trace. */
  readonly traceparent?: string;
}

/** When a traced task ran on its thread, so the engine can record its span (the thread has no tracer of its own). */
export interface WorkerTiming {
  /** Milliseconds since the epoch, sub-millisecond precision. */
  readonly startMs: number;
  readonly endMs: number;
  /** The worker thread's `threadId`. */
  readonly threadId: number;
}

/**
 * What a worker answers: the result of each node of the task's chain, in order, or the message of what a node's
 * `process` threw (the node's own error); with `ran` when the task carried a `traceparent`. A chain stops at the
 * first node whose result has a failure: `results` then ends with it.
 */
export type WorkerReply = (
  { readonly results: readonly WireResult[] } | { readonly thrown: string; readonly node: string }
) & {
  readonly ran?: WorkerTiming;
};

/**
 * An {@link OperatorResult} in a form the codec carries: the failure as its code, message and count; and, when
 * every record the node gave is one of its input records, in input order (a filter, a rule set), only their
 * indexes in the input (`kept`), so records that did not change do not cross back.
 */
export interface WireResult {
  readonly records?: ChangeRecord[];
  readonly kept?: Uint32Array;
  readonly branches?: Readonly<Record<string, ChangeRecord[]>>;
  readonly dead?: readonly DeadLetter[];
  readonly failure?: { readonly code: string; readonly message: string; readonly handled: number };
}

/** The indexes in `input` of each of `output`'s records, when each is one of them and they keep input order. */
function keptIndexes(
  output: readonly ChangeRecord[],
  input: readonly ChangeRecord[],
): Uint32Array | undefined {
  const kept = new Uint32Array(output.length);
  let at = 0;
  for (let index = 0; index < output.length; index++) {
    const record = output[index];
    while (at < input.length && input[at] !== record) at++;
    if (at === input.length) return undefined;
    kept[index] = at++;
  }
  return kept;
}

/** An operator result as it crosses the boundary; `input` is what the node was given. */
export function toWireResult(result: OperatorResult, input: readonly ChangeRecord[]): WireResult {
  const { failure } = result;
  const kept = keptIndexes(result.records, input);
  return {
    ...(kept === undefined ? { records: result.records } : { kept }),
    ...(result.branches === undefined ? {} : { branches: result.branches }),
    ...(result.dead === undefined ? {} : { dead: result.dead }),
    ...(failure === undefined
      ? {}
      : { failure: { code: failure.error.code, message: failure.error.message, handled: failure.handled } }),
  };
}

/**
 * The operator result a {@link WireResult} stands for, given the node's `input` as this side holds it; a failure
 * becomes a `PipelineFailure` with its code.
 */
export function fromWireResult(wire: WireResult, input: readonly ChangeRecord[]): OperatorResult {
  const { failure, kept } = wire;
  return {
    records: kept === undefined ? (wire.records ?? []) : Array.from(kept, (index) => input[index]!),
    ...(wire.branches === undefined ? {} : { branches: wire.branches }),
    ...(wire.dead === undefined ? {} : { dead: wire.dead }),
    ...(failure === undefined
      ? {}
      : { failure: { error: new PipelineFailure(failure.code, failure.message), handled: failure.handled } }),
  };
}
