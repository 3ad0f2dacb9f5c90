import { context, propagation, trace } from '@opentelemetry/api';

/**
 * The W3C trace headers (`traceparent`, and `tracestate` when set) of the active span, for a sink to write on its
 * messages so consumers can link to the write; empty when no span is active or no SDK is registered (a record's own
 * `traceparent` then passes through unchanged).
 */
export function traceHeaders(): Record<string, string> {
  const active = context.active();
  if (trace.getSpanContext(active) === undefined) return {};
  const headers: Record<string, string> = {};
  propagation.inject(active, headers);
  return headers;
}
