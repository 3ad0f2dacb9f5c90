import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmbeddedPostgres, type RunningPostgres } from '../../cli/embedded-postgres.js';
import { runCdcToPostgres } from './cdc-to-postgres-scenario.js';
import { assertSurvived } from './scenario-report.js';

let postgres: RunningPostgres;
let workDir: string;

before(async () => {
  postgres = await startEmbeddedPostgres();
  workDir = await mkdtemp(join(tmpdir(), 'sluice-crash-cdc-'));
});

after(async () => {
  await postgres?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('crash: sluice run is SIGKILLed while a Postgres CDC → validate → Postgres pipeline works', () => {
  test('after 5 kills and restarts the target equals the source and the DLQ file holds every poison row', async () => {
    const report = await runCdcToPostgres({
      postgres,
      workDir,
      initialRows: 2_000,
      fault: { kind: 'kill', count: 5 },
    });
    assertSurvived(report, 5);
    assert.ok(report.deadLettered > 0, 'the writer made poison rows');
  });
});
