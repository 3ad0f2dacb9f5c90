import type { PipelineSpec } from './pipeline-spec.js';

/** Counters of a source node. */
export interface SourceCounters {
  /** Records read. */
  read: number;
  /** Input the source could not decode (sent to the DLQ). */
  rejected: number;
}

/** Counters of an operator node. */
export interface OperatorCounters {
  /** Records in. */
  in: number;
  /** Records out on the default output. */
  out: number;
  /** Records out per named branch. */
  branches: Record<string, number>;
  /** Records neither output nor dead-lettered. */
  filtered: number;
  /** Records sent to the DLQ. */
  deadLettered: number;
}

/** Counters of a sink node. */
export interface SinkCounters {
  /** Records written. */
  written: number;
  /** Records the sink refused one by one (sent to the DLQ). */
  rejected: number;
}

/** What a pipeline did: per-node counters, elapsed time and throughput. Live (from `counters()`) or final. */
export interface PipelineSummary {
  readonly pipeline: string;
  readonly sources: Readonly<Record<string, SourceCounters>>;
  readonly operators: Readonly<Record<string, OperatorCounters>>;
  readonly sinks: Readonly<Record<string, SinkCounters>>;
  /** The DLQ sink and the records written to it, or null without a DLQ. */
  readonly dlq: { readonly name: string; readonly written: number } | null;
  readonly elapsedSeconds: number;
  /** Records read per second, all sources together. */
  readonly recordsPerSecond: number;
}

/**
 * The engine's live counters, one mutable object per node (the hot path increments fields, nothing else).
 * `summary` copies them into a {@link PipelineSummary}.
 */
export class PipelineCounters {
  readonly pipeline: string;
  readonly sources: Record<string, SourceCounters> = {};
  readonly operators: Record<string, OperatorCounters> = {};
  readonly sinks: Record<string, SinkCounters> = {};
  readonly dlq: { readonly name: string; written: number } | null;

  constructor(spec: PipelineSpec) {
    this.pipeline = spec.name;
    for (const source of spec.sources) this.sources[source.name] = { read: 0, rejected: 0 };
    for (const operator of spec.operators) {
      this.operators[operator.name] = { in: 0, out: 0, branches: {}, filtered: 0, deadLettered: 0 };
    }
    for (const sink of spec.sinks) this.sinks[sink.name] = { written: 0, rejected: 0 };
    this.dlq = spec.dlq === null ? null : { name: spec.dlq.name, written: 0 };
  }

  /** A copy of the counters, with throughput over `elapsedMs`. */
  summary(elapsedMs: number): PipelineSummary {
    const sources: Record<string, SourceCounters> = {};
    let read = 0;
    for (const [name, counters] of Object.entries(this.sources)) {
      sources[name] = { ...counters };
      read += counters.read;
    }
    const operators: Record<string, OperatorCounters> = {};
    for (const [name, counters] of Object.entries(this.operators)) {
      operators[name] = { ...counters, branches: { ...counters.branches } };
    }
    const sinks: Record<string, SinkCounters> = {};
    for (const [name, counters] of Object.entries(this.sinks)) sinks[name] = { ...counters };
    const elapsedSeconds = elapsedMs / 1000;
    return {
      pipeline: this.pipeline,
      sources,
      operators,
      sinks,
      dlq: this.dlq === null ? null : { ...this.dlq },
      elapsedSeconds,
      recordsPerSecond: elapsedSeconds > 0 ? read / elapsedSeconds : 0,
    };
  }
}
