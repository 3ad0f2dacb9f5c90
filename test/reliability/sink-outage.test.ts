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
  workDir = await mkdtemp(join(tmpdir(), 'sluice-sink-outage-'));
});

after(async () => {
  await Promise.allSettled([postgres?.stop(), kafka?.stop()]);
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

// The pipeline (kafka-to-postgres-scenario.ts) rides out the outage by config: `sink_write_retries: 20` with
// `restart: { initial_delay: 100ms, max_delay: 2s }` gives a write at least 0.05+0.1+0.2+0.4+0.8+15×1 s ≈ 16.5 s
// (at most twice that) of retries (the backoff waits between half and all of each delay); the circuit breaker (`failures: 3, cool_down_ms: 1000`) opens after three
// failed writes, refuses writes for a second, then lets one probe through (half-open). With the defaults
// (`sink_write_retries: 8`, `initial_delay: 200ms`, `max_delay: 30s`) a write retries for at least 25.5 s.
describe('sink outage: the target Postgres stops for a while mid-run', () => {
  test('writes are retried behind the circuit breaker, the pipeline resumes by itself, nothing is lost', async () => {
    const report = await runKafkaToPostgres({
      postgres,
      brokers: kafka.bootstrapServers,
      workDir,
      records: 4_000,
      keys: 200,
      fault: { kind: 'sink-outage', durationMs: 4_000 },
      onOutput: (output) => {
        assert.match(output, /retrying with backoff/, 'a failed write is retried');
        assert.match(
          output,
          /circuit breaker opened; writes are refused for 1000 ms/,
          'the circuit breaker opened',
        );
        assert.match(
          output,
          /circuit breaker closed: the half-open probe write succeeded/,
          'a probe got through once Postgres was back',
        );
        assert.match(output, /succeeded after \d+ retries/, 'the failed write went through in the end');
      },
    });
    assertSurvived(report, 1);
    assert.equal(report.written + report.deadLettered, report.offered);
  });
});
