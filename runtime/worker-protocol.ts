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
 * - {@link WorkerTask} asks the thread to run one node on one batch (the records of one lane, in input order).
 * - The reply is the bytes of a {@link WorkerReply}: the node's result, or the message of what it threw.
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
 * One batch for one node. `records` holds `RecordCodec` bytes of a `ChangeRecord[]`; its buffer is transferred.
 * A task whose `node` is empty is a start-up check: the thread builds every node it was set up with and answers
 * with an empty result (or with what a build threw).
 */
export interface WorkerTask {
  readonly node: string;
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
 * What a worker answers: the node's result, or the message of what `process` threw (the node's own error); with
 * `ran` when the task carried a `traceparent`.
 */
export type WorkerReply = ({ readonly result: WireResult } | { readonly thrown: string }) & {
  readonly ran?: WorkerTiming;
};

/** An {@link OperatorResult} in a form the codec carries: the failure as its code, message and count. */
export interface WireResult {
  readonly records: ChangeRecord[];
  readonly branches?: Readonly<Record<string, ChangeRecord[]>>;
  readonly dead?: readonly DeadLetter[];
  readonly failure?: { readonly code: string; readonly message: string; readonly handled: number };
}

/** An operator result as it crosses the boundary. */
export function toWireResult(result: OperatorResult): WireResult {
  const { failure } = result;
  return {
    records: result.records,
    ...(result.branches === undefined ? {} : { branches: result.branches }),
    ...(result.dead === undefined ? {} : { dead: result.dead }),
    ...(failure === undefined
      ? {}
      : { failure: { code: failure.error.code, message: failure.error.message, handled: failure.handled } }),
  };
}

/** The operator result a {@link WireResult} stands for; a failure becomes a `PipelineFailure` with its code. */
export function fromWireResult(wire: WireResult): OperatorResult {
  const { failure } = wire;
  return {
    records: wire.records,
    ...(wire.branches === undefined ? {} : { branches: wire.branches }),
    ...(wire.dead === undefined ? {} : { dead: wire.dead }),
    ...(failure === undefined
      ? {}
      : { failure: { error: new PipelineFailure(failure.code, failure.message), handled: failure.handled } }),
  };
}
