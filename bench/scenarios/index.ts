import type { Scenario } from '../scenario.js';

/** Every scenario, loaded on demand so a run imports only what it measures. */
const SCENARIOS: Record<string, () => Promise<Scenario>> = {
  passthrough: async () => (await import('./passthrough.js')).passthrough,
  operators: async () => (await import('./operators.js')).operators,
  'kafka-pg': async () => (await import('./kafka-pg.js')).kafkaPg,
  'pg-sink': async () => (await import('./pg-sink.js')).pgSink,
  'pg-cdc': async () => (await import('./pg-cdc.js')).pgCdc,
  'crdb-kafka-pg': async () => (await import('./crdb-kafka-pg.js')).crdbKafkaPg,
  workers: async () => (await import('./workers.js')).workers,
  'workers-light': async () => (await import('./workers.js')).workersLight,
};

/** The names `--scenario` accepts. */
export const SCENARIO_NAMES = Object.keys(SCENARIOS);

/** Loads a scenario by name; throws naming the known ones when there is no such scenario. */
export async function loadScenario(name: string): Promise<Scenario> {
  const load = SCENARIOS[name];
  if (!load) throw new Error(`no scenario ${JSON.stringify(name)}; known: ${SCENARIO_NAMES.join(', ')}`);
  return load();
}
