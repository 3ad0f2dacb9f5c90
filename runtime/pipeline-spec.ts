import type { ConfigPath } from './component.js';
import type { ObservabilitySettings } from './telemetry/observability-settings.js';

/** An edge into a node: the upstream node and, for routers, the named branch (`from: router.high`). */
export interface Edge {
  readonly node: string;
  readonly branch?: string;
}

/** Where a node was declared, for error messages: the config file and the node's path in it. */
export interface Origin {
  readonly file: string;
  readonly path: ConfigPath;
}

/** A source node. `options` are the component's own settings, validated against its schema. */
export interface SourceSpec {
  readonly name: string;
  readonly type: string;
  readonly options: Record<string, unknown>;
  readonly origin: Origin;
}

/** An operator node. */
export interface OperatorSpec {
  readonly name: string;
  readonly type: string;
  readonly from: readonly Edge[];
  readonly options: Record<string, unknown>;
  readonly origin: Origin;
}

/** How a sink groups records into writes. */
export interface BatchPolicy {
  readonly maxRecords: number;
  /** Most records in a write that joins micro-batches which waited for a busy sink; at least `maxRecords`. */
  readonly maxJoinedRecords: number;
  readonly maxBytes: number;
  readonly maxWaitMs: number;
  readonly maxInFlight: number;
}

/** A sink node (also the DLQ, whose `from` is empty). */
export interface SinkSpec {
  readonly name: string;
  readonly type: string;
  readonly from: readonly Edge[];
  readonly batch: BatchPolicy;
  readonly options: Record<string, unknown>;
  readonly origin: Origin;
}

/** The `checkpoints:` section: the store sources keep their checkpoints in, instead of files. */
export interface CheckpointStoreSpec {
  /** A type of the registry's `checkpointStores`. */
  readonly type: string;
  readonly options: Record<string, unknown>;
  readonly origin: Origin;
}

/** How the supervisor restarts failed connectors. */
export interface RestartPolicy {
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * Where operators run: `inline` on the engine's thread; a number of worker threads (lanes); or `auto`, which
 * measures each operator inline first and moves it to `os.availableParallelism()` threads only when its work
 * outweighs the cost of the hop (see `WorkerOperatorRunner`).
 */
export type WorkersSetting = 'inline' | 'auto' | number;

/** Pipeline-wide runtime settings, defaults filled in from `DEFAULTS`. */
export interface RuntimeSettings {
  readonly inFlightRecords: number;
  readonly inFlightBytes: number;
  readonly shutdownTimeoutMs: number;
  /** Absolute path of the directory for file checkpoints. */
  readonly stateDir: string;
  readonly restart: RestartPolicy;
  readonly sinkWriteRetries: number;
  /** Where operators run (`runtime.workers`); absent means `DEFAULTS.workers` (inline). */
  readonly workers?: WorkersSetting;
  /** Longest run of one task on a worker thread (`runtime.worker_task_timeout`); absent means the default. */
  readonly workerTaskTimeoutMs?: number;
}

/**
 * A validated pipeline, ready to build: what the config loader produces from YAML and the engine consumes.
 * Node names are unique across sources, operators and sinks.
 */
export interface PipelineSpec {
  readonly name: string;
  /** Absolute path of the config file (empty for pipelines built in code). */
  readonly configFile: string;
  /** Directory relative paths are resolved against. */
  readonly configDir: string;
  readonly sources: readonly SourceSpec[];
  readonly operators: readonly OperatorSpec[];
  readonly sinks: readonly SinkSpec[];
  readonly dlq: SinkSpec | null;
  /** The `checkpoints:` section, when the config has one (absent: files under `runtime.stateDir`). */
  readonly checkpoints?: CheckpointStoreSpec;
  readonly runtime: RuntimeSettings;
  /** The `observability:` section, when the config has one (absent: every default; see `readObservability`). */
  readonly observability?: ObservabilitySettings;
  /** Values that must never appear in logs or errors (passwords, tokens read from the environment). */
  readonly secrets: readonly string[];
}
