/**
 * Every span, metric and attribute name Sluice emits, in one place (dashboards and alerts depend on them: change
 * them only with a release note). Metric names follow OpenTelemetry conventions (units are metadata, not part of
 * the name); on `/metrics` dots become underscores and counters get `_total`: `sluice.records` is
 * `sluice_records_total`, `sluice.record.latency` the histogram `sluice_record_latency` (seconds).
 */
export const TELEMETRY = {
  /** The instrumentation scope of the engine's tracer and meter. */
  scope: 'sluice',
  spans: {
    /** One source `read()` that produced a batch: the root of the batch's trace, linked to the producers' spans. */
    sourceRead: 'sluice.source.read',
    /** One operator run on one chunk of a batch (inline or on a worker thread). */
    operator: 'sluice.operator.process',
    /** One task of an operator run on a worker thread (a lane's share of a chunk), timed on the thread. */
    operatorTask: 'sluice.operator.task',
    /** One sink micro-batch write, retries included. */
    sinkWrite: 'sluice.sink.write',
    /** One DLQ write. */
    dlqWrite: 'sluice.dlq.write',
    /** A batch fully handled: its records are acknowledged to the source, which commits them as its checkpoint. */
    checkpointCommit: 'sluice.checkpoint.commit',
  },
  metrics: {
    /** Counter: records per node and outcome (`read`, `rejected`, `in`, `out`, `filtered`, `dead_lettered`, `written`). */
    records: 'sluice.records',
    /** Counter: dead letters per node and data-quality rule. */
    ruleFailures: 'sluice.rule.failures',
    /** Histogram: records per sink or DLQ write. */
    batchSize: 'sluice.batch.size',
    /** Histogram: seconds one sink or DLQ write took, retries included. */
    batchDuration: 'sluice.batch.duration',
    /** Histogram: seconds from when Sluice read a record to when its sink write resolved. */
    endToEndLatency: 'sluice.record.latency',
    /** Gauge: seconds between the source's commit time of the newest written record and its write (replication or consumer lag in time). */
    sourceLag: 'sluice.source.lag',
    /** Gauge: records the upstream holds beyond a source's checkpoint, per partition (Kafka consumer lag in offsets). */
    sourceBacklog: 'sluice.source.backlog',
    /** Gauge: seconds since a source with records in flight last had a batch acknowledged (0 when nothing is in flight). */
    checkpointAge: 'sluice.checkpoint.age',
    /** Counter: seconds a source waited for room in its in-flight budget (backpressure). */
    backpressure: 'sluice.source.backpressure',
    /** Gauge: share of time the operator worker threads spent running tasks (0 to 1). */
    workerUtilization: 'sluice.workers.utilization',
    /** Gauge: 1 while a node is connected and has no unrecovered failure, else 0. */
    nodeUp: 'sluice.node.up',
  },
  attributes: {
    pipeline: 'sluice.pipeline',
    node: 'sluice.node',
    /** `source`, `operator`, `sink` or `dlq`. */
    kind: 'sluice.node.kind',
    outcome: 'sluice.outcome',
    rule: 'sluice.rule',
    /** Records in the span's batch or chunk. */
    records: 'sluice.records',
    /** Records an operator passed on (all outputs, branches included). */
    recordsOut: 'sluice.records.out',
    /** Records a sink or operator set aside. */
    recordsDeadLettered: 'sluice.records.dead_lettered',
    /** The component type (`kafka`, `postgres`, `filter`, ...). */
    componentType: 'sluice.component.type',
    /** A source's partition (Kafka: `topic/partition`). */
    partition: 'sluice.partition',
    /** The worker lane (thread) an operator task ran on. */
    workerLane: 'sluice.worker.lane',
    /** The nodes an operator task ran, in order, when it ran a chain of several (comma-separated). */
    workerChain: 'sluice.worker.chain',
    /** The position of the first record of a batch. */
    position: 'sluice.position',
  },
} as const;
