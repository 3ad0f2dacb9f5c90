// The benchmark harness: `npm run bench -- --scenario NAME [--quick] [--json PATH] [--rounds N]`.
// Runs every system of a scenario side by side in one run, each in its own process, alternating after a warm-up,
// checks each one's output (count and checksum), and prints one row per system (and writes them as JSON lines).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { percentile } from './latency-sampler.js';
import type { SystemResult } from './scenario.js';
import { loadScenario, SCENARIO_NAMES } from './scenarios/index.js';

interface Run extends SystemResult {
  readonly peakRssMb: number;
}

/** One JSON row per system, as the issue specifies. */
interface BenchRow {
  scenario: string;
  system: string;
  role: string;
  records: number;
  seconds: number;
  recordsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  peakRssMb: number;
  runs: number;
  correct: boolean;
}

const { values } = parseArgs({
  options: {
    scenario: { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    rounds: { type: 'string' },
    records: { type: 'string' },
  },
});
if (!values.scenario) {
  console.error(`usage: npm run bench -- --scenario NAME [--quick] [--json PATH]\nscenarios: ${SCENARIO_NAMES.join(', ')}`);
  process.exit(2);
}
const scenario = await loadScenario(values.scenario);
const records = values.records ? Number(values.records) : values.quick ? scenario.records.quick : scenario.records.full;
const rounds = values.rounds ? Number(values.rounds) : values.quick ? 2 : 5;
const expected = scenario.expected(records);

/** The median (mean of the middle two for an even count). */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function runSystem(system: string, workDir: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/run-system.ts', scenario.name, system, String(records), workDir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = output.split('\n').find((text) => text.startsWith('RESULT '));
      if (code !== 0 || !line) return reject(new Error(`${system} exited with ${code}: ${output.slice(-2000)}`));
      resolve(JSON.parse(line.slice('RESULT '.length)) as Run);
    });
  });
}

const workRoot = await mkdtemp(join(tmpdir(), `sluice-bench-${scenario.name}-`));
const runs = new Map<string, Run[]>(scenario.systems.map((system) => [system.name, []]));
console.error(`${scenario.name}: ${scenario.description}\n${records} records, 1 warm-up + ${rounds} rounds, systems alternating`);
for (let round = 0; round <= rounds; round++) {
  // Alternate the order each round so drift in the machine's speed does not favour one system.
  const order = round % 2 === 0 ? scenario.systems : [...scenario.systems].reverse();
  for (const system of order) {
    const workDir = await mkdtemp(join(workRoot, `${system.name}-`));
    // Dirty pages left by the system before (a deleted Postgres data directory, its WAL) are flushed now, not
    // during the next system's fsyncs.
    execFileSync('sync');
    const run = await runSystem(system.name, workDir);
    await rm(workDir, { recursive: true, force: true });
    const label = round === 0 ? 'warm-up' : `round ${round}`;
    console.error(`  ${label.padEnd(8)} ${system.name.padEnd(22)} ${(run.records / run.seconds).toFixed(0).padStart(10)} rec/s`);
    if (round > 0) runs.get(system.name)!.push(run);
  }
}
await rm(workRoot, { recursive: true, force: true });

const rows: BenchRow[] = scenario.systems.map((system) => {
  const counted = runs.get(system.name)!;
  const seconds = median(counted.map((run) => run.seconds));
  const latencies = counted.flatMap((run) => run.latenciesMs);
  return {
    scenario: scenario.name,
    system: system.name,
    role: system.role,
    records,
    seconds: Number(seconds.toFixed(4)),
    recordsPerSec: Math.round(records / seconds),
    p50Ms: Number(percentile(latencies, 50).toFixed(2)),
    p99Ms: Number(percentile(latencies, 99).toFixed(2)),
    peakRssMb: Math.round(Math.max(...counted.map((run) => run.peakRssMb))),
    runs: counted.length,
    correct: counted.every((run) => run.records === expected.records && run.checksum === expected.checksum),
  };
});

const header = ['system', 'role', 'records', 'seconds', 'records/s', 'p50 ms', 'p99 ms', 'peak RSS MB', 'correct'];
const table = rows.map((row) => [
  row.system,
  row.role,
  String(row.records),
  row.seconds.toFixed(3),
  String(row.recordsPerSec),
  row.p50Ms.toFixed(2),
  row.p99Ms.toFixed(2),
  String(row.peakRssMb),
  row.correct ? 'yes' : 'NO',
]);
const widths = header.map((title, column) => Math.max(title.length, ...table.map((cells) => cells[column]!.length)));
const line = (cells: string[]) => cells.map((cell, column) => cell.padStart(widths[column]!)).join('  ');
console.log(`\nscenario ${scenario.name} (median of ${rounds} rounds)`);
console.log(line(header));
for (const cells of table) console.log(line(cells));
for (const ratio of scenario.ratios ?? []) {
  const of = rows.find((row) => row.system === ratio.of);
  const to = rows.find((row) => row.system === ratio.to);
  if (!of || !to) continue;
  const value = of.recordsPerSec / to.recordsPerSec;
  const target = ratio.atLeast === undefined ? '' : ` (target ≥ ${ratio.atLeast.toFixed(2)}×: ${value >= ratio.atLeast ? 'met' : 'NOT met'})`;
  // Both systems ran in every round, next to each other: the ratio per round shows how far the machine drifted.
  const toRuns = runs.get(ratio.to)!;
  const perRound = runs.get(ratio.of)!.map((run, round) => toRuns[round]!.seconds / run.seconds);
  const spread = `round by round ${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)}×, median ${median(perRound).toFixed(2)}×`;
  console.log(`${ratio.of} / ${ratio.to} = ${value.toFixed(2)}×${target}; ${spread}`);
}
if (values.json) await writeFile(values.json, rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
if (rows.some((row) => !row.correct)) {
  console.error('some system produced wrong output: see the `correct` column');
  process.exit(1);
}
