// The long forms of the reliability tests (test/reliability): SIGKILLs of `sluice run` while a Kafka → operators →
// Postgres pipeline and a Postgres CDC → Postgres pipeline work, a stopped target Postgres, cut connections to the
// sources (the CDC source Postgres, then Kafka). Prints one table row per run and exits 1 when any record was lost
// or any row regressed.
//
//   node --import tsx scripts/soak.ts [--kills 100] [--records 60000] [--keys 2000] [--cdc-rows 20000]
//                                     [--outage 10s] [--only crash-kafka,crash-cdc,sink-outage,source-outage]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startMockKafka, type RunningKafka } from '../cli/embedded-kafka.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../cli/embedded-postgres.js';
import { parseDuration } from '../runtime/config/duration.js';
import { type CdcScenarioFault, runCdcToPostgres } from '../test/reliability/cdc-to-postgres-scenario.js';
import {
  type KafkaScenarioFault,
  runKafkaToPostgres,
} from '../test/reliability/kafka-to-postgres-scenario.js';
import type { ScenarioReport } from '../test/reliability/scenario-report.js';

const SCENARIOS = ['crash-kafka', 'crash-cdc', 'sink-outage', 'source-outage'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '100' },
    records: { type: 'string', default: '60000' },
    keys: { type: 'string', default: '2000' },
    'cdc-rows': { type: 'string', default: '20000' },
    outage: { type: 'string', default: '10s' },
    only: { type: 'string', default: SCENARIOS.join(',') },
  },
});

/** A whole number of at least `min` from the flag `name`, or exit 2 saying what was expected. */
function count(name: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    console.error(
      `soak: expected --${name} to be a whole number of at least ${min}, got ${JSON.stringify(text)}`,
    );
    process.exit(2);
  }
  return value;
}

const kills = count('kills', values.kills, 1);
const records = count('records', values.records, 1);
const keys = count('keys', values.keys, 1);
const cdcRows = count('cdc-rows', values['cdc-rows'], 1);
const outageMs = parseDuration(values.outage);
const only = values.only.split(',').map((name) => name.trim());
const unknown = only.filter((name) => !(SCENARIOS as readonly string[]).includes(name));
if (unknown.length > 0) {
  console.error(`soak: expected --only to list some of ${SCENARIOS.join(', ')}, got ${unknown.join(', ')}`);
  process.exit(2);
}
const chosen = SCENARIOS.filter((name) => only.includes(name));

/** Generous time to converge after the last fault: the long forms move more data than the tests. */
const convergeTimeoutMs = 300_000;
const log = (line: string) => console.log(`  ${new Date().toISOString().slice(11, 19)} ${line}`);

/** One long run of a scenario against the shared servers. */
type Run = (servers: {
  postgres: RunningPostgres;
  kafka: RunningKafka;
  workDir: string;
}) => Promise<ScenarioReport>;

/** A run of the Kafka → Postgres scenario with `fault`. */
const kafkaRun =
  (fault: KafkaScenarioFault): Run =>
  ({ postgres, kafka, workDir }) =>
    runKafkaToPostgres({
      postgres,
      brokers: kafka.bootstrapServers,
      workDir,
      records,
      keys,
      fault,
      convergeTimeoutMs,
      log,
    });

/** A run of the Postgres CDC → Postgres scenario with `fault`. */
const cdcRun =
  (fault: CdcScenarioFault): Run =>
  ({ postgres, workDir }) =>
    runCdcToPostgres({ postgres, workDir, initialRows: cdcRows, fault, convergeTimeoutMs, log });

/** The runs of each scenario, in order. */
const runs: Record<Scenario, readonly Run[]> = {
  'crash-kafka': [kafkaRun({ kind: 'kill', count: kills })],
  'crash-cdc': [cdcRun({ kind: 'kill', count: kills })],
  'sink-outage': [kafkaRun({ kind: 'sink-outage', durationMs: outageMs })],
  'source-outage': [
    cdcRun({ kind: 'source-outage', durationMs: outageMs }),
    kafkaRun({ kind: 'source-outage', durationMs: outageMs }),
  ],
};

/** The reports as a Markdown table (the README's reliability section shows one). */
function table(reports: readonly ScenarioReport[]): string {
  const header = [
    'scenario',
    'faults injected',
    'records offered',
    'written',
    'dead-lettered',
    'DLQ duplicates',
    'lost',
    'regressed',
  ];
  const rows = reports.map((report) => [
    report.scenario,
    String(report.faults),
    String(report.offered),
    String(report.written),
    String(report.deadLettered),
    String(report.dlqDuplicates),
    String(report.lost),
    String(report.regressed),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((width, column) => (column === 0 ? `${'-'.repeat(width + 1)}-` : `${'-'.repeat(width + 1)}:`)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

const workDir = await mkdtemp(join(tmpdir(), 'sluice-soak-'));
let postgres: RunningPostgres | undefined;
let kafka: RunningKafka | undefined;
const reports: ScenarioReport[] = [];
const started = Date.now();
try {
  [postgres, kafka] = await Promise.all([startEmbeddedPostgres(), startMockKafka()]);
  for (const name of chosen) {
    console.log(`${name}:`);
    for (const run of runs[name]) {
      const began = Date.now();
      const report = await run({ postgres, kafka, workDir });
      reports.push(report);
      log(
        `${report.scenario}: done in ${((Date.now() - began) / 1000).toFixed(0)} s: lost ${report.lost}, regressed ${report.regressed}, ${report.problems.length} problems`,
      );
      for (const problem of report.problems) console.log(`  problem: ${problem.slice(0, 2000)}`);
    }
  }
} finally {
  await Promise.allSettled([postgres?.stop(), kafka?.stop()]);
  await rm(workDir, { recursive: true, force: true });
}
console.log(`\n${table(reports)}\n`);
console.log(`${((Date.now() - started) / 1000).toFixed(0)} s in all`);
const failed = reports.some(
  (report) => report.lost > 0 || report.regressed > 0 || report.problems.length > 0,
);
process.exit(failed ? 1 : 0);
