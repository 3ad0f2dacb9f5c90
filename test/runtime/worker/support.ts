// Pipelines whose operators run on real operator worker threads (cli/operator-worker.ts), for the worker tests.
import { fileURLToPath } from 'node:url';
import { OPERATOR_WORKER } from '../../../cli/operator-worker.js';
import { defaultRegistry } from '../../../cli/registry.js';
import { AckTracker } from '../../../runtime/ack-tracker.js';
import type { ComponentRegistry } from '../../../runtime/component.js';
import type { OperatorRunner } from '../../../runtime/operator-runner.js';
import type { OperatorSpec, PipelineSpec, RuntimeSettings } from '../../../runtime/pipeline-spec.js';
import type { ChangeRecord } from '../../../runtime/record.js';
import { Pipeline } from '../../../runtime/pipeline.js';
import type { Sink } from '../../../runtime/sink.js';
import type { Source, SourceBatch, SourceContext } from '../../../runtime/source.js';
import {
  WorkerOperatorRunner,
  type WorkerOperatorRunnerOptions,
} from '../../../runtime/worker-operator-runner.js';
import { MemoryCheckpointStore, build, silentLogger } from '../engine/fixtures.js';

/** The directory of the custom operator modules the workers load. */
export const FIXTURES_DIR = fileURLToPath(new URL('../../fixtures/operators/', import.meta.url));

export interface KeyedSourceOptions {
  readonly total: number;
  readonly batchSize: number;
  /** Records cycle through keys `{ k: 0 }` .. `{ k: keys - 1 }`. */
  readonly keys: number;
  /** `after.marker` of the record with this `seq`. */
  readonly markers?: ReadonlyMap<number, string>;
  /** Pause before each read, in milliseconds (to keep batches in flight at a stop). */
  readonly readDelayMs?: number;
  /** Keep producing past `total` until stopped. */
  readonly unbounded?: boolean;
}

/**
 * A source of records `{ k: seq % keys, seq }` keyed by `k`, committing the acknowledged prefix (the next `seq`)
 * like a real source would.
 */
export class KeyedSource implements Source {
  readonly bounded: boolean;
  readonly options: KeyedSourceOptions;
  /** The committed position: every record before it was acknowledged. */
  committed = 0;
  readRecords = 0;
  acked = 0;
  readonly #tracker = new AckTracker<number>(0);
  #next = 0;
  #context: SourceContext | undefined;

  constructor(options: KeyedSourceOptions) {
    this.options = options;
    this.bounded = options.unbounded !== true;
  }

  async connect(context: SourceContext): Promise<void> {
    this.#context = context;
  }

  async read(): Promise<SourceBatch | null> {
    const { total, batchSize, keys, markers, readDelayMs } = this.options;
    if (readDelayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, readDelayMs));
    if (this.#context!.signal.aborted || (this.bounded && this.#next >= total)) return null;
    const first = this.#next;
    const end = this.bounded ? Math.min(total, first + batchSize) : first + batchSize;
    const records: ChangeRecord[] = [];
    for (let seq = first; seq < end; seq++) {
      const marker = markers?.get(seq);
      records.push({
        op: 'insert',
        key: { k: seq % keys },
        before: null,
        after: { k: seq % keys, seq, ...(marker === undefined ? {} : { marker }) },
        source: { name: 'keyed', position: `keyed:${seq}` },
        sourceTimeMs: null,
        ingestTimeMs: Date.now(),
        headers: {},
      });
    }
    this.#next = end;
    this.readRecords += end - first;
    const id = this.#tracker.track(end);
    return {
      records,
      bytes: records.length * 100,
      ack: (count?: number) => {
        this.acked += count ?? records.length;
        const committed = this.#tracker.ack(id, count === undefined ? undefined : first + count);
        if (committed !== undefined) this.committed = committed;
      },
    };
  }

  async close(): Promise<void> {}
}

/** An operator node running a custom function from `worker-ops.ts`. */
export function customNode(
  name: string,
  from: string,
  exportName: string,
  options: Record<string, unknown> = {},
): OperatorSpec {
  return {
    name,
    type: 'custom',
    from: from.split(',').map((edge) => {
      const [node, branch] = edge.split('.');
      return branch === undefined ? { node: node! } : { node: node!, branch };
    }),
    options: { module: './worker-ops.ts', export: exportName, options },
    origin: { file: 'test.yaml', path: [] },
  };
}

/** A pipeline reading `source`, running `operators` (on workers, per `runtime.workers`), writing to `sinks`. */
export function workerPipeline(parts: {
  readonly name: string;
  readonly source: Source;
  readonly operators: readonly OperatorSpec[];
  readonly sinks: Record<string, { from: string; sink: Sink }>;
  readonly dlq?: Sink;
  readonly runtime: Partial<RuntimeSettings>;
}): { spec: PipelineSpec; registry: ComponentRegistry } {
  const built = build({
    name: parts.name,
    sources: { keyed: parts.source },
    sinks: Object.fromEntries(
      Object.entries(parts.sinks).map(([name, node]) => [
        name,
        { from: node.from.split(','), sink: node.sink, batch: { maxWaitMs: 5 } },
      ]),
    ),
    ...(parts.dlq === undefined ? {} : { dlq: { sink: parts.dlq, batch: { maxWaitMs: 5 } } }),
    runtime: parts.runtime,
  });
  const spec: PipelineSpec = { ...built.spec, configDir: FIXTURES_DIR, operators: parts.operators };
  const registry: ComponentRegistry = {
    ...built.registry,
    operators: defaultRegistry().operators,
    operatorWorker: OPERATOR_WORKER,
  };
  return { spec, registry };
}

/**
 * A runner for `spec`'s operators on its `runtime.workers` threads, with the thread entry of `registry`; `options`
 * override the runner's defaults (task size, retries, heap).
 */
export function workerRunner(
  spec: PipelineSpec,
  registry: ComponentRegistry,
  options: Partial<
    Pick<WorkerOperatorRunnerOptions, 'taskRecords' | 'retries' | 'maxHeapMb' | 'taskTimeoutMs'>
  > = {},
): WorkerOperatorRunner {
  const { workers } = spec.runtime;
  if (workers === undefined || workers === 'inline')
    throw new Error(`pipeline ${spec.name} runs its operators inline`);
  return new WorkerOperatorRunner({
    spec,
    entry: registry.operatorWorker!,
    workers,
    logger: silentLogger,
    ...options,
  });
}

/** `spec` as a pipeline with in-memory checkpoints, its operators run by `operatorRunner` (else as the spec says). */
export function createPipeline(
  spec: PipelineSpec,
  registry: ComponentRegistry,
  operatorRunner?: OperatorRunner,
): Promise<Pipeline> {
  return Pipeline.create(spec, {
    registry,
    logger: silentLogger,
    checkpoints: new MemoryCheckpointStore(),
    ...(operatorRunner === undefined ? {} : { operatorRunner }),
  });
}

/**
 * Wraps a worker runner and records, per node, the runs that waited for the threads (`run` gave a promise) and
 * the most of them running at once.
 */
export function countingRunner(runner: WorkerOperatorRunner): {
  runner: OperatorRunner;
  waited: Map<string, number>;
  peak: Map<string, number>;
} {
  const running = new Map<string, number>();
  const waited = new Map<string, number>();
  const peak = new Map<string, number>();
  return {
    waited,
    peak,
    runner: {
      run(node, operator, records) {
        const result = runner.run(node, operator, records);
        if (!(result instanceof Promise)) return result;
        waited.set(node, (waited.get(node) ?? 0) + 1);
        const now = (running.get(node) ?? 0) + 1;
        running.set(node, now);
        peak.set(node, Math.max(peak.get(node) ?? 0, now));
        return result.finally(() => running.set(node, running.get(node)! - 1));
      },
      overlap: (node) => runner.overlap(node),
      close: (force) => runner.close(force),
    },
  };
}
