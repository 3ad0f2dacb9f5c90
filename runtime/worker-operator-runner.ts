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
  /** Retries of a task whose thread died or ran out of time (default `DEFAULTS.workerTaskRetries`). */
  readonly retries?: number;
  /** Longest run of one task (default: the spec's `runtime.workerTaskTimeoutMs`, else `DEFAULTS.workerTaskTimeoutMs`). */
  readonly taskTimeoutMs?: number;
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

/**
 * One node's result for one piece, with the index in the batch of each record it gave when every one of them is a
 * record the piece started with (kept by a filter or a rule set), so the batch's order can be restored.
 */
interface Link {
  readonly result: OperatorResult;
  readonly origins: readonly number[] | undefined;
}

/**
 * A share of one batch sent to one lane as one task: the records, with their indexes in the batch, and the result
 * of each node of the task's chain.
 */
interface Piece {
  readonly lane: number;
  indices: number[];
  records: ChangeRecord[];
  links: Link[];
}

/** How a task lost its thread: it died, or it was stopped for running out of time. */
function lostThread(error: unknown): string {
  return error instanceof SluiceError && error.code === 'WORKER_TASK_TIMEOUT' ? 'was stopped' : 'died';
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
 * always meets its key. Results are put back together as one result for the batch: in batch order when every
 * record a node gave is one it was given (a filter, a rule set: the thread answers with their indexes), otherwise
 * lane after lane, each in its input order, so order is kept per key (not across keys). Dead letters and branches
 * are kept.
 *
 * **Failures.** When an operator fails a record (a `fail` rule), `handled` is the index in the original batch of
 * the first failing record across every lane, and records, branches and dead letters hold only what came from
 * smaller indexes: a task that already went past that index is run again on its records before it (the pipeline
 * stops after a failure, so running them twice changes no later output). A node that fails a record of a batch
 * put back together lane after lane (after a node that made new records) cannot place the failure in batch order:
 * it hands nothing on and acknowledges none of the batch, which is read again after a restart (`#keepOrder`).
 * What an operator throws fails the pipeline as it would inline.
 *
 * **Dying threads.** A task whose thread dies (`process.exit`, an uncaught exception, its heap limit) is run again
 * on the replacement thread up to `retries` times; then its records go to the DLQ with the reason, and the
 * pipeline goes on.
 *
 * **Placement.** Stateful built-ins stay inline (`mayRunInWorkers`). With a number, every other node runs on the
 * workers. With `auto`, each node runs inline for its first batches while the runner measures its cost per record
 * and the hop's cost per record (encoding and decoding one task's share of the batch and of its result, scaled to
 * the batch, plus `HOP_FIXED_MS` per task);
 * it moves to `os.availableParallelism()` threads when its cost is at least `AUTO_MARGIN` times the hop's, and
 * otherwise stays inline for good.
 *
 * **Chains.** Nodes on the workers that follow one another with nothing in between (the second reads only the
 * first, and nothing else reads the first) run as one task: the thread runs the whole chain on a lane's records and
 * answers with every node's result (records a node passed on unchanged come back as indexes, not bytes), so the
 * records cross once each way instead of once per node. The first node's `run` returns its result and keeps the
 * later nodes' results for their own `run` calls on the records it gave. A failure or a throw anywhere in a chain
 * (rare: the pipeline then stops) runs the batch again node by node, so that it ends exactly as it would inline.
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
  /** Per node, the node that reads only it when nothing else reads it: the next link of a chain. */
  readonly #next = new Map<string, string>();
  /** Results a chain's first node computed for the later nodes, by the records each is run on. */
  readonly #ahead = new WeakMap<ChangeRecord[], OperatorResult>();
  /** Record lists out of batch order: merged lane after lane, or computed from such a list (see `#keepOrder`). */
  readonly #outOfOrder = new WeakSet<ChangeRecord[]>();
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
    const { spec } = options;
    const readers = new Map<string, number>();
    for (const node of [...spec.operators, ...spec.sinks])
      for (const edge of node.from) readers.set(edge.node, (readers.get(edge.node) ?? 0) + 1);
    for (const operator of spec.operators) {
      const [edge, ...others] = operator.from;
      if (edge === undefined || others.length > 0 || edge.branch !== undefined) continue;
      if (this.#nodes.get(edge.node)?.placement === 'inline' || this.placement(operator.name) === 'inline')
        continue;
      if (readers.get(edge.node) === 1) this.#next.set(edge.node, operator.name);
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
    const result = this.#place(node, operator, records);
    if (!this.#outOfOrder.has(records)) return result;
    return result instanceof Promise
      ? result.then((settled) => this.#keepOrder(settled))
      : this.#keepOrder(result);
  }

  /**
   * A result computed from records out of batch order. Its records and branches are out of order too. A failure
   * cannot say how much of the batch, in order, came before the failing record: the result then passes nothing on
   * and has handled none of the batch, which is read again after a restart, so nothing in it is lost.
   */
  #keepOrder(result: OperatorResult): OperatorResult {
    if (result.failure !== undefined)
      return { records: [], failure: { error: result.failure.error, handled: 0 } };
    this.#outOfOrder.add(result.records);
    for (const routed of Object.values(result.branches ?? {})) this.#outOfOrder.add(routed);
    return result;
  }

  #place(
    node: string,
    operator: BatchOperator,
    records: ChangeRecord[],
  ): OperatorResult | Promise<OperatorResult> {
    const state = this.#nodes.get(node);
    if (state === undefined || state.placement === 'inline' || records.length === 0)
      return operator.process(records);
    if (state.placement === 'measuring') return this.#measure(node, state, operator, records);
    const ahead = this.#ahead.get(records);
    if (ahead !== undefined) {
      this.#ahead.delete(records);
      return ahead;
    }
    return this.#dispatch(this.#chainFrom(node), records);
  }

  /** `node` and the nodes on the workers that follow it as a chain. */
  #chainFrom(node: string): string[] {
    const chain = [node];
    for (let next = this.#next.get(node); next !== undefined; next = this.#next.get(next)) {
      if (this.placement(next) !== 'workers') break;
      chain.push(next);
    }
    return chain;
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
    // Warm-up batches cross whole, to warm the codec (a cold codec would overstate the hop); measured batches time
    // one task's share of the batch and of its result, as a thread gets it, scaled to the batch. Timing whole
    // batches made a 1M-record run that stays inline 3–8% slower than `inline` (the `workers-light` bench).
    const warmUp = state.batches <= AUTO_WARMUP_BATCHES;
    const share = warmUp ? Infinity : this.#taskRecords;
    const sent = Math.min(records.length, share);
    const given = Math.min(result.records.length, share);
    const started = performance.now();
    this.#codec.decode(this.#codec.encode(records.slice(0, sent)));
    const requestMs = performance.now() - started;
    const reply = toWireResult({ ...result, records: result.records.slice(0, given) }, records);
    this.#codec.decode(this.#codec.encode(reply));
    const replyMs = performance.now() - started - requestMs;
    if (warmUp) return;
    const tasks = Math.ceil(records.length / this.#taskRecords);
    state.hopMs +=
      (requestMs * records.length) / sent +
      (given === 0 ? replyMs : (replyMs * result.records.length) / given) +
      tasks * HOP_FIXED_MS;
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
      taskTimeoutMs:
        this.#options.taskTimeoutMs ?? spec.runtime.workerTaskTimeoutMs ?? DEFAULTS.workerTaskTimeoutMs,
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
            await pool.run(lane, { nodes: [], records: this.#codec.encode([]) }),
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

  /**
   * Runs `chain` on a batch across the lanes; returns the first node's result and keeps each later node's for its
   * `run` (see **Chains**). A failure or a throw in a chain of several nodes runs the first node alone instead.
   */
  async #dispatch(chain: readonly string[], records: ChangeRecord[]): Promise<OperatorResult> {
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
          links: [],
        });
      });
    }
    try {
      await Promise.all(pieces.map(async (piece) => (piece.links = await this.#runPiece(chain, piece))));
    } catch (error) {
      const thrown = error instanceof SluiceError && error.code === 'OPERATOR_FAILED';
      if (chain.length === 1 || !thrown) throw error;
      return this.#dispatch(chain.slice(0, 1), records);
    }
    if (chain.length === 1) {
      const failing = await this.#settleFailure(chain[0]!, pieces);
      return this.#merge(
        pieces.filter((piece) => piece.records.length > 0),
        0,
        failing,
      );
    }
    if (pieces.some((piece) => piece.links.some((link) => link.result.failure !== undefined)))
      return this.#dispatch(chain.slice(0, 1), records);
    const first = this.#merge(pieces, 0, undefined);
    let given = first.records;
    for (let link = 1; link < chain.length; link++) {
      const result = this.#merge(pieces, link, undefined);
      this.#ahead.set(given, result);
      given = result.records;
    }
    return first;
  }

  /**
   * Runs one piece through `chain` on its lane, again on a replacement thread when its thread dies, then
   * dead-letters it (at the chain's first node). Returns each node's result, its records as this side holds them.
   */
  async #runPiece(chain: readonly string[], piece: Piece): Promise<Link[]> {
    const pool = this.#ensurePool();
    const traced = WorkerTaskTrace.begin();
    const [node] = chain as [string];
    for (let attempt = 0; ; attempt++) {
      let bytes: Uint8Array;
      try {
        bytes = await pool.run(piece.lane, {
          nodes: chain,
          records: this.#codec.encode(piece.records),
          ...(traced === undefined ? {} : { traceparent: traced.traceparent }),
        });
      } catch (error) {
        if (this.#closed) throw error;
        if (attempt < this.#retries) {
          this.#logger.warn(
            { err: error, node, lane: piece.lane, attempt: attempt + 1 },
            `worker lane ${piece.lane} ${lostThread(error)} running operator "${chain.join('" → "')}" on ${piece.records.length} records; trying again`,
          );
          continue;
        }
        return this.#deadPiece(chain, piece, attempt + 1, error);
      }
      const reply = this.#codec.decode<WorkerReply>(bytes);
      traced?.end(
        chain,
        piece.lane,
        piece.records.length,
        reply.ran,
        'thrown' in reply ? reply.thrown : undefined,
      );
      if ('thrown' in reply) {
        throw new SluiceError('OPERATOR_FAILED', `${reply.thrown} (in worker lane ${piece.lane})`);
      }
      let input = piece.records;
      let origins: readonly number[] | undefined = piece.indices;
      return reply.results.map((wire) => {
        const result = fromWireResult(wire, input);
        const from = origins;
        origins =
          wire.kept === undefined || from === undefined
            ? undefined
            : Array.from(wire.kept, (index) => from[index]!);
        input = result.records;
        return { result, origins };
      });
    }
  }

  #deadPiece(chain: readonly string[], piece: Piece, attempts: number, error: unknown): Link[] {
    const [node] = chain as [string];
    const running = chain.length === 1 ? `operator "${node}"` : `operators "${chain.join('" → "')}"`;
    const reason =
      `the worker thread running ${running} ${lostThread(error)} ${attempts} times on a task of ${piece.records.length} ` +
      `records including this one (last: ${describe(error)}); the task's records were set aside`;
    this.#logger.error({ err: error, node, lane: piece.lane }, reason);
    const dead = piece.records.map((record): DeadLetter => ({
      node,
      reason,
      source: { name: record.source.name, position: record.source.position },
      record,
    }));
    return chain.map((_, link) => ({
      result: link === 0 ? { records: [], dead } : { records: [] },
      origins: [],
    }));
  }

  /**
   * Makes the pieces agree on one failure: the smallest batch index any piece failed at. A piece that handled
   * records at or past it is run again on its records before it (which may fail earlier still). Returns the
   * failure with that index, if any. Pieces of a single-node chain only.
   */
  async #settleFailure(node: string, pieces: Piece[]): Promise<Failing | undefined> {
    for (;;) {
      let failing: Failing | undefined;
      for (const piece of pieces) {
        const failure = piece.links[0]!.result.failure;
        if (failure === undefined) continue;
        // A failure past the piece's last record fails just after it.
        const at = piece.indices[failure.handled] ?? piece.indices[piece.indices.length - 1]! + 1;
        if (failing === undefined || at < failing.handled) failing = { error: failure.error, handled: at };
      }
      if (failing === undefined) return undefined;
      const limit = failing.handled;
      const reruns: Piece[] = [];
      for (const piece of pieces) {
        const handled = piece.links[0]!.result.failure?.handled ?? piece.records.length;
        const before = piece.indices.findIndex((index) => index >= limit);
        const below = before === -1 ? piece.records.length : before;
        if (handled === below) continue;
        piece.indices = piece.indices.slice(0, below);
        piece.records = piece.records.slice(0, below);
        if (below === 0) piece.links = [{ result: { records: [] }, origins: [] }];
        else reruns.push(piece);
      }
      if (reruns.length === 0) return failing;
      await Promise.all(reruns.map(async (piece) => (piece.links = await this.#runPiece([node], piece))));
    }
  }

  /**
   * The batch's result at node `link` of the pieces' chain. Records come in batch order when every piece's records
   * have known origins (see {@link Link}); otherwise lane after lane, each in input order, and the records (and
   * branches) are then marked out of batch order when more than one lane gave them (see {@link #keepOrder}).
   */
  #merge(pieces: Piece[], link: number, failure: Failing | undefined): OperatorResult {
    const ordered = [...pieces].sort((a, b) => a.lane - b.lane || a.indices[0]! - b.indices[0]!);
    const dead: DeadLetter[] = [];
    let branches: Record<string, ChangeRecord[]> | undefined;
    for (const piece of ordered) {
      const { result } = piece.links[link]!;
      if (result.dead !== undefined) for (const letter of result.dead) dead.push(letter);
      if (result.branches === undefined) continue;
      branches ??= {};
      for (const [branch, routed] of Object.entries(result.branches)) {
        const into = (branches[branch] ??= []);
        for (const record of routed) into.push(record);
      }
    }
    const severalLanes = ordered.some((piece) => piece.lane !== ordered[0]!.lane);
    const records = this.#mergedRecords(ordered, link, severalLanes);
    if (severalLanes) for (const routed of Object.values(branches ?? {})) this.#outOfOrder.add(routed);
    return {
      records,
      ...(branches === undefined ? {} : { branches }),
      ...(dead.length === 0 ? {} : { dead }),
      ...(failure === undefined ? {} : { failure }),
    };
  }

  /**
   * The records of node `link` across `ordered` pieces: in batch order by their origins when all are known, else
   * lane after lane (marked out of batch order when `severalLanes` gave them).
   */
  #mergedRecords(ordered: readonly Piece[], link: number, severalLanes: boolean): ChangeRecord[] {
    if (ordered.every((piece) => piece.links[link]!.origins !== undefined)) {
      const slots: ChangeRecord[] = [];
      for (const piece of ordered) {
        const { result, origins } = piece.links[link]!;
        result.records.forEach((record, index) => (slots[origins![index]!] = record));
      }
      // A node that dropped records left holes in `slots`: `filter` skips them.
      return slots.filter(() => true);
    }
    const records: ChangeRecord[] = [];
    for (const piece of ordered) for (const record of piece.links[link]!.result.records) records.push(record);
    if (severalLanes) this.#outOfOrder.add(records);
    return records;
  }
}
