import type { ResourceLimits } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { SluiceError } from './errors.js';
import type { WorkerSetup, WorkerTask } from './worker-protocol.js';

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
  #closing: Promise<void> | undefined;

  constructor(options: WorkerPoolOptions) {
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
        workerData: options.setup,
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
   * reply bytes; rejects when the thread dies while running it, and with `WORKER_POOL_CLOSED` after `close()`.
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
    return pool.run(task, { transferList: [task.records.buffer] });
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
