import { parseDuration } from '../config/duration.js';
import {
  OBSERVABILITY_DEFAULTS,
  type NotifyEvent,
  type ObservabilitySettings,
  type ProgressMode,
} from './observability-settings.js';

type Mapping = Record<string, unknown>;

function mapping(value: unknown): Mapping | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Mapping)
    : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function textRecord(value: unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, header] of Object.entries(mapping(value) ?? {}))
    if (typeof header === 'string') headers[name] = header;
  return headers;
}

/**
 * The `observability:` section (already validated against `PIPELINE_SCHEMA.observability`) with defaults filled in;
 * `undefined` (no section) gives every default: no health server, no notification, progress `auto`.
 */
export function readObservability(section: unknown): ObservabilitySettings {
  const root = mapping(section) ?? {};
  const traces = mapping(root.traces) ?? {};
  const metrics = mapping(root.metrics) ?? {};
  const health = mapping(root.health);
  const notify = mapping(root.notify);
  const ratio = traces.sample_ratio;
  return {
    serviceName: text(root.service_name),
    traces: {
      endpoint: text(traces.endpoint),
      headers: textRecord(traces.headers),
      sampleRatio: typeof ratio === 'number' ? ratio : undefined,
    },
    metrics: {
      endpoint: text(metrics.endpoint),
      headers: textRecord(metrics.headers),
      intervalMs: parseDuration(metrics.interval ?? OBSERVABILITY_DEFAULTS.metricsIntervalMs),
    },
    health:
      health === undefined
        ? null
        : {
            host: text(health.host) ?? OBSERVABILITY_DEFAULTS.healthHost,
            port: typeof health.port === 'number' ? health.port : OBSERVABILITY_DEFAULTS.healthPort,
            stallAfterMs: parseDuration(health.stall_after ?? OBSERVABILITY_DEFAULTS.stallAfterMs),
          },
    progress: (text(root.progress) as ProgressMode | undefined) ?? 'auto',
    progressIntervalMs: parseDuration(root.progress_interval ?? OBSERVABILITY_DEFAULTS.progressIntervalMs),
    notify:
      notify === undefined || typeof notify.url !== 'string'
        ? null
        : {
            url: notify.url,
            headers: textRecord(notify.headers),
            on: Array.isArray(notify.on) ? (notify.on as NotifyEvent[]) : ['failure', 'completion'],
          },
  };
}
