import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { CheckpointStore } from '../../runtime/checkpoint-store.js';
import { ConfigError, loadPipeline, type Environment } from '../../runtime/config/index.js';
import { createCheckpointStore } from '../../runtime/create-checkpoint-store.js';
import { SluiceError, messageOf } from '../../runtime/errors.js';
import { stringifyJson } from '../../runtime/json.js';
import { Pipeline } from '../../runtime/pipeline.js';
import type { PipelineSpec } from '../../runtime/pipeline-spec.js';
import type { PipelineSummary } from '../../runtime/pipeline-summary.js';
import { redact } from '../../runtime/redact.js';
import type { ObservabilitySettings } from '../../runtime/telemetry/observability-settings.js';
import { readObservability } from '../../runtime/telemetry/read-observability.js';
import { DryRunCapture } from '../dry-run-capture.js';
import { EXIT } from '../exit-codes.js';
import { startHealthServer, type HealthServer } from '../health-server.js';
import { createLogger } from '../logger.js';
import { notifyWebhook } from '../notify.js';
import { startProgress } from '../progress.js';
import { ReadOnlyCheckpointStore } from '../read-only-checkpoints.js';
import { defaultRegistry } from '../registry.js';
import { onShutdownSignals } from '../shutdown-signals.js';
import { formatSummary } from '../summary-report.js';
import { startTelemetry } from '../telemetry.js';

/** Options of `sluice run`. */
export interface RunOptions {
  /** Read and transform real input, write nothing, print what each sink would receive. */
  readonly dryRun?: boolean;
  /** Records shown per sink in a dry run. */
  readonly samples?: number;
  /** In a dry run, stop once every source has read this many records. */
  readonly limit?: number;
  readonly logLevel?: string | undefined;
  /** The environment `${VAR}` and `OTEL_*` are read from (default: the process's). */
  readonly env?: Environment;
  /** Called with the summary when the run ends well (the quickstart adds its own lines after it). */
  readonly onSummary?: (summary: PipelineSummary) => void;
  /** Changes the loaded pipeline before it is built (`sluice replay` swaps a source). */
  readonly adjustSpec?: (spec: PipelineSpec) => Promise<PipelineSpec>;
}

/** Maps how a run ended to the documented exit code. */
function exitCodeOf(error: unknown): number {
  if (error instanceof ConfigError) return EXIT.invalidConfig;
  if (error instanceof SluiceError && error.code === 'FORCED_STOP') return EXIT.forced;
  if (error instanceof SluiceError && error.code === 'SHUTDOWN_TIMEOUT') return EXIT.shutdownTimeout;
  return EXIT.pipelineFailed;
}

/**
 * `sluice run FILE`: loads and validates the pipeline, runs it until its bounded sources are drained or a signal
 * stops it (first SIGINT/SIGTERM drains, a second forces), prints the summary, and returns the exit code.
 *
 * Around the run, from the `observability:` section and the `OTEL_*` variables: the OpenTelemetry SDK (traces to a
 * collector when one is configured; metrics), the health server (`/healthz`, `/readyz`, `/metrics`) when
 * `observability.health` is set, progress of bounded sources on stderr, and the webhook notification on completion
 * or failure. All of it is stopped before the command returns.
 */
export async function runCommand(file: string, options: RunOptions = {}): Promise<number> {
  const registry = defaultRegistry();
  const env = options.env ?? process.env;
  let secrets: readonly string[] = [];
  try {
    const loaded = await loadPipeline(resolve(file), registry, { env });
    const spec = options.adjustSpec ? await options.adjustSpec(loaded) : loaded;
    secrets = spec.secrets;
    const logger = createLogger({ level: options.logLevel, secrets });
    const settings = spec.observability ?? readObservability(undefined);
    const telemetry = await startTelemetry({ pipeline: spec.name, settings, env, logger });
    let pipeline: Pipeline | undefined;
    const notify = async (error?: unknown): Promise<void> => {
      if (settings.notify === null) return;
      const summary = pipeline?.counters() ?? null;
      await notifyWebhook(
        settings.notify,
        { pipeline: spec.name, summary, ...(error === undefined ? {} : { error }) },
        secrets,
        logger,
      );
    };
    let store: CheckpointStore | undefined;
    let health: HealthServer | undefined;
    try {
      store = await createCheckpointStore(spec, registry, logger);
      const capture = options.dryRun ? new DryRunCapture(options.samples ?? 3) : null;
      const built = await Pipeline.create(spec, {
        registry: capture ? capture.wrap(registry) : registry,
        logger,
        checkpoints: capture ? new ReadOnlyCheckpointStore(store) : store,
      });
      pipeline = built;
      health = await serveHealth(settings, built, telemetry.serveMetrics, logger);
      await runObserved(built, settings, capture, options, logger);
      await notify();
      return EXIT.ok;
    } catch (error) {
      await notify(error);
      throw error;
    } finally {
      await health?.close();
      await store?.close();
      await telemetry.shutdown();
      logger.flush();
    }
  } catch (error) {
    if (error instanceof ConfigError) console.error(error.format());
    else console.error(`sluice: ${redact(messageOf(error), secrets)}`);
    return exitCodeOf(error);
  }
}

/** Starts the health server when `observability.health` is set; logs where it listens. */
async function serveHealth(
  settings: ObservabilitySettings,
  pipeline: Pipeline,
  metrics: (request: IncomingMessage, response: ServerResponse) => void,
  logger: Logger,
): Promise<HealthServer | undefined> {
  if (settings.health === null) return undefined;
  const server = await startHealthServer(settings.health.host, settings.health.port, {
    readiness: () => pipeline.readiness(),
    metrics,
  });
  logger.info({ url: server.url }, `health server listening on ${server.url} (/healthz, /readyz, /metrics)`);
  return server;
}

/** Runs the pipeline with signal handling and progress output; prints the summary when it ends well. */
async function runObserved(
  pipeline: Pipeline,
  settings: ObservabilitySettings,
  capture: DryRunCapture | null,
  options: RunOptions,
  logger: Logger,
): Promise<PipelineSummary> {
  const removeHandlers = onShutdownSignals(
    (signal) => {
      logger.info({ signal }, 'stopping: draining in-flight records (send the signal again to force)');
      pipeline.stop();
    },
    (signal) => {
      logger.warn({ signal }, 'forcing stop');
      pipeline.forceStop();
    },
  );
  const progress = startProgress({
    mode: settings.progress,
    intervalMs: settings.progressIntervalMs,
    read: () => pipeline.progress(),
  });
  const limitTimer = capture ? stopAtLimit(pipeline, options.limit ?? 1000) : undefined;
  try {
    const summary = await pipeline.run();
    progress.stop();
    if (capture) printDryRun(capture);
    console.log(formatSummary(summary));
    options.onSummary?.(summary);
    return summary;
  } finally {
    progress.stop();
    if (limitTimer) clearInterval(limitTimer);
    removeHandlers();
  }
}

/** In a dry run, stops the pipeline once every source has read `limit` records. */
function stopAtLimit(pipeline: Pipeline, limit: number): NodeJS.Timeout {
  return setInterval(() => {
    const { sources } = pipeline.counters();
    if (Object.values(sources).every((counters) => counters.read >= limit)) pipeline.stop();
  }, 50);
}

function printDryRun(capture: DryRunCapture): void {
  console.log('dry run: nothing was written; each sink would have received:');
  for (const [node, captured] of capture.sinks) {
    console.log(`  ${node}: ${captured.count} records`);
    for (const sample of captured.samples) console.log(`    ${stringifyJson(sample)}`);
  }
}
