import { threadId } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ComponentRegistry } from './component.js';
import { messageOf } from './errors.js';
import type { BatchOperator, OperatorResult } from './operator.js';
import type { ChangeRecord } from './record.js';
import { RecordCodec } from './record-codec.js';
import {
  type WireResult,
  type WorkerReply,
  type WorkerSetup,
  type WorkerTask,
  toWireResult,
} from './worker-protocol.js';

/**
 * The worker-thread side of the operator pool: builds the nodes named in its {@link WorkerSetup} with a registry
 * (all of them on the start-up check, else each on first use, exactly as the engine builds them) and answers
 * {@link WorkerTask}s with reply bytes, running a task's chain of nodes one after the other on the thread. What a
 * node throws, or a node it cannot build, is answered as `{ thrown, node }` (the engine fails the pipeline as it
 * would inline); only a dying thread makes a task reject.
 */
export class WorkerHost {
  readonly #registry: ComponentRegistry;
  readonly #setup: WorkerSetup;
  readonly #logger: Logger;
  readonly #codec = new RecordCodec();
  readonly #operators = new Map<string, Promise<BatchOperator>>();

  constructor(registry: ComponentRegistry, setup: WorkerSetup, logger: Logger) {
    this.#registry = registry;
    this.#setup = setup;
    this.#logger = logger;
  }

  /** Runs one task; resolves with the bytes of its {@link WorkerReply} (timed when the task is traced). */
  async handle(task: WorkerTask): Promise<Uint8Array> {
    const startMs = performance.timeOrigin + performance.now();
    let reply: WorkerReply;
    try {
      if (task.nodes.length === 0) {
        await Promise.all(this.#setup.nodes.map(async (node) => this.#operator(node.name)));
        return this.#codec.encode({ results: [] } satisfies WorkerReply);
      }
      // Built first (or found to fail, which the chain reports at its node), so that loading is not timed.
      await Promise.allSettled(task.nodes.map((node) => this.#operator(node)));
      const { taskClock } = this.#setup;
      if (taskClock !== undefined && task.number !== undefined) Atomics.store(taskClock, 0, task.number);
      reply = await this.#runChain(task.nodes, this.#codec.decode<ChangeRecord[]>(task.records));
    } catch (error) {
      reply = { thrown: messageOf(error), node: task.nodes[0] ?? '' };
    }
    if (task.traceparent !== undefined)
      reply = { ...reply, ran: { startMs, endMs: performance.timeOrigin + performance.now(), threadId } };
    return this.#codec.encode(reply);
  }

  /** Runs each node on what the one before gave, up to the first failure or throw. */
  async #runChain(nodes: readonly string[], records: ChangeRecord[]): Promise<WorkerReply> {
    const results: WireResult[] = [];
    let input = records;
    for (const node of nodes) {
      let result: OperatorResult;
      try {
        const operator = await this.#operator(node);
        result = await operator.process(input);
      } catch (error) {
        return { thrown: messageOf(error), node };
      }
      results.push(toWireResult(result, input));
      if (result.failure !== undefined) break;
      input = result.records;
    }
    return { results };
  }

  #operator(name: string): Promise<BatchOperator> {
    let built = this.#operators.get(name);
    if (built === undefined) {
      built = this.#build(name);
      this.#operators.set(name, built);
    }
    return built;
  }

  async #build(name: string): Promise<BatchOperator> {
    const node = this.#setup.nodes.find((candidate) => candidate.name === name);
    if (node === undefined) {
      throw new Error(
        `operator "${name}" is not among the nodes this worker was set up with (${this.#setup.nodes.map((n) => n.name).join(', ')})`,
      );
    }
    const definition = this.#registry.operators.get(node.type);
    if (definition === undefined) {
      throw new Error(
        `operator "${name}" has type "${node.type}", which the worker's registry does not know`,
      );
    }
    return definition.create(node.options, {
      pipeline: this.#setup.pipeline,
      node: name,
      configDir: this.#setup.configDir,
      logger: this.#logger.child({ pipeline: this.#setup.pipeline, node: name }),
    });
  }
}
