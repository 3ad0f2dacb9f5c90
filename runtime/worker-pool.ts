import type { ResourceLimits } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { SluiceError } from './errors.js';
import type { WorkerSetup, WorkerTask } from './worker-protocol.js';

/** How often a task at the head of its lane is checked for having started on the thread, in milliseconds. */
const TASK_START_POLL_MS = 10;

/** How a {@link WorkerPool} is built. */
export interface WorkerPoolOptions {
  /** The worker module (`cli/operator-worker.ts`): its default export answers {@link WorkerTask}s. */
  readonly entry: URL;
  /** Lanes: one worker thread each. */
  readonly lanes: number;
  /** Each thread's `workerData`. */
  readonly setup: WorkerSetup;
  /** Most tasks one lane may hold waiting behind the running one; more is a bug in the caller and is refused. */
  readonly maxQueue: number;
  /** Heap bounds of each thread: one that exceeds them dies (and is replaced) instead of the process. */
  readonly resourceLimits?: ResourceLimits;
  /**
   * Longest a task may run, in milliseconds, from when its thread takes it (not from when it was queued): then the
   * thread is stopped and replaced, and the task rejects with `WORKER_TASK_TIMEOUT`.
   */
  readonly taskTimeoutMs: number;
  /** Told about a thread that failed outside any task (the pool replaces it). */
  readonly onError: (lane: number, error: Error) => void;
}

/**
 * Worker threads in lanes: each lane is a piscina pool of exactly one thread, so work sent to a lane always meets
 * the same thread (and whatever state its operators keep). A thread that dies (`process.exit`, an uncaught
 * exception, running out of its `resourceLimits`) rejects the task it was running and is replaced by piscina.
 *
 * Batches cross as bytes whose `ArrayBuffer` is transferred, not cloned, both ways. This is the only file that
 * imports piscina.
 */
export class WorkerPool {
  readonly #pools: Piscina<WorkerTask, Uint8Array>[];
  readonly #taskTimeoutMs: number;
  /** Per lane, the number of the task its thread runs now (written by the thread: `WorkerSetup.taskClock`). */
  readonly #clocks: Int32Array[];
  /** Per lane, the number of the last task given to it. */
  readonly #numbers: number[];
  /** Per lane, the last task given to it, settled: the thread takes the next one when it settles. */
  readonly #lastTasks: Promise<void>[];
  #closing: Promise<void> | undefined;

  constructor(options: WorkerPoolOptions) {
    this.#taskTimeoutMs = options.taskTimeoutMs;
    this.#clocks = Array.from({ length: options.lanes }, () => new Int32Array(new SharedArrayBuffer(4)));
    this.#numbers = Array.from({ length: options.lanes }, () => 0);
    this.#lastTasks = Array.from({ length: options.lanes }, () => Promise.resolve());
    this.#pools = Array.from({ length: options.lanes }, (_, lane) => {
      const pool = new Piscina<WorkerTask, Uint8Array>({
        filename: options.entry.href,
        name: 'default',
        minThreads: 1,
        maxThreads: 1,
        idleTimeout: Infinity,
        maxQueue: options.maxQueue,
        // A task the busy thread cannot take yet goes back to the head of the queue, not its tail: a lane runs its
        // tasks in the order they were given, which per-key order across tasks and batches relies on.
        stricterFIFO: true,
        workerData: { ...options.setup, taskClock: this.#clocks[lane] } satisfies WorkerSetup,
        ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
      });
      pool.on('error', (error: Error) => options.onError(lane, error));
      return pool;
    });
  }

  /** How many lanes (threads) the pool has. */
  get lanes(): number {
    return this.#pools.length;
  }

  /** The share of time the threads spent running tasks since they started (0 to 1, mean over the lanes). */
  utilization(): number {
    return this.#pools.reduce((sum, pool) => sum + pool.utilization, 0) / this.#pools.length;
  }

  /**
   * Runs `task` on `lane`'s thread. `task.records` is transferred (unusable here afterwards). Resolves with the
   * reply bytes; rejects when the thread dies while running it, with `WORKER_TASK_TIMEOUT` when it ran longer than
   * the task timeout (the thread is stopped), and with `WORKER_POOL_CLOSED` after `close()`.
   */
  async run(lane: number, task: WorkerTask): Promise<Uint8Array> {
    if (this.#closing !== undefined) {
      throw new SluiceError(
        'WORKER_POOL_CLOSED',
        `worker lane ${lane} was asked to run node "${task.nodes.join('" → "')}" after the pool closed`,
      );
    }
    const pool = this.#pools[lane];
    if (pool === undefined) {
      throw new RangeError(
        `worker lane ${lane} does not exist; the pool has lanes 0 to ${this.#pools.length - 1}`,
      );
    }
    const number = (this.#numbers[lane] = (this.#numbers[lane]! % 0x7fffffff) + 1);
    // Not piscina's per-task `signal`: with it, tasks that wait for the busy thread are taken newest first.
    const timeout = { expired: false };
    const running = pool.run({ ...task, number }, { transferList: [task.records.buffer] });
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    const previous = this.#lastTasks[lane]!;
    this.#lastTasks[lane] = settled;
    // The start-up check builds every node (loading user modules): it has no time limit.
    if (task.nodes.length > 0) void previous.then(() => this.#time(lane, number, timeout, settled));
    try {
      return await running;
    } catch (error) {
      if (!timeout.expired) throw error;
      throw new SluiceError(
        'WORKER_TASK_TIMEOUT',
        `node "${task.nodes.join('" → "')}" ran longer than runtime.worker_task_timeout (${this.#taskTimeoutMs} ms) on a task in worker lane ${lane}; its thread was stopped`,
        { cause: error },
      );
    }
  }

  /**
   * Once a task is at the head of its lane: waits until the thread has taken it (a replaced thread starts first),
   * then, when it has run for the task timeout without settling, marks it expired and stops the thread, which
   * rejects the task as a dying thread would (piscina starts another; the tasks queued behind keep their order).
   */
  #time(lane: number, number: number, timeout: { expired: boolean }, settled: Promise<void>): void {
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    void settled.then(() => {
      done = true;
      clearTimeout(timer);
    });
    const clock = this.#clocks[lane]!;
    const watch = () => {
      if (done) return;
      if (Atomics.load(clock, 0) !== number) {
        timer = setTimeout(watch, TASK_START_POLL_MS);
        return;
      }
      timer = setTimeout(() => {
        timeout.expired = true;
        void this.#pools[lane]!.threads[0]?.terminate();
      }, this.#taskTimeoutMs);
    };
    watch();
  }

  /**
   * Stops every thread: with `force` false, lets queued and running tasks finish first (drain), then destroys the
   * threads; with `force` true, destroys them at once (pending tasks reject). Idempotent; later calls wait for the
   * first.
   */
  close(force: boolean): Promise<void> {
    this.#closing ??= Promise.all(
      this.#pools.map(async (pool) => (force ? pool.destroy() : pool.close().then(() => pool.destroy()))),
    ).then(() => undefined);
    return this.#closing;
  }

  /** For the worker side: wraps reply bytes so piscina transfers their buffer back instead of cloning it. */
  static reply(bytes: Uint8Array): unknown {
    return Piscina.move(bytes);
  }
}
