// The operator worker thread's entry: piscina loads this module in each thread and calls its default export with
// every task. Importing it elsewhere (for `OPERATOR_WORKER`) starts nothing: the host is made on the first task.
import { workerData } from 'node:worker_threads';
import * as operators from '../operators/index.js';
import type { ComponentRegistry, OperatorDefinition } from '../runtime/component.js';
import { WorkerHost } from '../runtime/worker-host.js';
import { WorkerPool } from '../runtime/worker-pool.js';
import type { WorkerSetup, WorkerTask } from '../runtime/worker-protocol.js';
import { createLogger } from './logger.js';

/** The module URL the engine's worker pool loads: set it as the registry's `operatorWorker`. */
export const OPERATOR_WORKER = new URL(import.meta.url);

/**
 * The operator types a worker can build: every one `operators/` ships (the registry's operators). Not
 * `defaultRegistry()`: that loads every connector, and native addons such as node-rdkafka cannot load in a second
 * thread of the process ("Module did not self-register").
 */
function operatorRegistry(): ComponentRegistry {
  const definitions = Object.values<OperatorDefinition>(operators);
  return {
    sources: new Map(),
    operators: new Map(definitions.map((definition) => [definition.type, definition])),
    sinks: new Map(),
  };
}

let host: WorkerHost | undefined;

/** Answers one task of the worker protocol; the reply's buffer is transferred back. */
export default async function runTask(task: WorkerTask): Promise<unknown> {
  if (host === undefined) {
    // Run from TypeScript sources (tests, `npm run sluice`): on Node 20, tsx registers its ESM hooks on the main
    // thread only, so user modules written in TypeScript would not load here without registering them again.
    if (OPERATOR_WORKER.pathname.endsWith('.ts')) (await import('tsx/esm/api')).register();
    const setup = workerData as WorkerSetup;
    const logger = createLogger({ level: setup.logLevel, pretty: false, secrets: setup.secrets });
    host = new WorkerHost(operatorRegistry(), setup, logger);
  }
  return WorkerPool.reply(await host.handle(task));
}
