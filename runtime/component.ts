import type { Static, TSchema } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { CheckpointStore } from './checkpoint-store.js';
import type { BatchOperator } from './operator.js';
import type { Sink } from './sink.js';
import type { Source } from './source.js';

/** A place in a config document: keys and array indexes from the root. */
export type ConfigPath = readonly (string | number)[];

/**
 * A problem found in a config beyond what its JSON Schema says (an expression that does not compile, a module
 * that does not export the named function). `path` is relative to the component's own config object; `offset`
 * is a character offset inside the string found there, when the problem is inside it.
 */
export interface ConfigIssue {
  readonly path: ConfigPath;
  readonly message: string;
  readonly offset?: number;
}

/** What a component gets when it is built for a pipeline. */
export interface BuildContext {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The node's name (`checkpoints` for the checkpoint store). */
  readonly node: string;
  /** The directory of the config file: relative paths in the config are resolved against it. */
  readonly configDir: string;
  /** A logger bound to the pipeline and node. */
  readonly logger: Logger;
}

/**
 * A kind of source, operator, sink or checkpoint store that configs can name by `type`. `schema` describes the
 * component's own options (the loader adds `type`, `from` and `batch`); it feeds validation, the JSON Schema
 * `sluice schema` prints, and the config type the component receives.
 */
export interface ComponentDefinition<Schema extends TSchema, Instance> {
  /** The `type` configs use, e.g. `file`, `postgres`, `filter`. */
  readonly type: string;
  /** One line saying what it does (shown in the JSON Schema and `--help`). */
  readonly summary: string;
  /** JSON Schema (TypeBox) of the component's options. */
  readonly schema: Schema;
  /** Checks the schema cannot express (expressions compile, modules export what is named). */
  check?(config: Static<Schema>, context: Pick<BuildContext, 'configDir'>): ConfigIssue[] | Promise<ConfigIssue[]>;
  /** Builds an instance for one node. Does no I/O: connecting is the instance's `connect`. */
  create(config: Static<Schema>, context: BuildContext): Instance | Promise<Instance>;
}

/** What a source type may add to its definition. */
export interface SourceTraits {
  /**
   * The source's watermarks come only once its earlier batches are acknowledged (a CockroachDB webhook changefeed
   * sends a resolved timestamp only after every earlier POST was answered): a sink that waits for a watermark
   * before acknowledging cannot follow it.
   */
  readonly watermarksAwaitAcks?: boolean;
}

/** What a sink type may add to its definition. */
export interface SinkTraits<Config> {
  /**
   * Where `config` makes the sink acknowledge records only once a watermark covers them (e.g. `['consistency']`
   * for `consistency: resolved`), or undefined when it acknowledges them as written.
   */
  acksAwaitWatermarks?(config: Config): ConfigPath | undefined;
}

/** A source type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registry holds definitions of many schemas
export type SourceDefinition = ComponentDefinition<any, Source> & SourceTraits;
/** An operator type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registry holds definitions of many schemas
export type OperatorDefinition = ComponentDefinition<any, BatchOperator>;
/** A sink type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registry holds definitions of many schemas
export type SinkDefinition = ComponentDefinition<any, Sink> & SinkTraits<any>;
/** A checkpoint store type, named by the top-level `checkpoints:` section. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registry holds definitions of many schemas
export type CheckpointStoreDefinition = ComponentDefinition<any, CheckpointStore>;

/** Every component type a build of Sluice knows. The CLI assembles it; the runtime never imports components. */
export interface ComponentRegistry {
  readonly sources: ReadonlyMap<string, SourceDefinition>;
  readonly operators: ReadonlyMap<string, OperatorDefinition>;
  readonly sinks: ReadonlyMap<string, SinkDefinition>;
  /**
   * The types a pipeline's `checkpoints:` section may name (none when absent). A pipeline without the section keeps
   * its checkpoints in files under `runtime.state_dir`; whoever runs it builds the store (`PipelineSpec.checkpoints`).
   */
  readonly checkpointStores?: ReadonlyMap<string, CheckpointStoreDefinition>;
  /**
   * The module worker threads load to build this registry's operators (`cli/operator-worker.ts`, see
   * `runtime/worker-host.ts`). Needed when a pipeline sets `runtime.workers` to `auto` or a number; without it,
   * such a pipeline is refused with `WORKERS_UNAVAILABLE`.
   */
  readonly operatorWorker?: URL;
}

/** Declares a source type with its options' type inferred from its schema. */
export function defineSource<S extends TSchema>(definition: ComponentDefinition<S, Source> & SourceTraits): SourceDefinition {
  return definition;
}

/** Declares an operator type with its options' type inferred from its schema. */
export function defineOperator<S extends TSchema>(definition: ComponentDefinition<S, BatchOperator>): OperatorDefinition {
  return definition;
}

/** Declares a sink type with its options' type inferred from its schema. */
export function defineSink<S extends TSchema>(
  definition: ComponentDefinition<S, Sink> & SinkTraits<Static<S>>,
): SinkDefinition {
  return definition;
}

/** Declares a checkpoint store type with its options' type inferred from its schema. */
export function defineCheckpointStore<S extends TSchema>(
  definition: ComponentDefinition<S, CheckpointStore>,
): CheckpointStoreDefinition {
  return definition;
}
