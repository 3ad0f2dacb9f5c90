import { dirname, resolve } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import type {
  CheckpointStoreDefinition,
  ComponentRegistry,
  ConfigPath,
  SinkDefinition,
  SourceDefinition,
  OperatorDefinition,
} from '../component.js';
import { messageOf } from '../errors.js';
import { DEFAULTS } from '../limits.js';
import type {
  BatchPolicy,
  CheckpointStoreSpec,
  Edge,
  OperatorSpec,
  PipelineSpec,
  RuntimeSettings,
  SinkSpec,
  SourceSpec,
} from '../pipeline-spec.js';
import { redact } from '../redact.js';
import { readObservability } from '../telemetry/read-observability.js';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { describeValue } from './describe-value.js';
import { didYouMean } from './did-you-mean.js';
import { parseDuration } from './duration.js';
import type { Environment } from './interpolate-env.js';
import { PIPELINE_SCHEMA } from './pipeline-schema.js';
import { instancePath } from './instance-path.js';
import { schemaProblems, type SchemaProblem } from './schema-problems.js';
import { schemaValidator } from './schema-validator.js';
import { parseSize } from './size.js';
import { validateGraph, type GraphNode } from './validate-graph.js';
import { circularWatermarkWaits } from './watermark-waits.js';
import { readYamlTree, type YamlTree } from './yaml-tree.js';

/** Options of {@link parsePipeline} and `loadPipeline`. */
export interface LoadPipelineOptions {
  /** Where `${VAR}` values come from; `process.env` by default. */
  readonly env?: Environment;
}

type Kind = 'source' | 'operator' | 'sink' | 'dlq' | 'checkpoints';
type Definition = SourceDefinition | OperatorDefinition | SinkDefinition | CheckpointStoreDefinition;
type Mapping = Record<string, unknown>;

/** Keys every node of a kind may have beside its component's options. */
const ENVELOPE_KEYS: Readonly<Record<Kind, readonly string[]>> = {
  source: ['type'],
  operator: ['type', 'from'],
  sink: ['type', 'from', 'batch'],
  dlq: ['type', 'batch'],
  checkpoints: ['type'],
};

/** What each kind's `type` names, in messages. */
const TYPE_LABELS: Readonly<Record<Kind, string>> = {
  source: 'source',
  operator: 'operator',
  sink: 'sink',
  dlq: 'sink',
  checkpoints: 'checkpoint store',
};

/** YAML syntax errors listed before the rest are only counted. */
const MOST_SYNTAX_PROBLEMS = 10;

const SECTIONS = [
  ['sources', 'source'],
  ['operators', 'operator'],
  ['sinks', 'sink'],
] as const;

/** A node that passed its own checks, ready for the spec. */
interface CheckedNode {
  readonly kind: Kind;
  readonly name: string;
  readonly type: string;
  readonly from: readonly Edge[];
  readonly batch: Mapping | undefined;
  readonly options: Mapping;
  readonly path: ConfigPath;
}

/**
 * Turns the YAML text of a pipeline into a validated {@link PipelineSpec}. `file` is the path shown in problems
 * and resolved (against the working directory) for `configFile`/`configDir`. Reports every problem at once by
 * throwing {@link ConfigError}: YAML syntax, unknown and duplicate keys, wrong values, missing fields, unknown
 * component types, `from` entries that name nothing, cycles, unreachable and dead-end nodes, unset environment
 * variables, and the components' own `check()` issues. Messages never hold a secret.
 */
export async function parsePipeline(
  source: string,
  file: string,
  registry: ComponentRegistry,
  options: LoadPipelineOptions = {},
): Promise<PipelineSpec> {
  const configFile = resolve(file);
  const configDir = dirname(configFile);
  const lineCounter = new LineCounter();
  const document = parseDocument(source, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const position = (offset: number): { line: number; column: number } => {
    const { line, col } = lineCounter.linePos(offset);
    return { line: Math.max(line, 1), column: Math.max(col, 1) };
  };
  if (document.errors.length > 0) throw new ConfigError(syntaxProblems(document.errors, file, position));

  const tree = readYamlTree(document, source, options.env ?? process.env, (offset) => position(offset).line);
  const problems: ConfigProblem[] = tree.problems.map((problem) => ({
    file,
    ...position(problem.offset),
    message: problem.message,
  }));
  const report = (path: ConfigPath, at: 'key' | 'value', message: string, valueOffset?: number): void => {
    if (tree.unresolved(path)) return;
    const where = path.length === 0 ? '' : `${path.join('.')}: `;
    problems.push({ file, ...position(tree.locate(path, at, valueOffset)), message: `${where}${message}` });
  };
  const fail = (): never => {
    const secrets = [...tree.secrets];
    throw new ConfigError(
      problems.map((problem) => ({ ...problem, message: redact(problem.message, secrets) })),
    );
  };

  const root = tree.value;
  if (!isMapping(root)) {
    report(
      [],
      'value',
      `expected a mapping with \`name\`, \`sources\` and \`sinks\`, got ${describeValue(root)}`,
    );
    return fail();
  }
  const envelope = schemaValidator(PIPELINE_SCHEMA.envelope, 'the pipeline envelope');
  for (const problem of validateWithEnvironment(envelope, root, [], tree))
    report(problem.path, problem.at, problem.message);
  const context: NodeContext = { registry, configDir, report, tree };

  const checked: CheckedNode[] = [];
  const namedAt = new Map<string, ConfigPath>();
  let duplicated = false;
  for (const [section, kind] of SECTIONS) {
    const nodes = root[section];
    if (!isMapping(nodes)) continue;
    for (const [name, node] of Object.entries(nodes)) {
      const path = [section, name];
      if (!new RegExp(PIPELINE_SCHEMA.nodeName).test(name)) {
        report(
          path,
          'key',
          `expected a node name of letters, digits, \`_\` and \`-\` (not starting with a digit or \`-\`; no dots), got \`${name}\``,
        );
      }
      const first = namedAt.get(name);
      if (first === undefined) namedAt.set(name, path);
      else {
        duplicated = true;
        const firstLine = position(tree.locate(first, 'key')).line;
        report(
          path,
          'key',
          `node name \`${name}\` is already used by the ${String(first[0]).replace(/s$/, '')} on line ${firstLine}`,
        );
      }
      if (isMapping(node)) {
        const result = await checkNode(kind, name, node, path, context);
        if (result !== undefined) checked.push(result);
      }
    }
  }
  let dlq: CheckedNode | undefined;
  if (isMapping(root.dlq)) dlq = await checkNode('dlq', 'dlq', root.dlq, ['dlq'], context);
  let checkpoints: CheckedNode | undefined;
  if (isMapping(root.checkpoints))
    checkpoints = await checkNode('checkpoints', 'checkpoints', root.checkpoints, ['checkpoints'], context);

  // With a name used twice, `from` entries are ambiguous: the graph is checked once names are unique.
  if (!duplicated) {
    const graphProblems = validateGraph(graphOf(root));
    for (const problem of graphProblems) report(problem.path, problem.at, problem.message);
    if (graphProblems.length === 0)
      for (const problem of circularWatermarkWaits(checked, registry)) report(problem.path, 'key', problem.message);
  }

  if (problems.length > 0) return fail();

  const spec = (node: CheckedNode) => ({
    name: node.name,
    type: node.type,
    options: node.options,
    origin: { file: configFile, path: node.path },
  });
  const sinkSpec = (node: CheckedNode): SinkSpec => ({
    ...spec(node),
    from: node.from,
    batch: batchPolicy(node.batch),
  });
  return {
    name: root.name as string,
    configFile,
    configDir,
    sources: checked.filter((node) => node.kind === 'source').map((node): SourceSpec => spec(node)),
    operators: checked
      .filter((node) => node.kind === 'operator')
      .map((node): OperatorSpec => ({ ...spec(node), from: node.from })),
    sinks: checked.filter((node) => node.kind === 'sink').map(sinkSpec),
    dlq: dlq === undefined ? null : sinkSpec(dlq),
    ...(checkpoints === undefined ? {} : { checkpoints: checkpointStoreSpec(checkpoints, configFile) }),
    runtime: runtimeSettings(isMapping(root.runtime) ? root.runtime : {}, configDir),
    ...(root.observability === undefined ? {} : { observability: readObservability(root.observability) }),
    secrets: [...tree.secrets],
  };
}

/**
 * YAML syntax errors, the first on each line: after one mistake the parser's recovery reports every later
 * token, so at most {@link MOST_SYNTAX_PROBLEMS} are listed and the rest counted.
 */
function syntaxProblems(
  errors: readonly YAMLError[],
  file: string,
  position: (offset: number) => { line: number; column: number },
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const error of errors) {
    const at = position(error.pos[0]);
    if (problems.some((problem) => problem.line === at.line)) continue;
    problems.push({ file, ...at, message: error.message });
  }
  if (problems.length <= MOST_SYNTAX_PROBLEMS) return problems;
  const last = problems[MOST_SYNTAX_PROBLEMS - 1]!;
  const more = problems.length - MOST_SYNTAX_PROBLEMS;
  return [
    ...problems.slice(0, MOST_SYNTAX_PROBLEMS - 1),
    { ...last, message: `${last.message} (and ${more} more YAML syntax errors after it)` },
  ];
}

/** What checking a node needs beside the node. */
interface NodeContext {
  readonly registry: ComponentRegistry;
  readonly configDir: string;
  readonly report: (path: ConfigPath, at: 'key' | 'value', message: string, valueOffset?: number) => void;
  readonly tree: YamlTree;
}

/**
 * Validates `data` (found at `base` in the document) and returns its problems. A value that was one whole
 * `${VAR}` and has the wrong type is given its other reading (text ↔ number or boolean) and validated again,
 * since an environment variable's type is what the schema wants.
 */
function validateWithEnvironment(
  validate: ValidateFunction,
  data: unknown,
  base: ConfigPath,
  tree: YamlTree,
  extraKeys: readonly string[] = [],
): SchemaProblem[] {
  if (validate(data)) return [];
  let retried = false;
  for (const error of validate.errors ?? []) {
    if (error.keyword !== 'type') continue;
    const path = instancePath(error.instancePath, data);
    const alternative = tree.alternative([...base, ...path]);
    if (alternative === undefined || path.length === 0) continue;
    const parent = path
      .slice(0, -1)
      .reduce<unknown>((value, key) => (value as Record<string | number, unknown>)[key], data);
    (parent as Record<string | number, unknown>)[path.at(-1)!] = alternative.value;
    retried = true;
  }
  if (retried && validate(data)) return [];
  return schemaProblems(validate.errors ?? [], data, extraKeys);
}

/** Checks one node's envelope (`type`, `from`, `batch`) and its options against its component. */
async function checkNode(
  kind: Kind,
  name: string,
  node: Mapping,
  path: ConfigPath,
  { registry, configDir, report, tree }: NodeContext,
): Promise<CheckedNode | undefined> {
  let healthy = true;
  const problem = (at: ConfigPath, where: 'key' | 'value', message: string): void => {
    healthy = false;
    report(at, where, message);
  };

  const from = kind === 'operator' || kind === 'sink' ? readFrom(node, path, kind, problem) : [];
  if ((kind === 'source' || kind === 'dlq') && 'from' in node) {
    problem(
      [...path, 'from'],
      'key',
      kind === 'source'
        ? 'a source reads from no other node: remove `from`'
        : 'the DLQ receives the records every node sets aside: remove `from`',
    );
  }

  let batch: Mapping | undefined;
  if ((kind === 'sink' || kind === 'dlq') && 'batch' in node) {
    const validateBatch = schemaValidator(PIPELINE_SCHEMA.batch, 'a sink batch');
    const found = validateWithEnvironment(validateBatch, node.batch, [...path, 'batch'], tree);
    for (const { path: at, at: where, message } of found) problem([...path, 'batch', ...at], where, message);
    if (found.length === 0) {
      batch = node.batch as Mapping;
      const { maxRecords, maxJoinedRecords } = batchPolicy(batch);
      if (maxJoinedRecords < maxRecords)
        problem(
          [...path, 'batch', 'max_joined_records'],
          'value',
          `expected at least \`max_records\` (${maxRecords}): a write holds at least one whole micro-batch, got ${maxJoinedRecords}`,
        );
    }
  }

  const definitions: ReadonlyMap<string, Definition> =
    kind === 'source'
      ? registry.sources
      : kind === 'operator'
        ? registry.operators
        : kind === 'checkpoints'
          ? (registry.checkpointStores ?? new Map())
          : registry.sinks;
  const label = TYPE_LABELS[kind];
  const type = node.type;
  if (type === undefined) {
    problem(
      path,
      'key',
      `missing required field \`type\` (one of the ${label} types: ${[...definitions.keys()].join(', ')})`,
    );
    return undefined;
  }
  if (typeof type !== 'string') {
    problem([...path, 'type'], 'value', `expected a ${label} type as text, got ${describeValue(type)}`);
    return undefined;
  }
  const definition = definitions.get(type);
  if (definition === undefined) {
    const known =
      definitions.size === 0
        ? `no ${label} types are registered`
        : `known ${label} types: ${[...definitions.keys()].join(', ')}`;
    problem(
      [...path, 'type'],
      'value',
      `unknown ${label} type \`${type}\`${didYouMean(type, definitions.keys())}; ${known}`,
    );
    return undefined;
  }

  const options: Mapping = {};
  for (const [key, value] of Object.entries(node))
    if (!ENVELOPE_KEYS[kind].includes(key) && !(kind === 'source' && key === 'from')) options[key] = value;
  const validate = schemaValidator(definition.schema as object, `the ${label} type \`${type}\``, true);
  const found = validateWithEnvironment(validate, options, path, tree, ENVELOPE_KEYS[kind]);
  for (const { path: at, at: where, message } of found) problem([...path, ...at], where, message);
  if (found.length > 0) return undefined;
  if (definition.check !== undefined) {
    try {
      const issues = await definition.check(options, { configDir });
      for (const issue of issues) {
        healthy = false;
        report(
          [...path, ...issue.path],
          issue.path.length === 0 ? 'key' : 'value',
          issue.message,
          issue.offset,
        );
      }
    } catch (error) {
      problem(path, 'key', `the ${label} type \`${type}\` could not check its options: ${messageOf(error)}`);
    }
  }
  return healthy ? { kind, name, type, from, batch, options, path } : undefined;
}

/** Reads `from` (a name, `node.branch`, or a non-empty list of them) into edges. */
function readFrom(
  node: Mapping,
  path: ConfigPath,
  kind: 'operator' | 'sink',
  problem: (at: ConfigPath, where: 'key' | 'value', message: string) => void,
): Edge[] {
  if (!('from' in node)) {
    problem(path, 'key', `missing required field \`from\` (the node or nodes this ${kind} reads from)`);
    return [];
  }
  const entries = entriesOf(node.from, [...path, 'from']);
  if (entries === undefined) {
    problem(
      [...path, 'from'],
      'value',
      `expected a node name, \`node.branch\`, or a non-empty list of them, got ${describeValue(node.from)}`,
    );
    return [];
  }
  const edges: Edge[] = [];
  for (const { value, path: at } of entries) {
    const edge = typeof value === 'string' ? parseEdge(value) : undefined;
    if (edge === undefined)
      problem(at, 'value', `expected a node name or \`node.branch\`, got ${describeValue(value)}`);
    else edges.push(edge);
  }
  return edges;
}

function entriesOf(from: unknown, path: ConfigPath): { value: unknown; path: ConfigPath }[] | undefined {
  if (typeof from === 'string') return [{ value: from, path }];
  if (Array.isArray(from) && from.length > 0)
    return from.map((value: unknown, index) => ({ value, path: [...path, index] }));
  return undefined;
}

function parseEdge(text: string): Edge | undefined {
  if (!new RegExp(PIPELINE_SCHEMA.nodeRef).test(text)) return undefined;
  const dot = text.indexOf('.');
  return dot === -1 ? { node: text } : { node: text.slice(0, dot), branch: text.slice(dot + 1) };
}

/** The graph as drawn by every node's well-formed `from` entries, whatever else is wrong with the node. */
function graphOf(root: Mapping): GraphNode[] {
  const nodes: GraphNode[] = [];

  for (const [section, kind] of SECTIONS) {
    const entries = root[section];
    if (!isMapping(entries)) continue;
    for (const [name, node] of Object.entries(entries)) {
      const path = [section, name];
      const given = kind !== 'source' && isMapping(node) ? entriesOf(node.from, [...path, 'from']) : [];
      const from = given ?? [];
      nodes.push({
        name,
        kind,
        path,
        fromMissing:
          given === undefined ||
          from.some(({ value }) => typeof value !== 'string' || parseEdge(value) === undefined),
        from: from.flatMap(({ value, path: at }) => {
          const edge = typeof value === 'string' ? parseEdge(value) : undefined;
          return edge === undefined ? [] : [{ edge, path: at }];
        }),
      });
    }
  }
  return nodes;
}

function checkpointStoreSpec(node: CheckedNode, configFile: string): CheckpointStoreSpec {
  return { type: node.type, options: node.options, origin: { file: configFile, path: node.path } };
}

function batchPolicy(batch: Mapping | undefined): BatchPolicy {
  const maxRecords = (batch?.max_records as number | undefined) ?? DEFAULTS.sinkMaxRecords;
  return {
    maxRecords,
    maxJoinedRecords:
      (batch?.max_joined_records as number | undefined) ?? DEFAULTS.sinkJoinedBatches * maxRecords,
    maxBytes: parseSize(batch?.max_bytes ?? DEFAULTS.sinkMaxBytes),
    maxWaitMs: parseDuration(batch?.max_wait ?? DEFAULTS.sinkMaxWaitMs),
    maxInFlight: (batch?.max_in_flight as number | undefined) ?? DEFAULTS.sinkMaxInFlight,
  };
}

function runtimeSettings(runtime: Mapping, configDir: string): RuntimeSettings {
  const inFlight = isMapping(runtime.in_flight) ? runtime.in_flight : {};
  const restart = isMapping(runtime.restart) ? runtime.restart : {};
  return {
    inFlightRecords: (inFlight.records as number | undefined) ?? DEFAULTS.inFlightRecords,
    inFlightBytes: parseSize(inFlight.bytes ?? DEFAULTS.inFlightBytes),
    shutdownTimeoutMs: parseDuration(runtime.shutdown_timeout ?? DEFAULTS.shutdownTimeoutMs),
    stateDir: resolve(configDir, (runtime.state_dir as string | undefined) ?? DEFAULTS.stateDir),
    restart: {
      maxAttempts: (restart.max_attempts as number | undefined) ?? DEFAULTS.restartMaxAttempts,
      initialDelayMs: parseDuration(restart.initial_delay ?? DEFAULTS.restartInitialDelayMs),
      maxDelayMs: parseDuration(restart.max_delay ?? DEFAULTS.restartMaxDelayMs),
    },
    sinkWriteRetries: (runtime.sink_write_retries as number | undefined) ?? DEFAULTS.sinkWriteRetries,
    workers: (runtime.workers as RuntimeSettings['workers']) ?? DEFAULTS.workers,
    workerTaskTimeoutMs: parseDuration(runtime.worker_task_timeout ?? DEFAULTS.workerTaskTimeoutMs),
  };
}

function isMapping(value: unknown): value is Mapping {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
