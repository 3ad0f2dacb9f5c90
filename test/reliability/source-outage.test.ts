import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmbeddedPostgres, type RunningPostgres } from '../../cli/embedded-postgres.js';
import { runCdcToPostgres } from './cdc-to-postgres-scenario.js';

let postgres: RunningPostgres;
let workDir: string;

before(async () => {
  postgres = await startEmbeddedPostgres();
  workDir = await mkdtemp(join(tmpdir(), 'sluice-source-outage-'));
});

after(async () => {
  await postgres?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

// Kafka is not tested through the proxy. librdkafka's mock cluster binds each broker to its own ephemeral port of
// 127.0.0.1 and advertises exactly that host:port in Metadata responses; no `test.mock.*` setting changes the
// advertised address, and node-rdkafka exposes neither the rd_kafka_mock_* C API (broker down/up, RTT) nor a
// connect or resolve callback. A client bootstrapped through a proxy therefore dials the brokers' own ports after
// the first Metadata response and bypasses the proxy, and a proxy cannot listen on the advertised ports itself
// (the brokers hold them). Cutting Kafka would need the mock's C API or a broker that reads advertised.listeners.
describe('source outage: the connections to the CDC source Postgres are cut for a while', () => {
  test('sluice run reconnects by itself and the target ends equal to the source, nothing lost', async () => {
    const report = await runCdcToPostgres({
      postgres,
      workDir,
      initialRows: 1_000,
      fault: { kind: 'source-outage', durationMs: 4_000 },
      log: process.env.SLUICE_TEST_LOG ? (line) => console.log(line) : undefined,
    });
    assert.deepEqual(report.problems, []);
    assert.equal(report.faults, 1);
    assert.equal(report.lost, 0, 'no change lost');
    assert.equal(report.regressed, 0, 'no row moved back to an older version');
  });
});
