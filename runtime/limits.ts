/**
 * Every bound Sluice applies, with its default, in one place. Config may override each one; nothing in the
 * runtime grows without one of these limits.
 */
export const DEFAULTS = {
  /** Records a source may have in flight (read, not yet acknowledged by every sink or the DLQ). */
  inFlightRecords: 20_000,
  /** Approximate bytes a source may have in flight. */
  inFlightBytes: 64 * 1024 * 1024,
  /** Records a source hands over in one batch, when the connector lets Sluice choose. */
  sourceBatchRecords: 1_000,
  /** Sink micro-batch: most records in one write. */
  sinkMaxRecords: 1_000,
  /**
   * Sink micro-batch: micro-batches that waited for a busy sink are joined into one write (group commit) of at most
   * this many times `max_records` records, unless `max_joined_records` says otherwise.
   */
  sinkJoinedBatches: 10,
  /** Sink micro-batch: most approximate bytes in one write. */
  sinkMaxBytes: 8 * 1024 * 1024,
  /** Sink micro-batch: longest a record waits for its batch to fill, in milliseconds. */
  sinkMaxWaitMs: 200,
  /**
   * Sink micro-batch: writes in flight at once per sink. 1 keeps writes in source order; more overlap writes, whose
   * relative order is then not guaranteed: safe for appends and for upserts with a newer-wins version column only.
   */
  sinkMaxInFlight: 1,
  /** Retries of a failed sink write (retriable errors only) before the pipeline fails. */
  sinkWriteRetries: 8,
  /** Longest graceful shutdown (stop reading, drain, commit, close) before it is forced, in milliseconds. */
  shutdownTimeoutMs: 30_000,
  /** Connector restarts by the supervisor before the pipeline gives up. */
  restartMaxAttempts: 5,
  /** First restart (and retry) delay, in milliseconds; doubles each time. */
  restartInitialDelayMs: 200,
  /** Longest restart (and retry) delay, in milliseconds. */
  restartMaxDelayMs: 30_000,
  /** How often sources that store their own checkpoints write them, at most, in milliseconds. */
  checkpointIntervalMs: 1_000,
  /** State directory for file checkpoints, relative to the config file. */
  stateDir: '.sluice/state',
  /** Where operators run: `inline` (the engine's thread), `auto`, or a number of worker threads. */
  workers: 'inline',
  /** Most records in one task sent to a worker thread (a lane's share of a batch is cut into such pieces). */
  workerTaskRecords: 256,
  /** Retries of a task whose worker thread died, before its records go to the DLQ. */
  workerTaskRetries: 2,
  /**
   * Longest a task may run on a worker thread, in milliseconds: then its thread is stopped and replaced, and the
   * task is handled like one whose thread died (run again, then dead-lettered).
   */
  workerTaskTimeoutMs: 60_000,
  /** Heap limit of each worker thread (old generation), in MiB: a thread that exceeds it dies, not the process. */
  workerMaxHeapMb: 512,
  /**
   * Batches of one worker-run operator on the threads at once (results still leave in input order): the next batch
   * is encoded and queued while the threads run the earlier ones.
   */
  workerBatchesInFlight: 4,
} as const;
