import type { DeadLetter } from './dead-letter.js';
import { PipelineFailure } from './errors.js';
import type { OperatorResult } from './operator.js';
import type { ChangeRecord, Row } from './record.js';

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
  /**
   * Shared with the engine: the thread writes the `number` of each task into it once the task's nodes are built, as
   * it starts running them, so that the engine times the task from then (see `WorkerPool`).
   */
  readonly taskClock?: Int32Array;
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
  /** The task's number on its lane (set by `WorkerPool`), written to `WorkerSetup.taskClock` as it starts. */
  readonly number?: number;
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
 * An {@link OperatorResult} in a form the codec carries: the failure as its code, message and count; and, in place
 * of `records`, the least that rebuilds them from the node's input: when every record the node gave is one of its
 * input records, in input order (a filter, a rule set), only their indexes in the input (`kept`); when each is an
 * input record with only some of its `after` fields changed (a transform, a hash), those changes (`patched`).
 */
export interface WireResult {
  readonly records?: ChangeRecord[];
  readonly kept?: Uint32Array;
  readonly patched?: readonly AfterPatch[];
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

/**
 * A record made from the input record at its own index by changing only its `after` row: the fields set (changed or
 * added, the added ones last, in their order) and the ones removed.
 */
export interface AfterPatch {
  readonly set: Row;
  readonly unset: readonly string[];
}

/** The name msgpackr narrows (see `RecordCodec`); a patch never names it, so it cannot reach a prototype. */
const PROTO = '__proto__';

/** The field changes that turn `base` into `changed`, when applying them gives `changed`'s fields in its order. */
function afterChanges(base: Row, changed: Row): AfterPatch | undefined {
  if (Object.hasOwn(base, PROTO) || Object.hasOwn(changed, PROTO)) return undefined;
  const columns = Object.keys(changed);
  const set: Row = {};
  const unset: string[] = [];
  let next = 0;
  for (const column of Object.keys(base)) {
    if (!Object.hasOwn(changed, column)) {
      unset.push(column);
      continue;
    }
    if (columns[next] !== column) return undefined;
    if (changed[column] !== base[column]) set[column] = changed[column]!;
    next++;
  }
  for (; next < columns.length; next++) set[columns[next]!] = changed[columns[next]!]!;
  return { set, unset };
}

/** The `after` changes that make each of `output`'s records from the input record at its index, if so made. */
function afterPatches(
  output: readonly ChangeRecord[],
  input: readonly ChangeRecord[],
): AfterPatch[] | undefined {
  if (output.length !== input.length) return undefined;
  const patches: AfterPatch[] = [];
  for (let index = 0; index < output.length; index++) {
    const record = output[index]!;
    const base = input[index]!;
    if (
      record.after === null ||
      base.after === null ||
      Object.keys(record).length !== Object.keys(base).length
    )
      return undefined;
    for (const field in record)
      if (field !== 'after' && record[field as keyof ChangeRecord] !== base[field as keyof ChangeRecord])
        return undefined;
    const patch = afterChanges(base.after, record.after);
    if (patch === undefined) return undefined;
    patches.push(patch);
  }
  return patches;
}

/**
 * The record `patch` makes from `base`. A `__proto__` field of this side's `base` (the other side saw it narrowed)
 * stays an own field.
 */
function patchedRecord(base: ChangeRecord, patch: AfterPatch): ChangeRecord {
  const after: Row = {};
  const { set, unset } = patch;
  for (const column of Object.keys(base.after!)) {
    if (unset.includes(column)) continue;
    const value = Object.hasOwn(set, column) ? set[column]! : base.after![column]!;
    if (column === PROTO)
      Object.defineProperty(after, column, { value, enumerable: true, writable: true, configurable: true });
    else after[column] = value;
  }
  for (const column of Object.keys(set)) if (!Object.hasOwn(after, column)) after[column] = set[column]!;
  return { ...base, after };
}

/** The records of `result` as they cross back: indexes, `after` changes, or the records themselves. */
function wireRecords(
  records: ChangeRecord[],
  input: readonly ChangeRecord[],
): Pick<WireResult, 'records' | 'kept' | 'patched'> {
  const kept = keptIndexes(records, input);
  if (kept !== undefined) return { kept };
  const patched = afterPatches(records, input);
  return patched === undefined ? { records } : { patched };
}

/** An operator result as it crosses the boundary; `input` is what the node was given. */
export function toWireResult(result: OperatorResult, input: readonly ChangeRecord[]): WireResult {
  const { failure } = result;
  return {
    ...wireRecords(result.records, input),
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
  const { failure, kept, patched } = wire;
  return {
    records:
      kept !== undefined
        ? Array.from(kept, (index) => input[index]!)
        : patched !== undefined
          ? patched.map((patch, index) => patchedRecord(input[index]!, patch))
          : (wire.records ?? []),
    ...(wire.branches === undefined ? {} : { branches: wire.branches }),
    ...(wire.dead === undefined ? {} : { dead: wire.dead }),
    ...(failure === undefined
      ? {}
      : { failure: { error: new PipelineFailure(failure.code, failure.message), handled: failure.handled } }),
  };
}
