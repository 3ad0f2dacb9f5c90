import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startMockKafka, type RunningKafka } from '../../cli/embedded-kafka.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../../cli/embedded-postgres.js';
import { runCdcToPostgres } from './cdc-to-postgres-scenario.js';
import { runKafkaToPostgres } from './kafka-to-postgres-scenario.js';
import { assertSurvived } from './scenario-report.js';

let postgres: RunningPostgres;
let kafka: RunningKafka;
let workDir: string;

before(async () => {
  [postgres, kafka] = await Promise.all([startEmbeddedPostgres(), startMockKafka()]);
  workDir = await mkdtemp(join(tmpdir(), 'sluice-source-outage-'));
});

after(async () => {
  await Promise.allSettled([postgres?.stop(), kafka?.stop()]);
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('source outage: the connections to the CDC source Postgres are cut for a while', () => {
  test('sluice run reconnects by itself and the target ends equal to the source, nothing lost', async () => {
    const report = await runCdcToPostgres({
      postgres,
      workDir,
      initialRows: 1_000,
      fault: { kind: 'source-outage', durationMs: 4_000 },
    });
    assertSurvived(report, 1);
  });
});

// librdkafka's mock cluster advertises its brokers' own ports in Metadata and FindCoordinator responses, so a plain
// TCP proxy would be bypassed after the first metadata request; KafkaProxy (test/support/kafka-proxy.ts) fronts
// every broker and rewrites those addresses to its own, so every connection Sluice opens to Kafka goes through it.
describe('source outage: the connections to Kafka are cut for a while', () => {
  test('sluice run reconnects by itself, reads what was produced meanwhile, and nothing is lost', async () => {
    const report = await runKafkaToPostgres({
      postgres,
      brokers: kafka.bootstrapServers,
      workDir,
      records: 4_000,
      keys: 200,
      fault: { kind: 'source-outage', durationMs: 4_000 },
    });
    assertSurvived(report, 1);
    assert.equal(report.written + report.deadLettered, report.offered);
  });
});
