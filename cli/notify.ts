import type { Logger } from 'pino';
import { SluiceError, messageOf } from '../runtime/errors.js';
import type { PipelineSummary } from '../runtime/pipeline-summary.js';
import { redact } from '../runtime/redact.js';
import {
  OBSERVABILITY_DEFAULTS,
  type ObservabilitySettings,
} from '../runtime/telemetry/observability-settings.js';

/** How a run ended, for {@link notifyWebhook}. */
export interface RunOutcome {
  readonly pipeline: string;
  /** Null when the run ended before the pipeline was built (bad config, a component that could not be created). */
  readonly summary: PipelineSummary | null;
  /** The failure, or undefined when the run completed. */
  readonly error?: unknown;
}

/** The JSON body the webhook receives. */
export interface NotificationBody {
  readonly pipeline: string;
  readonly event: 'failure' | 'completion';
  /** ISO-8601 time of the notification. */
  readonly time: string;
  readonly summary: PipelineSummary | null;
  /** On failure: the error's stable code and its message (secrets masked). */
  readonly error?: { readonly code: string; readonly message: string };
}

/**
 * Posts the run's outcome as JSON to `observability.notify.url` when its event (`failure`, `completion`) is
 * selected. Waits at most `OBSERVABILITY_DEFAULTS.notifyTimeoutMs`; never throws: a webhook that fails or answers
 * non-2xx is logged as a warning (the pipeline's own outcome stands). Returns true when the webhook accepted it.
 */
export async function notifyWebhook(
  notify: NonNullable<ObservabilitySettings['notify']>,
  outcome: RunOutcome,
  secrets: readonly string[],
  logger: Logger,
): Promise<boolean> {
  const event = outcome.error === undefined ? 'completion' : 'failure';
  if (!notify.on.includes(event)) return false;
  const body: NotificationBody = {
    pipeline: outcome.pipeline,
    event,
    time: new Date().toISOString(),
    summary: outcome.summary,
    ...(outcome.error === undefined
      ? {}
      : {
          error: {
            code: outcome.error instanceof SluiceError ? outcome.error.code : 'PIPELINE_ERROR',
            message: redact(messageOf(outcome.error), secrets),
          },
        }),
  };
  try {
    const response = await fetch(notify.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...notify.headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(OBSERVABILITY_DEFAULTS.notifyTimeoutMs),
    });
    await response.body?.cancel();
    if (response.ok) return true;
    logger.warn(
      { status: response.status },
      `notification webhook answered ${response.status}, expected 2xx (observability.notify.url)`,
    );
  } catch (error) {
    logger.warn(
      `notification webhook failed (observability.notify.url): ${redact(messageOf(error), secrets)}`,
    );
  }
  return false;
}
