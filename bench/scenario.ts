/** What one system reports after processing a scenario's records in its own process. */
export interface SystemResult {
  /** Records that reached the end of the system (the sink, or the ceiling's loop). */
  readonly records: number;
  /** Order-independent checksum of what reached the end (see `Checksum`). */
  readonly checksum: string;
  /** Wall time of the measured part, in seconds (set-up such as starting servers excluded). */
  readonly seconds: number;
  /** A sample of per-record end-to-end latencies in milliseconds (empty when the system has none to report). */
  readonly latenciesMs: readonly number[];
}

/** What a system is given: how many records to process, and a directory of its own for any files. */
export interface SystemParams {
  readonly records: number;
  readonly workDir: string;
}

/** A contender in a scenario: Sluice itself, an alternative a user might write, or a ceiling. */
export interface BenchSystem {
  readonly name: string;
  /** `sluice`, `alternative` or `ceiling`: how to read its row. */
  readonly role: 'sluice' | 'alternative' | 'ceiling';
  run(params: SystemParams): Promise<SystemResult>;
}

/** A benchmark scenario: systems doing the same work, checked against the same expected output. */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** Records per run: full and `--quick`. */
  readonly records: { readonly full: number; readonly quick: number };
  readonly systems: readonly BenchSystem[];
  /** What every system must deliver for `records` input records: how many reach the end, and their checksum. */
  expected(records: number): { readonly records: number; readonly checksum: string };
  /** Ratios to report: `[numerator system, denominator system]`, with the target the issue sets. */
  readonly ratios?: readonly { readonly of: string; readonly to: string; readonly atLeast?: number }[];
}
