import { measureLiveKafka, type StartedKafkaSystem } from '../kafka/measure-live-kafka.js';
import type { SystemParams, SystemResult } from '../scenario.js';
import { type CrdbKafkaEnvironment, startCrdbKafkaEnvironment } from './crdb-kafka-environment.js';

/**
 * Runs one Kafka-consuming system of the `crdb-kafka-pg` scenario: starts its environment, lets it get ready, then
 * times from the first message produced until it has handled every change message; reports the count and
 * checksum of the final rows, read back from its table.
 */
export async function measureCrdbKafka(
  { records }: SystemParams,
  name: string,
  start: (environment: CrdbKafkaEnvironment) => Promise<StartedKafkaSystem>,
): Promise<SystemResult> {
  return measureLiveKafka(
    await startCrdbKafkaEnvironment(records, name),
    { name, expected: records, progress: ['handled', 'changes'] },
    start,
  );
}
