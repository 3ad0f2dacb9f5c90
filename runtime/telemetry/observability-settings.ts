/** When the pipeline posts its summary to a webhook. */
export type NotifyEvent = 'failure' | 'completion';

/** How progress of bounded sources is shown: a bar on a terminal and lines otherwise (`auto`), always one, or not at all. */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'off';

/**
 * The `observability:` section, defaults filled in. The engine reads none of it (it only uses `@opentelemetry/api`);
 * the CLI starts the OpenTelemetry SDK, the health server, progress output and notifications from it. Standard
 * `OTEL_*` environment variables fill what the section leaves out.
 */
export interface ObservabilitySettings {
  /** `service.name` of traces and metrics (default: `OTEL_SERVICE_NAME`, else `sluice-<pipeline>`). */
  readonly serviceName: string | undefined;
  readonly traces: {
    /** OTLP/HTTP (protobuf) traces URL; absent: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`, else no tracing. */
    readonly endpoint: string | undefined;
    /** Extra HTTP headers for the collector (an API key). */
    readonly headers: Readonly<Record<string, string>>;
    /** Fraction of batches traced (parent-based); absent: `OTEL_TRACES_SAMPLER`, else all. */
    readonly sampleRatio: number | undefined;
  };
  readonly metrics: {
    /** OTLP/HTTP (protobuf) metrics URL; absent: `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`, else Prometheus only. */
    readonly endpoint: string | undefined;
    readonly headers: Readonly<Record<string, string>>;
    /** How often metrics are pushed over OTLP, in milliseconds. */
    readonly intervalMs: number;
  };
  /** The HTTP server for `/healthz`, `/readyz` and `/metrics`, or null when the section has no `health`. */
  readonly health: {
    readonly host: string;
    /** 0 picks a free port (logged). */
    readonly port: number;
    /** `/readyz` fails when a source has records in flight and no acknowledgement for this long, in milliseconds. */
    readonly stallAfterMs: number;
  } | null;
  readonly progress: ProgressMode;
  /** How often a progress line is printed when not on a terminal, in milliseconds. */
  readonly progressIntervalMs: number;
  /** The webhook that receives the summary, or null. */
  readonly notify: {
    readonly url: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly on: readonly NotifyEvent[];
  } | null;
}

/** Defaults of the `observability:` section. */
export const OBSERVABILITY_DEFAULTS = {
  healthHost: '127.0.0.1',
  healthPort: 9464,
  stallAfterMs: 120_000,
  metricsIntervalMs: 10_000,
  progressIntervalMs: 10_000,
  /** Spans kept for export at most; more are dropped and counted (an unreachable collector never blocks). */
  spanQueue: 4_096,
  /** Longest one OTLP export may take before it is abandoned, in milliseconds. */
  exportTimeoutMs: 5_000,
  /** Longest a webhook notification may take, in milliseconds. */
  notifyTimeoutMs: 5_000,
} as const;
