// Child process of the bench harness: runs one system of one scenario and prints its result as the last line.
// Usage: node --import tsx bench/run-system.ts SCENARIO SYSTEM RECORDS WORK_DIR
import { loadScenario } from './scenarios/index.js';

const [scenarioName, systemName, recordsText, workDir] = process.argv.slice(2);
if (!scenarioName || !systemName || !recordsText || !workDir) {
  console.error('usage: run-system.ts SCENARIO SYSTEM RECORDS WORK_DIR');
  process.exit(2);
}
const scenario = await loadScenario(scenarioName);
const system = scenario.systems.find((candidate) => candidate.name === systemName);
if (!system) {
  console.error(`scenario ${scenarioName} has no system ${systemName}`);
  process.exit(2);
}
const result = await system.run({ records: Number(recordsText), workDir });
const peakRssMb = process.resourceUsage().maxRSS / 1024;
process.stdout.write(`\nRESULT ${JSON.stringify({ ...result, peakRssMb })}\n`);
process.exit(0);
