import { type Context, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { WorkerTiming } from '../worker-protocol.js';
import { TELEMETRY } from './telemetry-names.js';

const A = TELEMETRY.attributes;

/**
 * The trace of one operator task across the worker-thread hop. Begun on the engine's thread while an operator span
 * is active, it gives the task the W3C `traceparent` of that span; the thread (which has no tracer) times the task
 * and replies with the timing, and {@link end} records the task's span, `sluice.operator.task`, as a child of the
 * operator span, with the thread's start and end times. Without an active sampled span (no SDK, or not sampled),
 * {@link begin} returns undefined and the hop carries nothing.
 */
export class WorkerTaskTrace {
  /** The operator span's trace context, for the task. */
  readonly traceparent: string;
  readonly #parent: Context;

  private constructor(traceparent: string, parent: Context) {
    this.traceparent = traceparent;
    this.#parent = parent;
  }

  /** The trace of a task sent from the active context, or undefined when no sampled span is active. */
  static begin(): WorkerTaskTrace | undefined {
    const active = context.active();
    const spanContext = trace.getSpanContext(active);
    if (spanContext === undefined || !trace.getSpan(active)?.isRecording()) return undefined;
    const headers: Record<string, string> = {};
    propagation.inject(active, headers);
    const traceparent = headers.traceparent;
    if (traceparent === undefined) return undefined;
    // The worker side of the hop is parented by what the task carried, as a remote process would be.
    return new WorkerTaskTrace(traceparent, propagation.extract(context.active(), { traceparent }));
  }

  /**
   * Records the task's span from the thread's timing (nothing when the reply has none: the thread died before
   * answering). `chain` is the nodes the task ran: the span is named after the first (whose operator span is its
   * parent) and lists them all when there are several. `thrown` is what an operator threw, for the error status.
   */
  end(
    chain: readonly string[],
    lane: number,
    records: number,
    ran: WorkerTiming | undefined,
    thrown?: string,
  ): void {
    if (ran === undefined) return;
    const span = trace.getTracer(TELEMETRY.scope).startSpan(
      TELEMETRY.spans.operatorTask,
      {
        startTime: ran.startMs,
        attributes: {
          [A.node]: chain[0],
          ...(chain.length > 1 ? { [A.workerChain]: chain.join(',') } : {}),
          [A.records]: records,
          [A.workerLane]: lane,
          'thread.id': ran.threadId,
        },
      },
      this.#parent,
    );
    if (thrown !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: thrown });
    span.end(ran.endMs);
  }
}
