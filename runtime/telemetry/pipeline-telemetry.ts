import {
  type Attributes,
  type Context,
  type Histogram,
  type Link,
  type Span,
  type Counter,
  type Tracer,
  SpanKind,
  SpanStatusCode,
  context,
  metrics,
  propagation,
  trace,
} from '@opentelemetry/api';
import type { BatchTicket } from '../batch-ticket.js';
import type { DeadLetter } from '../dead-letter.js';
import { messageOf } from '../errors.js';
import type { OperatorResult } from '../operator.js';
import type { PipelineSpec } from '../pipeline-spec.js';
import type { PipelineSummary } from '../pipeline-summary.js';
import type { ChangeRecord } from '../record.js';
import type { SourceBacklog } from '../source.js';
import { PipelineHealth } from './pipeline-health.js';
import { TELEMETRY } from './telemetry-names.js';

const A = TELEMETRY.attributes;

/** What an operator span ends with. */
export interface OperatorOutcome {
  readonly records?: number;
  readonly deadLettered?: number;
  readonly error?: unknown;
}

/**
 * An operator run's span: call it with the outcome to end it; `within` runs the operator with the span active, so
 * that work it hands to a worker thread is parented to it.
 */
export type OperatorSpan = ((outcome: OperatorOutcome) => void) & {
  within<T>(run: () => T): T;
};

/** Reads the W3C trace context a record's producer left in its headers (`traceparent`, `tracestate`). */
const headerGetter = {
  keys: (carrier: Record<string, string>) => Object.keys(carrier),
  get: (carrier: Record<string, string>, key: string) => carrier[key],
};

/** The semantic-convention attributes of a connector, by its component type and options. */
function connectorAttributes(type: string, options: Record<string, unknown>, sending: boolean): Attributes {
  if (type.startsWith('kafka')) {
    const attributes: Attributes = {
      'messaging.system': 'kafka',
      'messaging.operation.type': sending ? 'send' : 'receive',
    };
    const topic = options.topic;
    if (typeof topic === 'string' && !topic.includes('{')) attributes['messaging.destination.name'] = topic;
    return attributes;
  }
  if (type.startsWith('postgres')) {
    const attributes: Attributes = { 'db.system.name': 'postgresql' };
    const table = options.table;
    if (typeof table === 'string') attributes['db.collection.name'] = table;
    const mode = options.mode;
    if (sending) attributes['db.operation.name'] = typeof mode === 'string' ? mode : 'upsert';
    return attributes;
  }
  return {};
}

/** What {@link PipelineTelemetry} reads from the pipeline it instruments. */
export interface TelemetrySources {
  /** The pipeline's live counters (read when metrics are collected). */
  readonly counters: () => PipelineSummary;
  /** How long a source may have records in flight without an acknowledgement before `/readyz` fails, in ms. */
  readonly stallAfterMs: number;
  /** The operator worker threads' utilisation (0 to 1), when operators run on workers. */
  readonly workerUtilization?: () => number;
  /** Each source's backlog per partition (`Source.backlog`), by source node name. */
  readonly backlog?: () => ReadonlyMap<string, readonly SourceBacklog[]>;
}

/** Milliseconds since the epoch with sub-millisecond precision, for span start times. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The engine's instrumentation, on `@opentelemetry/api` only: without an SDK registered every span is a no-op and
 * nothing is kept per batch, so tracing costs next to nothing. With one, each source batch gets a root span
 * (`sluice.source.read`, linked to the spans of the producers whose `traceparent` its records carry); its
 * operator runs, sink and DLQ writes and checkpoint commit are children of it. Record counts are observed from the
 * pipeline's counters when a metric reader collects (nothing on the hot path); per-write histograms, lags and
 * rule failures are recorded as they happen. Telemetry never throws into the pipeline.
 */
export class PipelineTelemetry {
  /** Readiness, fed by the engine. */
  readonly health: PipelineHealth;
  readonly #spec: PipelineSpec;
  readonly #tracer: Tracer;
  readonly #contexts = new WeakMap<BatchTicket, Context>();
  readonly #nodeAttributes = new Map<string, Attributes>();
  readonly #batchSize: Histogram;
  readonly #batchDuration: Histogram;
  readonly #latency: Histogram;
  readonly #ruleFailures: Counter;
  readonly #backpressure: Counter;
  /** Per source: the newest source commit time (ms) written by a sink, and when it was written. */
  readonly #lag = new Map<string, number>();

  constructor(spec: PipelineSpec, sources: TelemetrySources) {
    this.#spec = spec;
    const { counters } = sources;
    this.health = new PipelineHealth(
      spec.sources.map((source) => source.name),
      [...spec.sinks, ...(spec.dlq === null ? [] : [spec.dlq])].map((sink) => sink.name),
      sources.stallAfterMs,
    );
    this.#tracer = trace.getTracer(TELEMETRY.scope);
    const pipeline = { [A.pipeline]: spec.name };
    for (const source of spec.sources) {
      this.#nodeAttributes.set(source.name, {
        ...pipeline,
        [A.node]: source.name,
        [A.kind]: 'source',
        [A.componentType]: source.type,
        ...connectorAttributes(source.type, source.options, false),
      });
    }
    for (const operator of spec.operators) {
      this.#nodeAttributes.set(operator.name, {
        ...pipeline,
        [A.node]: operator.name,
        [A.kind]: 'operator',
        [A.componentType]: operator.type,
      });
    }
    for (const sink of [...spec.sinks, ...(spec.dlq === null ? [] : [spec.dlq])]) {
      this.#nodeAttributes.set(sink.name, {
        ...pipeline,
        [A.node]: sink.name,
        [A.kind]: sink === spec.dlq ? 'dlq' : 'sink',
        [A.componentType]: sink.type,
        ...connectorAttributes(sink.type, sink.options, true),
      });
    }

    const meter = metrics.getMeter(TELEMETRY.scope);
    const M = TELEMETRY.metrics;
    this.#batchSize = meter.createHistogram(M.batchSize, {
      description: 'Records per sink or DLQ write.',
      unit: '{record}',
      advice: { explicitBucketBoundaries: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000] },
    });
    this.#batchDuration = meter.createHistogram(M.batchDuration, {
      description: 'Time one sink or DLQ write took, retries included.',
      unit: 's',
    });
    this.#latency = meter.createHistogram(M.endToEndLatency, {
      description: 'Time from reading a record to its sink write resolving (per write, its oldest record).',
      unit: 's',
    });
    this.#ruleFailures = meter.createCounter(M.ruleFailures, {
      description: 'Records set aside by a data-quality rule.',
      unit: '{record}',
    });
    this.#backpressure = meter.createCounter(M.backpressure, {
      description: 'Time a source waited for room in its in-flight budget.',
      unit: 's',
    });
    meter
      .createObservableCounter(M.records, { description: 'Records per node and outcome.', unit: '{record}' })
      .addCallback((result) => {
        const summary = counters();
        const observe = (node: string, outcome: string, value: number): void =>
          result.observe(value, { ...this.#nodeAttributes.get(node), [A.outcome]: outcome });
        for (const [node, c] of Object.entries(summary.sources)) {
          observe(node, 'read', c.read);
          observe(node, 'rejected', c.rejected);
        }
        for (const [node, c] of Object.entries(summary.operators)) {
          observe(node, 'in', c.in);
          observe(node, 'out', c.out + Object.values(c.branches).reduce((sum, n) => sum + n, 0));
          observe(node, 'filtered', c.filtered);
          observe(node, 'dead_lettered', c.deadLettered);
        }
        for (const [node, c] of Object.entries(summary.sinks)) {
          observe(node, 'written', c.written);
          observe(node, 'dead_lettered', c.rejected);
        }
        if (summary.dlq !== null) observe(summary.dlq.name, 'written', summary.dlq.written);
      });
    meter
      .createObservableGauge(M.checkpointAge, {
        description: 'Time since a source with records in flight last had a batch acknowledged.',
        unit: 's',
      })
      .addCallback((result) => {
        for (const source of spec.sources)
          result.observe(
            this.health.checkpointAgeSeconds(source.name),
            this.#nodeAttributes.get(source.name),
          );
      });
    meter
      .createObservableGauge(M.sourceLag, {
        description: "Time between a source's commit of the newest written record and its write.",
        unit: 's',
      })
      .addCallback((result) => {
        for (const [source, lagMs] of this.#lag)
          result.observe(lagMs / 1000, this.#nodeAttributes.get(source));
      });
    const backlog = sources.backlog;
    if (backlog !== undefined) {
      meter
        .createObservableGauge(M.sourceBacklog, {
          description: "Records the upstream holds beyond a source's checkpoint, per partition.",
          unit: '{record}',
        })
        .addCallback((result) => {
          for (const [source, partitions] of backlog())
            for (const { partition, records } of partitions)
              result.observe(records, { ...this.#nodeAttributes.get(source), [A.partition]: partition });
        });
    }
    const utilization = sources.workerUtilization;
    if (utilization !== undefined) {
      meter
        .createObservableGauge(M.workerUtilization, {
          description: 'Share of time the operator worker threads spent running tasks (0 to 1).',
          unit: '1',
        })
        .addCallback((result) => result.observe(utilization(), pipeline));
    }
    meter
      .createObservableGauge(M.nodeUp, { description: 'Whether a connector is connected and not failing.' })
      .addCallback((result) => {
        for (const [node] of this.health.nodes())
          result.observe(this.health.up(node) ? 1 : 0, this.#nodeAttributes.get(node));
      });
  }

  /**
   * A source `read()` that began at `startedMs` (see {@link nowMs}) produced `records`: starts and ends the batch's
   * root span, linked to the producers' spans, and keeps its context for the batch's later stages.
   */
  batchRead(node: string, records: readonly ChangeRecord[], ticket: BatchTicket, startedMs: number): void {
    this.health.dispatched(node);
    if (records.length === 0) return;
    const links = this.#producerLinks(records);
    const span = this.#tracer.startSpan(
      TELEMETRY.spans.sourceRead,
      {
        kind: SpanKind.CONSUMER,
        startTime: startedMs,
        root: true,
        links,
        attributes: this.#nodeAttributes.get(node),
      },
      context.active(),
    );
    if (!span.isRecording()) {
      span.end();
      return;
    }
    span.setAttribute(A.records, records.length);
    span.setAttribute('messaging.batch.message_count', records.length);
    const first = records[0];
    if (first !== undefined) {
      span.setAttribute(A.position, first.source.position);
      const topic = first.source.topic;
      if (typeof topic === 'string') span.setAttribute('messaging.destination.name', topic);
    }
    span.end();
    this.#contexts.set(ticket, trace.setSpan(context.active(), span));
  }

  /** `derived` (a ticket grouping pieces of `from`) belongs to the same batch trace. */
  inherit(derived: BatchTicket, from: BatchTicket | undefined): void {
    const parent = from === undefined ? undefined : this.#contexts.get(from);
    if (parent !== undefined) this.#contexts.set(derived, parent);
  }

  /** A source waited `ms` for room in its in-flight budget. */
  backpressured(node: string, ms: number): void {
    if (ms > 0) this.#backpressure.add(ms / 1000, this.#nodeAttributes.get(node));
  }

  /** A source's batch was acknowledged (`handled` of its `count` records): records the checkpoint commit. */
  acknowledged(node: string, ticket: BatchTicket, count: number, handled: number | undefined): void {
    this.health.acknowledged(node);
    const parent = this.#contexts.get(ticket);
    if (parent === undefined) return;
    const span = this.#tracer.startSpan(
      TELEMETRY.spans.checkpointCommit,
      { attributes: { ...this.#nodeAttributes.get(node), [A.records]: handled ?? count } },
      parent,
    );
    span.end();
  }

  /**
   * Starts the span of one operator run on a chunk of the batch `ticket` belongs to; undefined when that batch is
   * not traced.
   */
  operator(node: string, ticket: BatchTicket, records: number): OperatorSpan | undefined {
    const parent = this.#contexts.get(ticket);
    if (parent === undefined) return undefined;
    const span = this.#tracer.startSpan(
      TELEMETRY.spans.operator,
      { attributes: { ...this.#nodeAttributes.get(node), [A.records]: records } },
      parent,
    );
    const active = trace.setSpan(parent, span);
    return Object.assign((outcome: OperatorOutcome) => endSpan(span, outcome), {
      within: <T>(run: () => T): T => context.with(active, run),
    });
  }

  /** The end of an operator span for `result`. */
  static operatorOutcome(result: OperatorResult): { records: number; deadLettered: number; error?: unknown } {
    let out = result.records.length;
    if (result.branches !== undefined)
      for (const branch in result.branches) out += result.branches[branch]!.length;
    return {
      records: out,
      deadLettered: result.dead?.length ?? 0,
      ...(result.failure === undefined ? {} : { error: result.failure.error }),
    };
  }

  /**
   * Runs one sink (or DLQ) write of `records` from the batches of `tickets` inside its span, so that a sink may
   * propagate the trace (the Kafka sink writes `traceparent`); records the write's size, duration and latency.
   */
  async write<T>(
    node: string,
    records: readonly ChangeRecord[],
    tickets: readonly BatchTicket[],
    run: () => Promise<T>,
  ): Promise<T> {
    const started = performance.now();
    const attributes = this.#nodeAttributes.get(node);
    let parent: Context | undefined;
    const links: Link[] = [];
    for (const ticket of tickets) {
      const batch = this.#contexts.get(ticket);
      if (batch === undefined) continue;
      if (parent === undefined) parent = batch;
      else if (batch !== parent && links.length < 32) {
        const spanContext = trace.getSpanContext(batch);
        if (spanContext !== undefined && !links.some((link) => link.context.spanId === spanContext.spanId))
          links.push({ context: spanContext });
      }
    }
    const dlq = attributes?.[A.kind] === 'dlq';
    let span: Span | undefined;
    if (parent !== undefined) {
      span = this.#tracer.startSpan(
        dlq ? TELEMETRY.spans.dlqWrite : TELEMETRY.spans.sinkWrite,
        {
          kind: SpanKind.PRODUCER,
          links,
          attributes: {
            ...attributes,
            [A.records]: records.length,
            'messaging.batch.message_count': records.length,
          },
        },
        parent,
      );
    }
    try {
      const result = span === undefined ? await run() : await context.with(trace.setSpan(parent!, span), run);
      this.#written(node, records, started);
      span?.setStatus({ code: SpanStatusCode.OK });
      return result;
    } catch (error) {
      span?.recordException(error instanceof Error ? error : messageOf(error));
      span?.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(error) });
      throw error;
    } finally {
      span?.end();
    }
  }

  /** Counts dead letters per data-quality rule. */
  deadLettered(letters: readonly DeadLetter[]): void {
    for (const letter of letters) {
      if (letter.rule === undefined) continue;
      this.#ruleFailures.add(1, { ...this.#nodeAttributes.get(letter.node), [A.rule]: letter.rule });
    }
  }

  #written(node: string, records: readonly ChangeRecord[], startedMs: number): void {
    const attributes = this.#nodeAttributes.get(node);
    this.#batchSize.record(records.length, attributes);
    this.#batchDuration.record((performance.now() - startedMs) / 1000, attributes);
    const first = records[0];
    if (first === undefined) return;
    const now = Date.now();
    this.#latency.record(Math.max(0, now - first.ingestTimeMs) / 1000, attributes);
    const last = records[records.length - 1]!;
    if (last.sourceTimeMs !== null && this.#spec.sources.some((source) => source.name === last.source.name))
      this.#lag.set(last.source.name, Math.max(0, now - last.sourceTimeMs));
  }

  #producerLinks(records: readonly ChangeRecord[]): Link[] {
    const links: Link[] = [];
    const seen = new Set<string>();
    for (const record of records) {
      if (record.headers.traceparent === undefined) continue;
      const spanContext = trace.getSpanContext(
        propagation.extract(context.active(), record.headers, headerGetter),
      );
      if (spanContext === undefined || seen.has(spanContext.spanId)) continue;
      seen.add(spanContext.spanId);
      links.push({ context: spanContext });
      // OpenTelemetry's default span limit is 128 links; a batch keeps the first ones.
      if (links.length >= 128) break;
    }
    return links;
  }
}

function endSpan(span: Span, outcome: OperatorOutcome): void {
  if (outcome.records !== undefined) span.setAttribute(A.recordsOut, outcome.records);
  if (outcome.deadLettered !== undefined) span.setAttribute(A.recordsDeadLettered, outcome.deadLettered);
  if (outcome.error !== undefined) {
    span.recordException(outcome.error instanceof Error ? outcome.error : messageOf(outcome.error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(outcome.error) });
  }
  span.end();
}
