import {
  context,
  diag,
  DiagLogLevel,
  metrics,
  propagation,
  trace,
  type DiagLogger,
} from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { MeterProvider, PeriodicExportingMetricReader, type IMetricReader } from '@opentelemetry/sdk-metrics';
import type { NodeSDK } from '@opentelemetry/sdk-node';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Environment } from '../runtime/config/index.js';
import { messageOf } from '../runtime/errors.js';
import {
  OBSERVABILITY_DEFAULTS,
  type ObservabilitySettings,
} from '../runtime/telemetry/observability-settings.js';

/** The OpenTelemetry SDK as the CLI runs it: where metrics can be scraped, and a once-only shutdown. */
export interface Telemetry {
  /** True when spans are exported to a collector. */
  readonly tracing: boolean;
  /** Answers a Prometheus scrape with the current metrics (text exposition format). */
  readonly serveMetrics: (request: IncomingMessage, response: ServerResponse) => void;
  /**
   * Exports what is pending (bounded by the export timeout) and unregisters the SDK. Runs once; later calls return
   * the same promise. Never rejects: failures are logged.
   */
  shutdown(): Promise<void>;
}

/** Options of {@link startTelemetry}. */
export interface TelemetryOptions {
  readonly pipeline: string;
  readonly settings: ObservabilitySettings;
  /** Where `OTEL_*` variables are read (default: the process's). */
  readonly env?: Environment;
  readonly logger: Logger;
}

/** The OpenTelemetry SDK's own diagnostics, on the pipeline's logger, at most once per message text. */
function diagnostics(logger: Logger): DiagLogger {
  const seen = new Set<string>();
  const once =
    (level: 'warn' | 'debug') =>
    (message: string, ...args: unknown[]): void => {
      if (seen.has(message)) return;
      if (seen.size < 100) seen.add(message);
      logger[level](
        { otel: args.map((arg) => (arg instanceof Error ? arg.message : arg)) },
        `telemetry: ${message}`,
      );
    };
  return {
    error: once('warn'),
    warn: once('warn'),
    info: once('debug'),
    debug: once('debug'),
    verbose: once('debug'),
  };
}

function firstSet(env: Environment, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/**
 * Starts the OpenTelemetry Node SDK for a pipeline run: metrics always (scraped from `/metrics` by the health server,
 * and pushed over OTLP/HTTP when a metrics endpoint is configured or `OTEL_EXPORTER_OTLP_(METRICS_)ENDPOINT` is
 * set); traces over OTLP/HTTP (protobuf) only when a traces endpoint is configured or set in the environment, so
 * that without a collector no span is recorded at all. Spans go through a bounded batch processor: a slow or
 * unreachable collector makes it drop spans (counted in `otel_sdk_processor_span_processed_total` with
 * `error_type="queue_full"`), never wait. `OTEL_SDK_DISABLED=true` turns everything off but `/metrics`;
 * `OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_TRACES_SAMPLER(_ARG)` and `OTEL_RESOURCE_ATTRIBUTES` apply
 * where the config says nothing. The Node SDK itself is loaded only when traces are exported.
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const { settings, logger } = options;
  const env = options.env ?? process.env;
  diag.setLogger(diagnostics(logger), DiagLogLevel.WARN);
  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
  const serviceName =
    settings.serviceName ?? firstSet(env, 'OTEL_SERVICE_NAME') ?? `sluice-${options.pipeline}`;
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ 'service.name': serviceName, 'sluice.pipeline': options.pipeline }));

  const prometheus = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
  const readers: IMetricReader[] = [prometheus];
  const metricsEndpoint =
    settings.metrics.endpoint ??
    firstSet(env, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (!disabled && metricsEndpoint !== undefined && env.OTEL_METRICS_EXPORTER?.trim() !== 'none') {
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({
          ...(settings.metrics.endpoint === undefined ? {} : { url: settings.metrics.endpoint }),
          headers: { ...settings.metrics.headers },
          timeoutMillis: OBSERVABILITY_DEFAULTS.exportTimeoutMs,
        }),
        exportIntervalMillis: settings.metrics.intervalMs,
        exportTimeoutMillis: Math.min(OBSERVABILITY_DEFAULTS.exportTimeoutMs, settings.metrics.intervalMs),
      }),
    );
  }
  const meterProvider = new MeterProvider({ resource, readers });
  metrics.setGlobalMeterProvider(meterProvider);

  const tracesEndpoint =
    settings.traces.endpoint ??
    firstSet(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const tracing = !disabled && tracesEndpoint !== undefined && env.OTEL_TRACES_EXPORTER?.trim() !== 'none';
  let sdk: NodeSDK | undefined;
  if (tracing) {
    const processor = new BatchSpanProcessor({
      exporter: new OTLPTraceExporter({
        ...(settings.traces.endpoint === undefined ? {} : { url: settings.traces.endpoint }),
        headers: { ...settings.traces.headers },
        timeoutMillis: OBSERVABILITY_DEFAULTS.exportTimeoutMs,
      }),
      maxQueueSize: OBSERVABILITY_DEFAULTS.spanQueue,
      maxExportBatchSize: 512,
      exportTimeoutMillis: OBSERVABILITY_DEFAULTS.exportTimeoutMs,
      selfObsMeterProvider: meterProvider,
    });
    const ratio = settings.traces.sampleRatio;
    const { NodeSDK } = await import('@opentelemetry/sdk-node');
    sdk = new NodeSDK({
      resource,
      autoDetectResources: false,
      spanProcessors: [processor],
      logRecordProcessors: [],
      instrumentations: [],
      ...(ratio === undefined
        ? {}
        : { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }) }),
    });
    sdk.start();
    logger.info({ endpoint: tracesEndpoint, serviceName }, 'telemetry: exporting traces over OTLP/HTTP');
  }

  let stopped: Promise<void> | undefined;
  return {
    tracing,
    serveMetrics: (request, response) => prometheus.getMetricsRequestHandler(request, response),
    shutdown() {
      stopped ??= (async () => {
        const results = await Promise.allSettled([sdk?.shutdown(), meterProvider.shutdown()]);
        for (const result of results)
          if (result.status === 'rejected')
            logger.warn(`telemetry: shutdown failed: ${messageOf(result.reason)}`);
        trace.disable();
        metrics.disable();
        propagation.disable();
        context.disable();
        diag.disable();
      })();
      return stopped;
    },
  };
}
