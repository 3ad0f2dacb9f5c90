import { context, trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** pino level: `trace`, `debug`, `info`, `warn`, `error`, `silent`. */
  level?: string;
  /** Human-readable output instead of JSON lines (default: when stderr is a terminal). */
  pretty?: boolean;
  /** Values to replace with `***` wherever they appear in a log line. */
  secrets?: readonly string[];
}

/**
 * The CLI's logger: structured JSON lines on stderr (stdout is kept for summaries and `stdout` sinks), pretty
 * output on a terminal, secrets masked in every line. A line logged while a span is active (a sink write, an
 * operator run) carries its `trace_id` and `span_id`.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.SLUICE_LOG_LEVEL ?? 'info';
  const pretty = options.pretty ?? process.stderr.isTTY === true;
  const secrets = (options.secrets ?? []).filter((secret) => secret.length > 0);
  const mask = (line: string) => secrets.reduce((text, secret) => text.split(secret).join('***'), line);
  const destination = pretty
    ? pino.transport({ target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'HH:MM:ss.l' } })
    : pino.destination({ dest: 2, sync: false });
  const settings: pino.LoggerOptions = { level, base: undefined, mixin: traceIds };
  if (secrets.length === 0) return pino(settings, destination as pino.DestinationStream);
  const masked: pino.DestinationStream = { write: (line: string) => (destination as pino.DestinationStream).write(mask(line)) };
  return pino(settings, masked);
}

/** The active span's ids, for the log line being written (none outside a span). */
function traceIds(): { trace_id?: string; span_id?: string } {
  const span = trace.getSpanContext(context.active());
  return span === undefined ? {} : { trace_id: span.traceId, span_id: span.spanId };
}
