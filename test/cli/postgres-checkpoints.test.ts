import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { replaySpec } from '../../cli/commands/replay.js';
import { defaultRegistry } from '../../cli/registry.js';
import { loadPipeline } from '../../runtime/config/index.js';
import { usePostgres } from '../support/postgres.js';
import { sluice } from '../support/sluice-cli.js';

const pg = usePostgres();

/** 50 generated orders into a file, checkpoints in the table `pipeline_state` of `${PG_URL}`. */
const PIPELINE = `name: pg-checkpoints
sources:
  orders: { type: generate, count: 50, batch_records: 10 }
sinks:
  out: { from: orders, type: file, path: out/orders.jsonl }
checkpoints:
  type: postgres
  url: \${PG_URL}
  table: pipeline_state
runtime: { state_dir: ./state }
`;

/** Files under `dir` (recursively), or none when it does not exist. */
async function filesUnder(dir: string): Promise<string[]> {
  return readdir(dir, { recursive: true }).catch(() => []);
}

test('sluice run keeps checkpoints in the configured Postgres table and resumes from it', async () => {
  const db = await pg.database('checkpoints');
  const dir = await mkdtemp(join(tmpdir(), 'sluice-pg-checkpoints-'));
  const file = join(dir, 'pipeline.yaml');
  await writeFile(file, PIPELINE);

  const ran = await sluice(['run', file], { env: { PG_URL: db.url } });
  assert.equal(ran.code, 0, ran.stderr);
  assert.match(ran.stdout, /read 50 records, wrote 50/);
  const { rows } = await db.pool.query<{ pipeline_key: string; checkpoint: unknown }>(
    'SELECT pipeline_key, checkpoint FROM pipeline_state',
  );
  assert.deepEqual(rows, [
    { pipeline_key: 'pg-checkpoints/orders/sequence', checkpoint: { next_sequence: 50 } },
  ]);
  assert.deepEqual(await filesUnder(join(dir, 'state')), []);

  const again = await sluice(['run', file], { env: { PG_URL: db.url } });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /read 0 records, wrote 0/);
  const written = (await readFile(join(dir, 'out', 'orders.jsonl'), 'utf8')).trim().split('\n');
  assert.equal(written.length, 50);
});

test('a replay keeps its checkpoints apart from the table the pipeline resumes from', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-pg-checkpoints-'));
  const file = join(dir, 'pipeline.yaml');
  await writeFile(file, PIPELINE);
  const spec = await loadPipeline(file, defaultRegistry(), { env: { PG_URL: 'postgres://app@db/shop' } });
  assert.equal(spec.checkpoints?.type, 'postgres');
  const replay = await replaySpec(spec, join(dir, 'dlq.replay.jsonl'), undefined);
  assert.equal(replay.checkpoints, undefined);
  assert.notEqual(replay.runtime.stateDir, spec.runtime.stateDir);
});
