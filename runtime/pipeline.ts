import type { Logger } from 'pino';
import type { CheckpointStore } from './checkpoint-store.js';
import type { BuildContext, ComponentRegistry } from './component.js';
import { SluiceError, messageOf } from './errors.js';
import { Graph } from './graph.js';
import { InFlightBudget } from './in-flight-budget.js';
import { NamespacedCheckpointStore } from './namespaced-checkpoint-store.js';
import type { BatchOperator } from './operator.js';
import type { OperatorRunner } from './operator-runner.js';
import type { PipelineSpec, SinkSpec } from './pipeline-spec.js';
import { PipelineCounters, type PipelineSummary } from './pipeline-summary.js';
import type { Sink } from './sink.js';
import type { Source, SourceBacklog } from './source.js';
import { SinkWriter } from './sink-writer.js';
import { SourceRunner } from './source-runner.js';
import { Supervisor } from './supervisor.js';
import { OBSERVABILITY_DEFAULTS } from './telemetry/observability-settings.js';
import type { Readiness } from './telemetry/pipeline-health.js';
import { PipelineTelemetry } from './telemetry/pipeline-telemetry.js';
import { WorkerOperatorRunner } from './worker-operator-runner.js';

/** What {@link Pipeline.create} needs besides the spec. */
export interface PipelineOptions {
  /** The component types configs may name. */
  readonly registry: ComponentRegistry;
  /** The root logger; nodes get children bound to the pipeline and node. */
  readonly logger: Logger;
  /** Where sources without an offset store of their own keep checkpoints. Not closed by the pipeline. */
  readonly checkpoints: CheckpointStore;
  /** How operators run on a batch (default: as `runtime.workers` says; see `WorkerOperatorRunner.forPipeline`). */
  readonly operatorRunner?: OperatorRunner;
}

/** What `create` needs of a component definition (its schema and checks ran when the config was loaded). */
interface Buildable<T> {
  readonly type: string;
  create(config: Record<string, unknown>, context: BuildContext): T | Promise<T>;
}

interface SinkNode {
  readonly spec: SinkSpec;
  readonly sink: Sink;
  readonly supervisor: Supervisor;
  readonly logger: Logger;
  connected: boolean;
}

/**
 * A running pipeline: sources → operators → sinks compiled to an RxJS graph, with per-source in-flight budgets,
 * sink micro-batching and retries, dead-letter routing, supervised connectors and checkpointed acknowledgements.
 *
 * `run()` connects the sinks and the DLQ, then the sources, and resolves with a summary when every bounded source
 * has ended and everything is written, or after `stop()` has drained. It rejects with the first failure (a
 * `PipelineFailure` from an operator keeps its code and message; other errors name the node), with
 * `SHUTDOWN_TIMEOUT` when draining outlasts `runtime.shutdownTimeoutMs`, and with `FORCED_STOP` after
 * `forceStop()`. Every connector is closed exactly once per connect, sources before sinks, on every path.
 */
export class Pipeline {
  /** The spec this pipeline was built from. */
  readonly spec: PipelineSpec;
  readonly #logger: Logger;
  readonly #counters: PipelineCounters;
  readonly #operators: ReadonlyMap<string, BatchOperator>;
  readonly #sources: ReadonlyMap<string, Source>;
  readonly #sinks: readonly SinkNode[];
  readonly #runners: readonly SourceRunner[];
  readonly #graph: Graph;
  readonly #runner: OperatorRunner;
  readonly #telemetry: PipelineTelemetry;
  readonly #reading = new AbortController();
  readonly #forcing = new AbortController();
  #failure: SluiceError | undefined;
  #started = false;
  #startedAt = 0;
  #forced = false;
  #timedOut = false;
  #shutdownTimer: NodeJS.Timeout | undefined;

  private constructor(
    spec: PipelineSpec,
    options: PipelineOptions,
    built: {
      sources: ReadonlyMap<string, Source>;
      operators: ReadonlyMap<string, BatchOperator>;
      sinks: ReadonlyMap<string, Sink>;
      runner: OperatorRunner;
    },
  ) {
    this.spec = spec;
    this.#logger = options.logger.child({ pipeline: spec.name });
    this.#counters = new PipelineCounters(spec);
    this.#operators = built.operators;
    this.#sources = built.sources;
    const { runtime } = spec;
    const runner = built.runner;
    this.#telemetry = new PipelineTelemetry(spec, {
      counters: () => this.counters(),
      stallAfterMs: spec.observability?.health?.stallAfterMs ?? OBSERVABILITY_DEFAULTS.stallAfterMs,
      ...(runner instanceof WorkerOperatorRunner ? { workerUtilization: () => runner.utilization() } : {}),
      backlog: () => this.#backlog(),
    });
    const sinkSpecs = spec.dlq === null ? spec.sinks : [...spec.sinks, spec.dlq];
    this.#sinks = sinkSpecs.map((sinkSpec) => {
      const logger = this.#logger.child({ node: sinkSpec.name });
      return {
        spec: sinkSpec,
        sink: built.sinks.get(sinkSpec.name)!,
        supervisor: new Supervisor(sinkSpec.name, 'sink', runtime.restart, logger),
        logger,
        connected: false,
      };
    });
    const writer = (node: SinkNode): SinkWriter =>
      new SinkWriter(
        node.spec.name,
        node.sink,
        runtime.sinkWriteRetries,
        runtime.restart,
        node.logger,
        this.#forcing.signal,
        this.#telemetry.health,
      );
    const dlqNode = spec.dlq === null ? undefined : this.#sinks.find((node) => node.spec === spec.dlq);
    this.#runner = runner;
    this.#graph = new Graph({
      spec,
      operators: built.operators,
      sinks: new Map(
        this.#sinks.filter((node) => node !== dlqNode).map((node) => [node.spec.name, writer(node)]),
      ),
      dlq: dlqNode === undefined ? null : writer(dlqNode),
      runner: this.#runner,
      counters: this.#counters,
      telemetry: this.#telemetry,
      fail: (error) => this.#fail(error),
    });
    this.#runners = spec.sources.map((sourceSpec) => {
      const logger = this.#logger.child({ node: sourceSpec.name });
      return new SourceRunner(
        sourceSpec.name,
        built.sources.get(sourceSpec.name)!,
        {
          pipeline: spec.name,
          name: sourceSpec.name,
          logger,
          checkpoints: new NamespacedCheckpointStore(options.checkpoints, spec.name, sourceSpec.name),
          signal: this.#reading.signal,
        },
        {
          budget: new InFlightBudget(runtime.inFlightRecords, runtime.inFlightBytes),
          supervisor: new Supervisor(sourceSpec.name, 'source', runtime.restart, logger),
          graph: this.#graph,
          counters: this.#counters.sources[sourceSpec.name]!,
          telemetry: this.#telemetry,
        },
      );
    });
  }

  /**
   * Builds every node with its registered definition (no I/O happens yet). Rejects with `UNKNOWN_COMPONENT` for a
   * `type` the registry lacks, `COMPONENT_CREATE_FAILED` when a definition's `create` throws, and
   * `PIPELINE_INVALID` for edges that name no node or form a cycle.
   */
  static async create(spec: PipelineSpec, options: PipelineOptions): Promise<Pipeline> {
    const { registry, logger } = options;
    const operators = new Map<string, BatchOperator>();
    try {
      const build = async <T>(
        kind: string,
        definitions: ReadonlyMap<string, Buildable<T>>,
        node: { name: string; type: string; options: Record<string, unknown> },
      ): Promise<T> => {
        const definition = definitions.get(node.type);
        if (definition === undefined) {
          throw new SluiceError(
            'UNKNOWN_COMPONENT',
            `${kind} "${node.name}" has type "${node.type}", which this build does not know (known: ${[...definitions.keys()].join(', ') || 'none'})`,
          );
        }
        const context: BuildContext = {
          pipeline: spec.name,
          node: node.name,
          configDir: spec.configDir,
          logger: logger.child({ pipeline: spec.name, node: node.name }),
        };
        try {
          return await definition.create(node.options, context);
        } catch (error) {
          throw new SluiceError(
            'COMPONENT_CREATE_FAILED',
            `${kind} "${node.name}" (type "${node.type}") could not be built: ${messageOf(error)}`,
            {
              cause: error,
            },
          );
        }
      };
      const sources = new Map<string, Source>();
      for (const source of spec.sources)
        sources.set(source.name, await build('source', registry.sources, source));
      for (const operator of spec.operators)
        operators.set(operator.name, await build('operator', registry.operators, operator));
      const sinks = new Map<string, Sink>();
      for (const sink of spec.dlq === null ? spec.sinks : [...spec.sinks, spec.dlq]) {
        sinks.set(sink.name, await build(sink === spec.dlq ? 'dlq' : 'sink', registry.sinks, sink));
      }
      const runner =
        options.operatorRunner ??
        (await WorkerOperatorRunner.forPipeline(spec, registry, logger.child({ pipeline: spec.name })));
      return new Pipeline(spec, options, { sources, operators, sinks, runner });
    } catch (error) {
      await Promise.allSettled([...operators.values()].map(async (operator) => operator.close?.()));
      throw error;
    }
  }

  /** Runs the pipeline to its end (see the class comment). Call once. */
  async run(): Promise<PipelineSummary> {
    if (this.#started)
      throw new SluiceError(
        'PIPELINE_ALREADY_RUN',
        `pipeline "${this.spec.name}" was already run; create a new Pipeline`,
      );
    this.#started = true;
    this.#startedAt = performance.now();
    this.#logger.info(
      {
        sources: this.spec.sources.map((s) => s.name),
        sinks: this.spec.sinks.map((s) => s.name),
        dlq: this.spec.dlq?.name ?? null,
      },
      'pipeline starting',
    );
    const forced = new Promise<void>((resolve) =>
      this.#forcing.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    try {
      await Promise.race([this.#connectSinks(), forced]);
      if (!this.#reading.signal.aborted) {
        const drained = this.#graph.start();
        const reading = this.#runners.map((runner) =>
          runner.run().catch((error: unknown) => this.#fail(asSluiceError(error))),
        );
        await Promise.race([Promise.all([drained, ...reading]), forced]);
      }
    } finally {
      if (this.#forcing.signal.aborted) this.#graph.dispose();
      await this.#closeAll();
      clearTimeout(this.#shutdownTimer);
    }
    const summary = this.counters();
    this.#telemetry.health.finish(
      this.#failure === undefined
        ? `pipeline "${this.spec.name}" has ended`
        : `pipeline "${this.spec.name}" failed: ${this.#failure.message}`,
    );
    if (this.#failure !== undefined) {
      this.#logger.error({ err: this.#failure, summary }, `pipeline failed: ${this.#failure.message}`);
      throw this.#failure;
    }
    if (this.#forced) {
      this.#logger.warn({ summary }, 'pipeline force-stopped');
      throw new SluiceError(
        'FORCED_STOP',
        `pipeline "${this.spec.name}" was force-stopped before in-flight records drained; they will be read again`,
      );
    }
    if (this.#timedOut) {
      this.#logger.warn({ summary }, 'pipeline shutdown timed out');
      throw new SluiceError(
        'SHUTDOWN_TIMEOUT',
        `pipeline "${this.spec.name}" did not drain within ${this.spec.runtime.shutdownTimeoutMs} ms (runtime shutdown_timeout_ms); ` +
          'it was closed anyway and unwritten records will be read again',
      );
    }
    this.#logger.info({ summary }, 'pipeline finished');
    return summary;
  }

  /**
   * Graceful shutdown: stops reading, drains in-flight records to the sinks and the DLQ, lets acknowledgements
   * commit, then closes; bounded by `runtime.shutdownTimeoutMs`. Idempotent.
   */
  stop(): void {
    if (this.#reading.signal.aborted) return;
    this.#logger.info('pipeline stopping: draining in-flight records');
    this.#stopReading();
  }

  /** Closes everything at once without draining (a second signal). Idempotent. */
  forceStop(): void {
    if (this.#forcing.signal.aborted) return;
    this.#forced = true;
    this.#reading.abort();
    this.#forcing.abort();
  }

  /**
   * Whether the pipeline is ready (every connector connected and not failing, checkpoints advancing), with one
   * reason per problem otherwise; for `/readyz`.
   */
  readiness(): Readiness {
    return this.#telemetry.health.readiness();
  }

  /** Each source's backlog per partition, for the sources that report one (`Source.backlog`). */
  #backlog(): Map<string, readonly SourceBacklog[]> {
    const backlog = new Map<string, readonly SourceBacklog[]>();
    for (const [name, source] of this.#sources)
      if (source.backlog !== undefined) backlog.set(name, source.backlog());
    return backlog;
  }

  /**
   * How far each source that reports progress (`Source.progress`) has read, by node name: a bounded source always,
   * an unbounded one while it works through something of known size (a CDC source's initial snapshot).
   */
  progress(): Record<string, { done: number; total: number | null; unit: string }> {
    const progress: Record<string, { done: number; total: number | null; unit: string }> = {};
    for (const [name, source] of this.#sources) {
      const report = source.progress?.();
      if (report === undefined) continue;
      if (source.bounded || (report.total !== null && report.done < report.total)) progress[name] = report;
    }
    return progress;
  }

  /** The counters so far, with elapsed time and throughput since `run()` started. */
  counters(): PipelineSummary {
    return this.#counters.summary(this.#started ? performance.now() - this.#startedAt : 0);
  }

  #stopReading(): void {
    if (this.#reading.signal.aborted) return;
    this.#reading.abort();
    this.#shutdownTimer = setTimeout(() => {
      this.#timedOut = true;
      this.#forcing.abort();
    }, this.spec.runtime.shutdownTimeoutMs);
  }

  #fail(error: SluiceError): void {
    // After a forced stop, errors are consequences of it (writes cut short), not failures of their own.
    if (this.#failure !== undefined || this.#forcing.signal.aborted) return;
    this.#failure = error;
    this.#logger.warn({ err: error }, `pipeline failing: ${error.message}; draining what is in flight`);
    this.#stopReading();
  }

  async #connectSinks(): Promise<void> {
    const signal = this.#reading.signal;
    const results = await Promise.allSettled(
      this.#sinks.map(async (node) => {
        while (!signal.aborted && !this.#forcing.signal.aborted) {
          try {
            await node.sink.connect({ pipeline: this.spec.name, name: node.spec.name, logger: node.logger });
            node.connected = true;
            node.supervisor.succeeded();
            this.#telemetry.health.connected(node.spec.name);
            // Connected after a forced stop already closed everything: close it here.
            if (this.#forcing.signal.aborted) await this.#closeSink(node);
            return;
          } catch (error) {
            this.#telemetry.health.failed(node.spec.name, `connect failed: ${messageOf(error)}`);
            if (!(await node.supervisor.failed(error, 'connect', signal))) return;
          }
        }
      }),
    );
    for (const result of results) if (result.status === 'rejected') this.#fail(asSluiceError(result.reason));
  }

  async #closeSink(node: SinkNode): Promise<void> {
    if (!node.connected) return;
    node.connected = false;
    this.#telemetry.health.disconnected(node.spec.name);
    try {
      await node.sink.close();
    } catch (error) {
      node.logger.warn({ err: error }, `sink "${node.spec.name}" failed to close`);
    }
  }

  async #closeAll(): Promise<void> {
    await Promise.allSettled(this.#runners.map((runner) => runner.close()));
    await Promise.allSettled(this.#sinks.map((node) => this.#closeSink(node)));
    await Promise.allSettled(
      [...this.#operators].map(async ([name, operator]) => {
        try {
          await operator.close?.();
        } catch (error) {
          this.#logger.warn({ err: error, node: name }, `operator "${name}" failed to close`);
        }
      }),
    );
    try {
      await this.#runner.close?.(this.#forcing.signal.aborted);
    } catch (error) {
      this.#logger.warn({ err: error }, 'operator worker threads failed to close');
    }
  }
}

function asSluiceError(error: unknown): SluiceError {
  return error instanceof SluiceError
    ? error
    : new SluiceError('PIPELINE_ERROR', messageOf(error), { cause: error });
}
