import { measureLiveKafka, type StartedKafkaSystem } from '../kafka/measure-live-kafka.js';
import type { SystemParams, SystemResult } from '../scenario.js';
import { startKafkaPgEnvironment, type KafkaPgEnvironment } from './environment.js';
import { expectedRows } from './order-chain.js';

/**
 * Runs one system of the `kafka-pg` scenario: starts its environment, lets it get ready, then times from the first
 * message produced until it has written every row the chain keeps; reports count and checksum read back from its
 * table. The mock cluster, Postgres and the producer start before the timed part.
 */
export async function measureKafkaPg(
  { records }: SystemParams,
  name: string,
  start: (environment: KafkaPgEnvironment) => Promise<StartedKafkaSystem>,
): Promise<SystemResult> {
  const expected = expectedRows(records).length;
  return measureLiveKafka(
    await startKafkaPgEnvironment(records, name),
    { name, expected, progress: ['wrote', 'rows'] },
    start,
  );
}
