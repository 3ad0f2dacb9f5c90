import assert from 'node:assert/strict';

/**
 * What a reliability scenario did and found: the faults it injected, what it offered, what arrived, and what went
 * wrong. A passing scenario has `lost === 0`, `regressed === 0` and no `problems`.
 */
export interface ScenarioReport {
  /** The scenario's name, e.g. `crash: kafka → validate/transform → postgres`. */
  readonly scenario: string;
  /** Faults injected (kills, outages). */
  readonly faults: number;
  /** Records offered to the source. */
  readonly offered: number;
  /** Good records whose effect is in the target (their key holds their version or a newer one). */
  readonly written: number;
  /** Bad records found in the dead-letter queue (each counted once). */
  readonly deadLettered: number;
  /** Dead-letter entries beyond the first for a position (at-least-once applies to the DLQ too). */
  readonly dlqDuplicates: number;
  /** Good records whose effect is missing from the target, plus bad records missing from the DLQ. */
  readonly lost: number;
  /** Rows seen to move back to an older version, or ending older than the newest version produced. */
  readonly regressed: number;
  /** Anything else wrong (unexpected DLQ entries, rows that should not exist, a failed run), in words. */
  readonly problems: readonly string[];
}

/** Asserts what every fault scenario must end with: `faults` injected, no problem, nothing lost, no row regressed. */
export function assertSurvived(report: ScenarioReport, faults: number): void {
  assert.deepEqual(report.problems, [], `${report.scenario}: problems`);
  assert.equal(report.faults, faults, `${report.scenario}: faults injected`);
  assert.equal(report.lost, 0, `${report.scenario}: nothing lost`);
  assert.equal(report.regressed, 0, `${report.scenario}: no row moved back to an older version`);
}

/** A scenario's progress lines when the caller gives none: printed when `SLUICE_TEST_LOG` is set, else dropped. */
export function scenarioLog(line: string): void {
  if (process.env.SLUICE_TEST_LOG) console.log(line);
}
