import { availableParallelism } from 'node:os';
import { inspect } from 'node:util';
import type { Logger } from 'pino';
import type { ComponentRegistry } from './component.js';
import type { DeadLetter } from './dead-letter.js';
import { SluiceError } from './errors.js';
import { DEFAULTS } from './limits.js';
import type { BatchOperator, OperatorResult } from './operator.js';
import { type OperatorRunner, inlineOperatorRunner } from './operator-runner.js';
import type { PipelineSpec } from './pipeline-spec.js';
import type { ChangeRecord } from './record.js';
import { RecordCodec } from './record-codec.js';
import { laneOf } from './worker-lane.js';
import { WorkerTaskTrace } from './telemetry/worker-task-trace.js';
import { mayRunInWorkers } from './worker-placement.js';
import { WorkerPool } from './worker-pool.js';
import { type WorkerReply, fromWireResult, toWireResult } from './worker-protocol.js';

/** `auto`: batches run inline and unmeasured first (warming the JIT and the operator's caches). */
const AUTO_WARMUP_BATCHES = 1;
/** `auto`: batches measured inline before deciding. */
const AUTO_SAMPLE_BATCHES = 3;
/** `auto`: an operator moves to workers when its inline cost per record is at least this many hop costs. */
const AUTO_MARGIN = 2;
/** `auto`: the fixed cost of one task's round trip between threads (messages, wake-ups), in milliseconds. */
const HOP_FIXED_MS = 0.05;

/** How a {@link WorkerOperatorRunner} is built. */
export interface WorkerOperatorRunnerOptions {
  readonly spec: PipelineSpec;
  /** The worker module (the registry's `operatorWorker`). */
  readonly entry: URL;
  /** A number of worker threads (lanes), or `auto`. */
  readonly workers: 'auto' | number;
  readonly logger: Logger;
  /** Most records in one task (default `DEFAULTS.workerTaskRecords`). */
  readonly taskRecords?: number;
  /** Retries of a task whose thread died (default `DEFAULTS.workerTaskRetries`). */
  readonly retries?: number;
  /** Each thread's heap limit in MiB (default `DEFAULTS.workerMaxHeapMb`). */
  readonly maxHeapMb?: number;
  /** Batches of one node on the threads at once (default `DEFAULTS.workerBatchesInFlight`). */
  readonly batchesInFlight?: number;
}

/** Where a node runs now: on the engine's thread, on the workers, or inline while `auto` measures it. */
export type NodePlacement = 'inline' | 'workers' | 'measuring';

interface NodeState {
  placement: NodePlacement;
  batches: number;
  records: number;
  inlineMs: number;
  hopMs: number;
}

/** A share of one batch sent to one lane as one task: the records, with their indexes in the batch. */
interface Piece {
  readonly lane: number;
  indices: number[];
  records: ChangeRecord[];
  result: OperatorResult;
}

/** The message of what a thread rejected with (piscina may pass on objects that are not errors). */
function describe(error: unknown): string {
  return error instanceof Error ? error.message : inspect(error);
}

/** The batch's failure: the error, and the index in the batch of the first record it failed. */
type Failing = NonNullable<OperatorResult['failure']>;

/**
 * Runs operators on worker threads (issue 4): the {@link OperatorRunner} the engine uses when `runtime.workers` is
 * `auto` or a number.
 *
 * **Lanes and order.** Each batch is split into lanes by a hash of each record's key (`laneOf`); each lane is one
 * thread (`WorkerPool`), and a lane's share is cut into tasks of at most `taskRecords` records, sent in order, so
 * records with the same key are processed in order by the same thread, and per-key state in a custom operator
 * always meets its key. Results are put back together as one result for the batch: lane after lane, each in its
 * input order, so order is kept per key (not across keys). Dead letters and branches are kept.
 *
 * **Failures.** When an operator fails a record (a `fail` rule), `handled` is the index in the original batch of
 * the first failing record across every lane, and records, branches and dead letters hold only what came from
 * smaller indexes: a task that already went past that index is run again on its records before it (the pipeline
 * stops after a failure, so running them twice changes no later output). What an operator throws fails the
 * pipeline as it would inline.
 *
 * **Dying threads.** A task whose thread dies (`process.exit`, an uncaught exception, its heap limit) is run again
 * on the replacement thread up to `retries` times; then its records go to the DLQ with the reason, and the
 * pipeline goes on.
 *
 * **Placement.** Stateful built-ins stay inline (`mayRunInWorkers`). With a number, every other node runs on the
 * workers. With `auto`, each node runs inline for its first batches while the runner measures its cost per record
 * and the hop's cost per record (encoding and decoding the batch and its result, plus `HOP_FIXED_MS` per task);
 * it moves to `os.availableParallelism()` threads when its cost is at least `AUTO_MARGIN` times the hop's, and
 * otherwise stays inline for good.
 *
 * **Overlap.** A node on the workers takes up to `batchesInFlight` batches at once (`overlap`): the engine
 * dispatches the next batch while the threads run the earlier ones and takes the results in input order. A lane
 * gets its tasks in dispatch order, so per-key order holds across batches too.
 *
 * **Bounds.** The batches in flight at a node hold at most the source's in-flight budget, and each adds at most one
 * partial task per lane, so a lane holds at most `ceil(inFlightRecords / taskRecords) + batchesInFlight` tasks per
 * node: that is each lane's `maxQueue`. `close` drains, then destroys the threads.
 */
export class WorkerOperatorRunner implements OperatorRunner {
  readonly #options: WorkerOperatorRunnerOptions;
  readonly #logger: Logger;
  readonly #nodes = new Map<string, NodeState>();
  readonly #codec = new RecordCodec();
  readonly #taskRecords: number;
  readonly #retries: number;
  readonly #batchesInFlight: number;
  #pool: WorkerPool | undefined;
  #started: Promise<void> | undefined;
  #closed = false;

  /**
   * The runner `runtime.workers` asks for: the inline runner for `inline` (or when no node may move, or `auto` on
   * a single core); otherwise a worker runner. Throws `WORKERS_UNAVAILABLE` when workers are asked for and the
   * registry has no `operatorWorker`. With a number of workers, the threads are started (see `start`) before it
   * resolves.
   */
  static async forPipeline(
    spec: PipelineSpec,
    registry: ComponentRegistry,
    logger: Logger,
  ): Promise<OperatorRunner> {
    const workers = spec.runtime.workers ?? DEFAULTS.workers;
    if (workers === 'inline' || !spec.operators.some(mayRunInWorkers)) return inlineOperatorRunner;
    if (workers === 'auto' && availableParallelism() < 2) return inlineOperatorRunner;
    if (registry.operatorWorker === undefined) {
      throw new SluiceError(
        'WORKERS_UNAVAILABLE',
        `pipeline "${spec.name}" sets runtime workers to ${JSON.stringify(workers)}, but this build's component ` +
          'registry has no operator worker module (ComponentRegistry.operatorWorker); use `workers: inline`',
      );
    }
    const runner = new WorkerOperatorRunner({ spec, entry: registry.operatorWorker, workers, logger });
    if (workers !== 'auto') await runner.start();
    return runner;
  }

  constructor(options: WorkerOperatorRunnerOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#taskRecords = options.taskRecords ?? DEFAULTS.workerTaskRecords;
    this.#retries = options.retries ?? DEFAULTS.workerTaskRetries;
    this.#batchesInFlight = options.batchesInFlight ?? DEFAULTS.workerBatchesInFlight;
    const first: NodePlacement = options.workers === 'auto' ? 'measuring' : 'workers';
    for (const operator of options.spec.operators) {
      this.#nodes.set(operator.name, {
        placement: mayRunInWorkers(operator) ? first : 'inline',
        batches: 0,
        records: 0,
        inlineMs: 0,
        hopMs: 0,
      });
    }
  }

  /**
   * Starts the threads now rather than on the first batch: each loads the worker module and builds its nodes
   * (loading user modules), so set-up costs and errors come before any record is read. Rejects with
   * `WORKER_START_FAILED` (the threads are then closed). Idempotent.
   */
  async start(): Promise<void> {
    try {
      await this.#start(this.#ensurePool());
    } catch (error) {
      await this.close(true);
      throw error;
    }
  }

  /** Where `node` runs now. */
  placement(node: string): NodePlacement {
    return this.#nodes.get(node)?.placement ?? 'inline';
  }

  /** Runs `operator` (node `node`) on a batch, where its placement says. */
  run(
    node: string,
    operator: BatchOperator,
    records: ChangeRecord[],
  ): OperatorResult | Promise<OperatorResult> {
    const state = this.#nodes.get(node);
    if (state === undefined || state.placement === 'inline' || records.length === 0)
      return operator.process(records);
    if (state.placement === 'measuring') return this.#measure(node, state, operator, records);
    return this.#dispatch(node, records);
  }

  /** Batches of `node` the engine may have in flight: `batchesInFlight` on the workers, else 1. */
  overlap(node: string): number {
    return this.placement(node) === 'workers' ? this.#batchesInFlight : 1;
  }

  /** The worker threads' utilisation (0 to 1; 0 before any thread started). */
  utilization(): number {
    return this.#pool?.utilization() ?? 0;
  }

  /** Drains and destroys the threads (or destroys them at once with `force`). Idempotent. */
  async close(force: boolean): Promise<void> {
    this.#closed = true;
    await this.#pool?.close(force);
  }

  #measure(
    node: string,
    state: NodeState,
    operator: BatchOperator,
    records: ChangeRecord[],
  ): OperatorResult | Promise<OperatorResult> {
    const started = performance.now();
    const result = operator.process(records);
    if (result instanceof Promise) {
      return result.then((settled) => {
        this.#sample(node, state, records, settled, performance.now() - started);
        return settled;
      });
    }
    this.#sample(node, state, records, result, performance.now() - started);
    return result;
  }

  #sample(
    node: string,
    state: NodeState,
    records: ChangeRecord[],
    result: OperatorResult,
    elapsedMs: number,
  ): void {
    state.batches++;
    const started = performance.now();
    this.#codec.decode(this.#codec.encode(records));
    this.#codec.decode(this.#codec.encode(toWireResult(result)));
    // Warm-up batches warm the codec too: a cold codec would overstate the hop.
    if (state.batches <= AUTO_WARMUP_BATCHES) return;
    const tasks = Math.ceil(records.length / this.#taskRecords);
    state.hopMs += performance.now() - started + tasks * HOP_FIXED_MS;
    state.inlineMs += elapsedMs;
    state.records += records.length;
    if (state.batches < AUTO_WARMUP_BATCHES + AUTO_SAMPLE_BATCHES) return;
    const costUs = (state.inlineMs * 1000) / state.records;
    const hopUs = (state.hopMs * 1000) / state.records;
    state.placement = costUs >= AUTO_MARGIN * hopUs ? 'workers' : 'inline';
    this.#logger.info(
      { node, costUsPerRecord: costUs, hopUsPerRecord: hopUs, placement: state.placement },
      `operator "${node}" costs ${costUs.toFixed(2)} µs per record inline and a worker hop ${hopUs.toFixed(2)} µs: ` +
        (state.placement === 'workers'
          ? `moving it to ${this.#lanes()} worker threads`
          : 'keeping it inline'),
    );
  }

  #lanes(): number {
    const { workers } = this.#options;
    return workers === 'auto' ? availableParallelism() : workers;
  }

  #ensurePool(): WorkerPool {
    if (this.#pool !== undefined) return this.#pool;
    const { spec } = this.#options;
    const nodes = spec.operators.filter(mayRunInWorkers);
    this.#pool = new WorkerPool({
      entry: this.#options.entry,
      lanes: this.#lanes(),
      setup: {
        pipeline: spec.name,
        configDir: spec.configDir,
        logLevel: this.#logger.level,
        secrets: spec.secrets,
        nodes: nodes.map(({ name, type, options }) => ({ name, type, options })),
      },
      maxQueue:
        nodes.length * (Math.ceil(spec.runtime.inFlightRecords / this.#taskRecords) + this.#batchesInFlight),
      resourceLimits: { maxOldGenerationSizeMb: this.#options.maxHeapMb ?? DEFAULTS.workerMaxHeapMb },
      onError: (lane, error) =>
        this.#logger.warn(
          { err: error, lane },
          `operator worker lane ${lane} failed between tasks and was replaced`,
        ),
    });
    return this.#pool;
  }

  /**
   * Checks once that every lane's thread starts (loads the worker module, builds its nodes) before any batch is
   * sent: a thread that cannot start is a broken deployment or config, not a bad record, so it fails the pipeline
   * (`WORKER_START_FAILED`) instead of sending batches to the DLQ.
   */
  #start(pool: WorkerPool): Promise<void> {
    this.#started ??= Promise.all(
      Array.from({ length: pool.lanes }, async (_, lane) => {
        let reply: WorkerReply;
        try {
          reply = this.#codec.decode<WorkerReply>(
            await pool.run(lane, { node: '', records: this.#codec.encode([]) }),
          );
        } catch (error) {
          throw new SluiceError(
            'WORKER_START_FAILED',
            `operator worker lane ${lane} could not start from ${this.#options.entry.href}: ${describe(error)}`,
            { cause: error },
          );
        }
        if ('thrown' in reply) {
          throw new SluiceError(
            'WORKER_START_FAILED',
            `operator worker lane ${lane} could not build its operators: ${reply.thrown}`,
          );
        }
      }),
    ).then(() => undefined);
    return this.#started;
  }

  async #dispatch(node: string, records: ChangeRecord[]): Promise<OperatorResult> {
    const pool = this.#ensurePool();
    await this.#start(pool);
    const shares = Array.from({ length: pool.lanes }, () => ({
      indices: [] as number[],
      records: [] as ChangeRecord[],
    }));
    for (let index = 0; index < records.length; index++) {
      const record = records[index]!;
      const share = shares[laneOf(record, index, pool.lanes)]!;
      share.indices.push(index);
      share.records.push(record);
    }
    // Pieces are sent round-robin across lanes so every thread starts while later pieces are still being encoded.
    const pieces: Piece[] = [];
    for (
      let start = 0;
      pieces.length === 0 || shares.some((share) => share.records.length > start);
      start += this.#taskRecords
    ) {
      shares.forEach((share, lane) => {
        if (share.records.length <= start) return;
        const end = start + this.#taskRecords;
        pieces.push({
          lane,
          indices: share.indices.slice(start, end),
          records: share.records.slice(start, end),
          result: { records: [] },
        });
      });
    }
    await Promise.all(pieces.map(async (piece) => (piece.result = await this.#runPiece(node, piece))));
    const failing = await this.#settleFailure(node, pieces);
    return this.#merge(
      pieces.filter((piece) => piece.records.length > 0),
      failing,
    );
  }

  /** Runs one piece on its lane, again on a replacement thread when its thread dies, then dead-letters it. */
  async #runPiece(node: string, piece: Piece): Promise<OperatorResult> {
    const pool = this.#ensurePool();
    const traced = WorkerTaskTrace.begin();
    for (let attempt = 0; ; attempt++) {
      let bytes: Uint8Array;
      try {
        bytes = await pool.run(piece.lane, {
          node,
          records: this.#codec.encode(piece.records),
          ...(traced === undefined ? {} : { traceparent: traced.traceparent }),
        });
      } catch (error) {
        if (this.#closed) throw error;
        if (attempt < this.#retries) {
          this.#logger.warn(
            { err: error, node, lane: piece.lane, attempt: attempt + 1 },
            `worker lane ${piece.lane} died running operator "${node}" on ${piece.records.length} records; trying again`,
          );
          continue;
        }
        return this.#deadPiece(node, piece, attempt + 1, error);
      }
      const reply = this.#codec.decode<WorkerReply>(bytes);
      traced?.end(
        node,
        piece.lane,
        piece.records.length,
        reply.ran,
        'thrown' in reply ? reply.thrown : undefined,
      );
      if ('thrown' in reply) {
        throw new SluiceError('OPERATOR_FAILED', `${reply.thrown} (in worker lane ${piece.lane})`);
      }
      return fromWireResult(reply.result);
    }
  }

  #deadPiece(node: string, piece: Piece, attempts: number, error: unknown): OperatorResult {
    const reason =
      `the worker thread running operator "${node}" died ${attempts} times on a task of ${piece.records.length} ` +
      `records including this one (last: ${describe(error)}); the task's records were set aside`;
    this.#logger.error({ err: error, node, lane: piece.lane }, reason);
    const dead = piece.records.map((record): DeadLetter => ({
      node,
      reason,
      source: { name: record.source.name, position: record.source.position },
      record,
    }));
    return { records: [], dead };
  }

  /**
   * Makes the pieces agree on one failure: the smallest batch index any piece failed at. A piece that handled
   * records at or past it is run again on its records before it (which may fail earlier still). Returns the
   * failure with that index, if any.
   */
  async #settleFailure(node: string, pieces: Piece[]): Promise<Failing | undefined> {
    for (;;) {
      let failing: Failing | undefined;
      for (const piece of pieces) {
        const failure = piece.result.failure;
        if (failure === undefined) continue;
        // A failure past the piece's last record fails just after it.
        const at = piece.indices[failure.handled] ?? piece.indices[piece.indices.length - 1]! + 1;
        if (failing === undefined || at < failing.handled) failing = { error: failure.error, handled: at };
      }
      if (failing === undefined) return undefined;
      const limit = failing.handled;
      const reruns: Piece[] = [];
      for (const piece of pieces) {
        const handled = piece.result.failure?.handled ?? piece.records.length;
        const before = piece.indices.findIndex((index) => index >= limit);
        const below = before === -1 ? piece.records.length : before;
        if (handled === below) continue;
        piece.indices = piece.indices.slice(0, below);
        piece.records = piece.records.slice(0, below);
        if (below === 0) piece.result = { records: [] };
        else reruns.push(piece);
      }
      if (reruns.length === 0) return failing;
      await Promise.all(reruns.map(async (piece) => (piece.result = await this.#runPiece(node, piece))));
    }
  }

  #merge(pieces: Piece[], failure: Failing | undefined): OperatorResult {
    const ordered = [...pieces].sort((a, b) => a.lane - b.lane || a.indices[0]! - b.indices[0]!);
    const records: ChangeRecord[] = [];
    const dead: DeadLetter[] = [];
    let branches: Record<string, ChangeRecord[]> | undefined;
    for (const { result } of ordered) {
      for (const record of result.records) records.push(record);
      if (result.dead !== undefined) for (const letter of result.dead) dead.push(letter);
      if (result.branches === undefined) continue;
      branches ??= {};
      for (const [branch, routed] of Object.entries(result.branches)) {
        const into = (branches[branch] ??= []);
        for (const record of routed) into.push(record);
      }
    }
    return {
      records,
      ...(branches === undefined ? {} : { branches }),
      ...(dead.length === 0 ? {} : { dead }),
      ...(failure === undefined ? {} : { failure }),
    };
  }
}
