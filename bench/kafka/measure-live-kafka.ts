import type { Checksum } from '../checksum.js';
import type { SystemResult } from '../scenario.js';

/** Longest a system may go without progress before the run fails (it would otherwise wait forever). */
const STALL_MS = 60_000;

/** A Kafka-consuming system, started and ready (assigned its partitions) before the clock starts. */
export interface StartedKafkaSystem {
  /** Units handled so far (rows written to the target, or messages parsed by a ceiling without a table). */
  done(): number;
  /** Stops consuming and releases connections (after the clock stopped). */
  stop(): Promise<void>;
  /** What the system delivered, when it keeps no table (the consume ceiling); otherwise the table is read. */
  checksum?(): Checksum;
}

/** What `measureLiveKafka` runs a system against: a producer to start, and the target to read back and close. */
export interface LiveKafkaEnvironment {
  /** Starts producing every message; resolves once the cluster acknowledged them all. */
  produce(): Promise<void>;
  /** Count and checksum of what the target table holds. */
  checksum(): Promise<Checksum>;
  /** Stops everything the environment started. */
  close(): Promise<void>;
}

/** How `measureLiveKafka` knows a system is finished, and names its progress in a stall error. */
export interface LiveKafkaTarget {
  /** The system's name, for errors. */
  readonly name: string;
  /** How many units `done()` reaches when the system has handled everything. */
  readonly expected: number;
  /** The verb and unit of a stall error, e.g. `['wrote', 'rows']`. */
  readonly progress: readonly [verb: string, unit: string];
}

/**
 * Runs one Kafka-consuming system in its started `environment`: lets it get ready, then times from the first message
 * produced until `done()` reaches `expected`; reports the count and checksum of what it delivered (its own, or read
 * back from the table). Always closes the environment.
 */
export async function measureLiveKafka<E extends LiveKafkaEnvironment>(
  environment: E,
  { name, expected, progress: [verb, unit] }: LiveKafkaTarget,
  start: (environment: E) => Promise<StartedKafkaSystem>,
): Promise<SystemResult> {
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
            `${name} ${verb} ${done} of ${expected} ${unit} and nothing more for ${STALL_MS / 1000} s`,
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
