import type { Checksum } from '../checksum.js';
import type { SystemParams, SystemResult } from '../scenario.js';
import { type CrdbKafkaEnvironment, startCrdbKafkaEnvironment } from './crdb-kafka-environment.js';

/** Longest a system may go without progress before the run fails (it would otherwise wait forever). */
const STALL_MS = 60_000;

/** A system of the `crdb-kafka-pg` scenario, started and ready (assigned its partitions) before the clock starts. */
export interface StartedCrdbSystem {
  /** Change messages handled so far (written to the target, or parsed by a ceiling without a table). */
  done(): number;
  /** Stops consuming and releases connections (after the clock stopped). */
  stop(): Promise<void>;
  /** What the system delivered, when it keeps no table (the consume ceiling); otherwise the table is read. */
  checksum?(): Checksum;
}

/**
 * Runs one Kafka-consuming system of the `crdb-kafka-pg` scenario: starts its environment, lets it get ready, then
 * times from the first message produced until it has handled every change message; reports the count and
 * checksum of the final rows, read back from its table.
 */
export async function measureCrdbKafka(
  { records }: SystemParams,
  name: string,
  start: (environment: CrdbKafkaEnvironment) => Promise<StartedCrdbSystem>,
): Promise<SystemResult> {
  const environment = await startCrdbKafkaEnvironment(records, name);
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
      for (let done = system.done(); done < records; done = system.done()) {
        if (failure !== undefined) throw failure;
        const now = performance.now();
        if (done !== progress.done) progress = { done, at: now };
        else if (now - progress.at > STALL_MS)
          throw new Error(
            `${name} handled ${done} of ${records} changes and nothing more for ${STALL_MS / 1000} s`,
          );
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      seconds = (performance.now() - started) / 1000;
      await producing;
    } finally {
      await system.stop();
    }
    const checksum = system.checksum ? system.checksum() : await environment.checksum();
    return { records: checksum.count, checksum: checksum.hex, seconds, latenciesMs: [] };
  } finally {
    await environment.close();
  }
}
