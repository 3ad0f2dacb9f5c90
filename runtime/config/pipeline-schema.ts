import { Type, type TSchema } from '@sinclair/typebox';
import { DEFAULTS } from '../limits.js';
import { DURATION_PATTERN } from './duration.js';
import { SIZE_PATTERN } from './size.js';
import { OBSERVABILITY_DEFAULTS } from '../telemetry/observability-settings.js';

/** The JSON Schema keyword marking a value read by `parseDuration` (`duration`) or `parseSize` (`size`). */
const UNIT = 'x-sluice-unit';

const duration = (description: string, fallback: number | string) =>
  Type.Unsafe<number | string>({
    type: ['number', 'string'],
    minimum: 0,
    pattern: DURATION_PATTERN,
    description: `${description} Milliseconds, or text like \`200ms\`, \`5s\`, \`2m\`, \`1h\`.`,
    default: fallback,
    [UNIT]: 'duration',
  });

const size = (description: string, fallback: number | string) =>
  Type.Unsafe<number | string>({
    type: ['number', 'string'],
    minimum: 1,
    pattern: SIZE_PATTERN,
    description: `${description} Bytes, or text like \`512KiB\`, \`8MiB\`, \`1GiB\`, \`10MB\`.`,
    default: fallback,
    [UNIT]: 'size',
  });

const NODE_NAME = '^[A-Za-z_][A-Za-z0-9_-]*$';
const NODE_REF = '^[A-Za-z_][A-Za-z0-9_-]*(\\.[A-Za-z0-9_-]+)?$';

const batch = Type.Partial(
  Type.Object(
    {
      max_records: Type.Integer({
        minimum: 1,
        default: DEFAULTS.sinkMaxRecords,
        description: 'Most records in one micro-batch.',
      }),
      max_joined_records: Type.Integer({
        minimum: 1,
        description: `Most records in one write when micro-batches that waited for a busy sink are joined (group commit; the write also stays within \`max_bytes\`); at least \`max_records\`; default ${DEFAULTS.sinkJoinedBatches} × \`max_records\`. Set it to \`max_records\` to write every micro-batch alone.`,
      }),
      max_bytes: size('Most approximate bytes in one write.', DEFAULTS.sinkMaxBytes),
      max_wait: duration('Longest a record waits for its batch to fill.', DEFAULTS.sinkMaxWaitMs),
      max_in_flight: Type.Integer({
        minimum: 1,
        default: DEFAULTS.sinkMaxInFlight,
        description: 'Writes in flight at once.',
      }),
    },
    { additionalProperties: false, description: 'How the sink groups records into writes.' },
  ),
);

const runtime = Type.Partial(
  Type.Object(
    {
      in_flight: Type.Partial(
        Type.Object(
          {
            records: Type.Integer({
              minimum: 1,
              default: DEFAULTS.inFlightRecords,
              description: 'Records a source may have read and not yet seen acknowledged.',
            }),
            bytes: size('Approximate bytes a source may have in flight.', DEFAULTS.inFlightBytes),
          },
          { additionalProperties: false, description: 'Bounds on unacknowledged data per source.' },
        ),
      ),
      shutdown_timeout: duration(
        'Longest graceful shutdown before it is forced.',
        DEFAULTS.shutdownTimeoutMs,
      ),
      state_dir: Type.String({
        minLength: 1,
        default: DEFAULTS.stateDir,
        description: "Directory for file checkpoints, relative to the config file's directory.",
      }),
      restart: Type.Partial(
        Type.Object(
          {
            max_attempts: Type.Integer({
              minimum: 0,
              default: DEFAULTS.restartMaxAttempts,
              description: 'Connector restarts before the pipeline gives up.',
            }),
            initial_delay: duration(
              'First restart delay; doubles each time.',
              DEFAULTS.restartInitialDelayMs,
            ),
            max_delay: duration('Longest restart delay.', DEFAULTS.restartMaxDelayMs),
          },
          { additionalProperties: false, description: 'How failed connectors are restarted.' },
        ),
      ),
      sink_write_retries: Type.Integer({
        minimum: 0,
        default: DEFAULTS.sinkWriteRetries,
        description: 'Retries of a failed sink write (retriable errors only) before the pipeline fails.',
      }),
      workers: Type.Union([Type.Literal('inline'), Type.Literal('auto'), Type.Integer({ minimum: 1, maximum: 256 })], {
        default: DEFAULTS.workers,
        description:
          'Where operators run: `inline` (the engine thread), a number of worker threads, or `auto` (measured per operator).',
      }),
      worker_task_timeout: duration(
        'Longest a task may run on a worker thread: then the thread is stopped and the task run again, then dead-lettered.',
        DEFAULTS.workerTaskTimeoutMs,
      ),
    },
    { additionalProperties: false, description: 'Pipeline-wide limits; every field has a default.' },
  ),
);

const headers = Type.Record(Type.String({ minLength: 1 }), Type.String(), {
  description: 'HTTP headers sent with every request (use `${VAR}` for secrets).',
});

const observability = Type.Partial(
  Type.Object(
    {
      service_name: Type.String({
        minLength: 1,
        description: '`service.name` of traces and metrics (default: OTEL_SERVICE_NAME, else `sluice-<pipeline>`).',
      }),
      traces: Type.Partial(
        Type.Object(
          {
            endpoint: Type.String({
              minLength: 1,
              description:
                'OTLP/HTTP traces URL, e.g. `http://collector:4318/v1/traces` (default: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT; without any, no tracing).',
            }),
            headers,
            sample_ratio: Type.Number({
              minimum: 0,
              maximum: 1,
              description: 'Fraction of batches traced (default: OTEL_TRACES_SAMPLER, else 1).',
            }),
          },
          { additionalProperties: false, description: 'Spans per batch and stage, sent to an OpenTelemetry collector.' },
        ),
      ),
      metrics: Type.Partial(
        Type.Object(
          {
            endpoint: Type.String({
              minLength: 1,
              description:
                'OTLP/HTTP metrics URL (default: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT; without any, Prometheus `/metrics` only).',
            }),
            headers,
            interval: duration('How often metrics are pushed over OTLP.', OBSERVABILITY_DEFAULTS.metricsIntervalMs),
          },
          { additionalProperties: false, description: 'Metrics pushed over OTLP (they are always on `/metrics`).' },
        ),
      ),
      health: Type.Partial(
        Type.Object(
          {
            host: Type.String({
              minLength: 1,
              default: OBSERVABILITY_DEFAULTS.healthHost,
              description: 'Address the health server listens on.',
            }),
            port: Type.Integer({
              minimum: 0,
              maximum: 65535,
              default: OBSERVABILITY_DEFAULTS.healthPort,
              description: 'Port of `/healthz`, `/readyz` and `/metrics` (0: any free port, logged).',
            }),
            stall_after: duration(
              '`/readyz` fails when a source has records in flight and no checkpoint progress for this long.',
              OBSERVABILITY_DEFAULTS.stallAfterMs,
            ),
          },
          { additionalProperties: false, description: 'Serves `/healthz`, `/readyz` and `/metrics` over HTTP.' },
        ),
      ),
      progress: Type.Union([Type.Literal('auto'), Type.Literal('bar'), Type.Literal('lines'), Type.Literal('off')], {
        default: 'auto',
        description: 'Progress of bounded sources: a bar on a terminal and lines otherwise (`auto`), `bar`, `lines` or `off`.',
      }),
      progress_interval: duration(
        'How often a progress line is printed when not on a terminal.',
        OBSERVABILITY_DEFAULTS.progressIntervalMs,
      ),
      notify: Type.Object(
        {
          url: Type.String({ pattern: '^https?://', description: 'Webhook URL that receives the summary as JSON.' }),
          headers: Type.Optional(headers),
          on: Type.Optional(
            Type.Array(Type.Union([Type.Literal('failure'), Type.Literal('completion')]), {
              minItems: 1,
              uniqueItems: true,
              default: ['failure', 'completion'],
              description: 'When to post: `failure`, `completion`.',
            }),
          ),
        },
        { additionalProperties: false, description: 'A webhook posted when the pipeline fails or completes.' },
      ),
    },
    { additionalProperties: false, description: 'Traces, metrics, health endpoints, progress and notifications.' },
  ),
);

const from = Type.Union(
  [Type.String({ pattern: NODE_REF }), Type.Array(Type.String({ pattern: NODE_REF }), { minItems: 1 })],
  {
    description: 'The node(s) this one reads from: a node name, `router.branch`, or a list of them (fan-in).',
  },
);

const nodes = (description: string, minProperties: number): TSchema =>
  Type.Unsafe<Record<string, object>>({
    type: 'object',
    minProperties,
    additionalProperties: { type: 'object' },
    description,
  });

/**
 * The pipeline file's envelope: everything but each component's own options, which its `type` selects. The shape:
 *
 * ```yaml
 * name: orders-to-warehouse            # required, [A-Za-z0-9_-]+
 * sources:                              # required, at least one; name → { type, ...options }
 *   orders: { type: file, path: ./data/orders.jsonl }
 * operators:                            # optional; name → { type, from, ...options }
 *   paid: { from: orders, type: filter, where: 'after.status == "paid"' }
 * sinks:                                # required, at least one; name → { type, from, batch?, ...options }
 *   out:
 *     from: paid                        # a node name, `router.branch`, or a list of them (fan-in)
 *     type: file
 *     path: ./out/orders.jsonl
 *     batch: { max_records: 1000, max_bytes: 8MiB, max_wait: 200ms, max_in_flight: 2 }
 * dlq: { type: file, path: ./out/dlq.jsonl, batch: {...} }   # optional; any sink type; no `from`
 * checkpoints: { type: postgres, url: '${PG_URL}' }   # optional; default: files in runtime.state_dir
 * runtime:                              # optional; every field defaults from runtime/limits.ts DEFAULTS
 *   in_flight: { records: 20000, bytes: 64MiB }
 *   shutdown_timeout: 30s
 *   state_dir: ./.sluice/state          # relative to the config file's directory
 *   restart: { max_attempts: 5, initial_delay: 200ms, max_delay: 30s }
 *   sink_write_retries: 8
 *   workers: inline                     # inline | auto | N worker threads
 *   worker_task_timeout: 60s
 * observability:                        # optional; see runtime/telemetry/observability-settings.ts
 *   traces: { endpoint: http://collector:4318/v1/traces, sample_ratio: 1 }
 *   health: { port: 9464 }              # /healthz, /readyz, /metrics on 127.0.0.1
 *   notify: { url: https://hooks.example.com/sluice, on: [failure] }
 * ```
 *
 * Node names are unique across sources, operators and sinks and match `^[A-Za-z_][A-Za-z0-9_-]*$` (a dot in
 * `from` separates a router's branch). Durations are milliseconds or text (`200ms`, `5s`, `2m`, `1h`); sizes are
 * bytes or text (`512KiB`, `8MiB`, `1GiB`, `10MB`). Any string may hold `${VAR}` or `${VAR:-default}`.
 * Schemas marked with the `x-sluice-unit` keyword hold durations or sizes the loader turns into numbers.
 */
export const PIPELINE_SCHEMA = {
  /** The keyword marking durations and sizes. */
  unitKeyword: UNIT,
  /** Pattern of node names. */
  nodeName: NODE_NAME,
  /** Pattern of one `from` entry: `node` or `node.branch`. */
  nodeRef: NODE_REF,
  /** A sink's `batch`. */
  batch,
  /** The `runtime` section. */
  runtime,
  /** The `observability` section. */
  observability,
  /** A node's `from`. */
  from,
  /** A duration option (what `parseDuration` reads), with its description and default. */
  duration,
  /** A size option (what `parseSize` reads), with its description and default. */
  size,
  /** The top level, with each node only required to be a mapping. */
  envelope: Type.Object(
    {
      name: Type.String({
        pattern: '^[A-Za-z0-9_-]+$',
        description: 'The pipeline name: letters, digits, `_`, `-`.',
      }),
      sources: nodes('Where records come from: name → { type, ...options }.', 1),
      operators: Type.Optional(
        nodes('What checks and reshapes records: name → { type, from, ...options }.', 0),
      ),
      sinks: nodes('Where records land: name → { type, from, batch?, ...options }.', 1),
      dlq: Type.Optional(
        Type.Object({}, { description: 'Where records set aside go: any sink type, without `from`.' }),
      ),
      checkpoints: Type.Optional(
        Type.Object(
          {},
          {
            description:
              'Where sources without an offset store of their own keep their checkpoints: a checkpoint store type and its options. Without it, files under `runtime.state_dir`.',
          },
        ),
      ),
      runtime: Type.Optional(runtime),
      observability: Type.Optional(observability),
    },
    { additionalProperties: false },
  ),
} as const;
