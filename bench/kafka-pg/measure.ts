import type { Checksum } from '../checksum.js';
import type { SystemParams, SystemResult } from '../scenario.js';
import { startKafkaPgEnvironment, type KafkaPgEnvironment } from './environment.js';
import { expectedRows } from './order-chain.js';

/** Longest a system may go without writing a row before the run fails (it would otherwise wait forever). */
const STALL_MS = 60_000;

/** A system of the `kafka-pg` scenario, started and ready (subscribed, assigned) before the clock starts. */
export interface StartedSystem {
  /** Rows written so far (records handled, for a ceiling without a table). */
  done(): number;
  /** Stops consuming and releases connections (after the clock stopped). */
  stop(): Promise<void>;
  /** What the system delivered, when it keeps no table (the consume ceiling); otherwise the table is read. */
  checksum?(): Checksum;
}

/**
 * Runs one system of the `kafka-pg` scenario: starts its environment, lets it get ready, then times from the first
 * message produced until it has written every row the chain keeps; reports count and checksum read back from its
 * table. The mock cluster, Postgres and the producer start before the timed part.
 */
export async function measureKafkaPg(
  { records }: SystemParams,
  name: string,
  start: (environment: KafkaPgEnvironment) => Promise<StartedSystem>,
): Promise<SystemResult> {
  const expected = expectedRows(records).length;
  const environment = await startKafkaPgEnvironment(records, name);
  try {
    const system = await start(environment);
    let seconds: number;
    try {
      const started = performance.now();
      const producing = environment.produce();
      let failure: Error | undefined;
      producing.catch(
        (error: unknown) => (failure = error instanceof Error ? error : new Error(String(error))),
      );
      let progress = { done: 0, at: performance.now() };
      for (let done = system.done(); done < expected; done = system.done()) {
        if (failure !== undefined) throw failure;
        const now = performance.now();
        if (done !== progress.done) progress = { done, at: now };
        else if (now - progress.at > STALL_MS)
          throw new Error(
            `${name} wrote ${done} of ${expected} rows and nothing more for ${STALL_MS / 1000} s`,
          );
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      seconds = (performance.now() - started) / 1000;
      await producing;
    } finally {
      await system.stop();
    }
    const checksum = system.checksum ? system.checksum() : await environment.table.checksum();
    return { records: checksum.count, checksum: checksum.hex, seconds, latenciesMs: [] };
  } finally {
    await environment.close();
  }
}
