import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startMockKafka, type RunningKafka } from '../../cli/embedded-kafka.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../../cli/embedded-postgres.js';
import { runKafkaToPostgres } from './kafka-to-postgres-scenario.js';
import { assertSurvived } from './scenario-report.js';

let postgres: RunningPostgres;
let kafka: RunningKafka;
let workDir: string;

before(async () => {
  [postgres, kafka] = await Promise.all([startEmbeddedPostgres(), startMockKafka()]);
  workDir = await mkdtemp(join(tmpdir(), 'sluice-crash-kafka-'));
});

after(async () => {
  await Promise.allSettled([postgres?.stop(), kafka?.stop()]);
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('crash: sluice run is SIGKILLed while a Kafka → validate/transform → Postgres pipeline works', () => {
  test('after 5 kills and restarts the target holds every key at its newest version and the DLQ every bad message', async () => {
    const report = await runKafkaToPostgres({
      postgres,
      brokers: kafka.bootstrapServers,
      workDir,
      records: 6_000,
      keys: 300,
      fault: { kind: 'kill', count: 5 },
    });
    assertSurvived(report, 5);
    assert.equal(report.written + report.deadLettered, report.offered);
  });
});
