// Small sources, sinks and operators implementing the runtime contracts, for engine tests.
import { setTimeout as sleep } from 'node:timers/promises';
import { Type } from '@sinclair/typebox';
import pino from 'pino';
import { AckTracker } from '../../../runtime/ack-tracker.js';
import type { CheckpointStore } from '../../../runtime/checkpoint-store.js';
import type {
  ComponentRegistry,
  OperatorDefinition,
  SinkDefinition,
  SourceDefinition,
} from '../../../runtime/component.js';
import type { DeadLetter } from '../../../runtime/dead-letter.js';
import { DEFAULTS } from '../../../runtime/limits.js';
import type { BatchOperator, OperatorResult } from '../../../runtime/operator.js';
import type {
  BatchPolicy,
  Edge,
  PipelineSpec,
  RuntimeSettings,
  SinkSpec,
} from '../../../runtime/pipeline-spec.js';
import type { ChangeRecord } from '../../../runtime/record.js';
import type { Sink, SinkContext, WriteResult } from '../../../runtime/sink.js';
import type { Source, SourceBatch, SourceContext } from '../../../runtime/source.js';

export const silentLogger = pino({ level: 'silent' });

/** A record with `after.id = id` from source `source`, position `source:id`. */
export function makeRecord(source: string, id: number): ChangeRecord {
  return {
    op: 'insert',
    key: { id },
    before: null,
    after: { id, source },
    source: { name: source, position: `${source}:${id}` },
    sourceTimeMs: null,
    ingestTimeMs: Date.now(),
    headers: {},
  };
}

/** Ids of records, in order. */
export function ids(records: readonly ChangeRecord[]): number[] {
  return records.map((record) => record.after!.id as number);
}

export interface ListSourceOptions {
  /** Records to produce (ids 0..total-1); with `bounded: false`, more are produced until the signal aborts. */
  total: number;
  batchSize: number;
  bounded?: boolean;
  /** Bytes reported per record. */
  bytesPerRecord?: number;
  /** `connect` rejects (retriably) this many times first. */
  failConnects?: number;
  /** `read` number n (1-based, counted over all incarnations) rejects when this returns an error. */
  failRead?: (readNumber: number) => Error | undefined;
  /** Ids that come as undecodable input (in `rejected`) instead of records. */
  rejectIds?: ReadonlySet<number>;
  /** Pause before each read resolves, in milliseconds. */
  readDelayMs?: number;
}

/**
 * A source of numbered records. Keeps its checkpoint (the next id) in the context's checkpoint store, committing
 * the contiguous acknowledged prefix with an AckTracker on each ack and on close, and resumes from it on connect.
 */
export class ListSource implements Source {
  readonly bounded: boolean;
  readonly options: ListSourceOptions;
  connects = 0;
  closes = 0;
  reads = 0;
  readRecords = 0;
  ackedRecords = 0;
  peakInFlight = 0;
  /** The first id of each batch, in ack order, with the count acked. */
  readonly acks: { first: number; count: number | undefined }[] = [];
  /** Committed positions (the next id), in commit order. */
  readonly commits: number[] = [];
  /** The id the last connect resumed from. */
  resumedFrom = -1;
  #next = 0;
  #tracker = new AckTracker<number>();
  #context: SourceContext | undefined;
  #connectFailures = 0;

  constructor(options: ListSourceOptions) {
    this.options = options;
    this.bounded = options.bounded ?? true;
  }

  async connect(context: SourceContext): Promise<void> {
    this.connects++;
    if (this.#connectFailures < (this.options.failConnects ?? 0)) {
      this.#connectFailures++;
      throw new Error(`connection refused (attempt ${this.#connectFailures})`);
    }
    this.#context = context;
    const saved = (await context.checkpoints.load('next')) as number | undefined;
    this.#next = saved ?? 0;
    this.resumedFrom = this.#next;
    this.#tracker = new AckTracker<number>(saved);
  }

  async read(): Promise<SourceBatch | null> {
    const context = this.#context!;
    this.reads++;
    const failure = this.options.failRead?.(this.reads);
    if (failure !== undefined) throw failure;
    if (this.options.readDelayMs !== undefined && !context.signal.aborted) {
      await sleep(this.options.readDelayMs);
    }
    if (this.#next >= this.options.total && this.bounded) return null;
    if (context.signal.aborted) return null;
    const first = this.#next;
    const end = this.bounded
      ? Math.min(first + this.options.batchSize, this.options.total)
      : first + this.options.batchSize;
    const records: ChangeRecord[] = [];
    const rejected: DeadLetter[] = [];
    for (let id = first; id < end; id++) {
      if (this.options.rejectIds?.has(id) === true) {
        rejected.push({
          node: context.name,
          reason: `line ${id} is not JSON`,
          source: { name: context.name, position: `${context.name}:${id}` },
          raw: `{bad ${id}`,
        });
      } else {
        records.push(makeRecord(context.name, id));
      }
    }
    this.#next = end;
    const count = end - first;
    this.readRecords += count;
    this.peakInFlight = Math.max(this.peakInFlight, this.readRecords - this.ackedRecords);
    const tracker = this.#tracker;
    const id = tracker.track(end);
    let acked = false;
    return {
      records,
      rejected,
      bytes: count * (this.options.bytesPerRecord ?? 100),
      ack: (handled?: number) => {
        if (acked) throw new Error(`batch at ${first} acknowledged twice`);
        acked = true;
        this.acks.push({ first, count: handled });
        this.ackedRecords += count;
        const committed = tracker.ack(id, handled === undefined ? undefined : first + handled);
        if (committed !== undefined && tracker === this.#tracker) this.commits.push(committed);
      },
    };
  }

  async close(): Promise<void> {
    this.closes++;
    const committed = this.#tracker.committable;
    if (committed !== undefined) await this.#context!.checkpoints.save('next', committed);
  }
}

export interface CollectSinkOptions {
  /** How long write number n (1-based) takes, in milliseconds. */
  writeDelayMs?: (writeNumber: number) => number;
  /** Write number n rejects with this error when it returns one. */
  failWrite?: (writeNumber: number) => Error | undefined;
  /** `connect` rejects with this error when it returns one, for attempt n (1-based). */
  failConnect?: (attempt: number) => Error | undefined;
  /** Records the sink refuses one by one. */
  reject?: (record: ChangeRecord) => boolean;
  /** Called when a write resolves, with the records written. */
  onWritten?: (records: readonly ChangeRecord[]) => void;
}

/** A sink that keeps what it writes in memory, with optional delays, failures and per-record rejections. */
export class CollectSink implements Sink {
  readonly records: ChangeRecord[] = [];
  readonly writeSizes: number[] = [];
  connects = 0;
  closes = 0;
  writes = 0;
  inFlight = 0;
  peakInFlight = 0;
  readonly #options: CollectSinkOptions;
  /** Aborted by `close`: a pending write then rejects, as when a real sink's connection is torn down. */
  readonly #closing = new AbortController();

  constructor(options: CollectSinkOptions = {}) {
    this.#options = options;
  }

  async connect(_context: SinkContext): Promise<void> {
    this.connects++;
    const failure = this.#options.failConnect?.(this.connects);
    if (failure !== undefined) throw failure;
  }

  async write(records: readonly ChangeRecord[]): Promise<WriteResult | void> {
    const number = ++this.writes;
    this.inFlight++;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    try {
      const delay = this.#options.writeDelayMs?.(number) ?? 0;
      if (delay > 0) await sleep(delay, undefined, { signal: this.#closing.signal });
      const failure = this.#options.failWrite?.(number);
      if (failure !== undefined) throw failure;
      const rejected: DeadLetter[] = [];
      for (const record of records) {
        if (this.#options.reject?.(record) === true) {
          rejected.push({
            node: 'sink',
            reason: 'value too long',
            record,
            source: { name: record.source.name, position: record.source.position },
          });
        } else {
          this.records.push(record);
        }
      }
      this.writeSizes.push(records.length);
      this.#options.onWritten?.(records);
      return { rejected };
    } finally {
      this.inFlight--;
    }
  }

  async close(): Promise<void> {
    this.closes++;
    this.#closing.abort();
  }
}

/** An operator from a function of a batch. */
export function operator(
  process: (records: ChangeRecord[]) => OperatorResult | Promise<OperatorResult>,
): BatchOperator & { closes: number } {
  const built = {
    closes: 0,
    process,
    async close() {
      built.closes++;
    },
  };
  return built;
}

/** A checkpoint store in memory. */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly values = new Map<string, unknown>();
  async load(key: string): Promise<unknown> {
    return this.values.get(key);
  }
  async save(key: string, checkpoint: unknown): Promise<void> {
    this.values.set(key, checkpoint);
  }
  async close(): Promise<void> {}
}

export interface TestSinkNode {
  readonly from: readonly string[];
  readonly sink: Sink;
  readonly batch?: Partial<BatchPolicy>;
}

export interface TestPipeline {
  readonly name?: string;
  readonly sources: Record<string, Source>;
  readonly operators?: Record<string, { from: readonly string[]; operator: BatchOperator }>;
  readonly sinks: Record<string, TestSinkNode>;
  readonly dlq?: { sink: Sink; batch?: Partial<BatchPolicy> };
  readonly runtime?: Partial<RuntimeSettings>;
}

function edge(text: string): Edge {
  const dot = text.indexOf('.');
  return dot < 0 ? { node: text } : { node: text.slice(0, dot), branch: text.slice(dot + 1) };
}

const origin = { file: 'test.yaml', path: [] };

function batchPolicy(batch: Partial<BatchPolicy> = {}): BatchPolicy {
  const maxRecords = batch.maxRecords ?? DEFAULTS.sinkMaxRecords;
  return {
    maxRecords,
    maxJoinedRecords: batch.maxJoinedRecords ?? DEFAULTS.sinkJoinedBatches * maxRecords,
    maxBytes: batch.maxBytes ?? DEFAULTS.sinkMaxBytes,
    maxWaitMs: batch.maxWaitMs ?? 5,
    maxInFlight: batch.maxInFlight ?? DEFAULTS.sinkMaxInFlight,
  };
}

/** A spec and a registry whose component types are the node names, each creating the given instance. */
export function build(test: TestPipeline): { spec: PipelineSpec; registry: ComponentRegistry } {
  const schema = Type.Object({});
  const sources = new Map<string, SourceDefinition>();
  const operators = new Map<string, OperatorDefinition>();
  const sinks = new Map<string, SinkDefinition>();
  for (const [name, source] of Object.entries(test.sources))
    sources.set(name, { type: name, summary: name, schema, create: () => source });
  for (const [name, node] of Object.entries(test.operators ?? {})) {
    operators.set(name, { type: name, summary: name, schema, create: () => node.operator });
  }
  const sinkSpecs: SinkSpec[] = [];
  for (const [name, node] of Object.entries(test.sinks)) {
    sinks.set(name, { type: name, summary: name, schema, create: () => node.sink });
    sinkSpecs.push({
      name,
      type: name,
      from: node.from.map(edge),
      batch: batchPolicy(node.batch),
      options: {},
      origin,
    });
  }
  let dlq: SinkSpec | null = null;
  if (test.dlq !== undefined) {
    const sink = test.dlq.sink;
    sinks.set('dlq', { type: 'dlq', summary: 'dlq', schema, create: () => sink });
    dlq = { name: 'dlq', type: 'dlq', from: [], batch: batchPolicy(test.dlq.batch), options: {}, origin };
  }
  const spec: PipelineSpec = {
    name: test.name ?? 'test',
    configFile: '',
    configDir: process.cwd(),
    sources: Object.keys(test.sources).map((name) => ({ name, type: name, options: {}, origin })),
    operators: Object.entries(test.operators ?? {}).map(([name, node]) => ({
      name,
      type: name,
      from: node.from.map(edge),
      options: {},
      origin,
    })),
    sinks: sinkSpecs,
    dlq,
    runtime: {
      inFlightRecords: DEFAULTS.inFlightRecords,
      inFlightBytes: DEFAULTS.inFlightBytes,
      shutdownTimeoutMs: 5_000,
      stateDir: process.cwd(),
      restart: { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 20 },
      sinkWriteRetries: 3,
      ...test.runtime,
    },
    secrets: [],
  };
  return { spec, registry: { sources, operators, sinks } };
}
