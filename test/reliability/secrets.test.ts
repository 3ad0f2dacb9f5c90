import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmbeddedPostgres, type RunningPostgres } from '../../cli/embedded-postgres.js';
import { SluiceProcess } from './sluice-process.js';

let postgres: RunningPostgres;
let dir: string;

before(async () => {
  postgres = await startEmbeddedPostgres();
  dir = await mkdtemp(join(tmpdir(), 'sluice-secrets-'));
});

after(async () => {
  await postgres?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** generate → Postgres, the URL (with its password) from the environment, failing fast when the sink cannot connect. */
const PIPELINE = (extra = '') => `name: reliability-secrets
sources:
  orders: { type: generate, count: 50, seed: 3, keys: 20 }
sinks:
  warehouse:
    from: orders
    type: postgres
    url: \${TARGET_PG_URL}
    table: public.orders_secrets
    key: [id]
    create_table: true
${extra}runtime:
  state_dir: ./state
  sink_write_retries: 1
  restart: { max_attempts: 1, initial_delay: 10ms, max_delay: 10ms }
`;

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs `sluice ARGS` with `env`; asserts none of `secrets` appears anywhere in what it printed. */
async function runWithout(secrets: string[], args: string[], env: Record<string, string>) {
  const run = await SluiceProcess.run(args, { ...env, SLUICE_LOG_LEVEL: 'debug' });
  for (const secret of secrets)
    assert.ok(!run.output.includes(secret), `"${secret}" was printed:\n${run.output.slice(-3000)}`);
  return run;
}

describe('security: secrets from the environment never echo in logs, errors or --dry-run output', () => {
  test('--dry-run against a real server, with the password in the URL: samples shown, the password not', async () => {
    const file = join(dir, 'dry-run.yaml');
    await writeFile(file, PIPELINE());
    const url = postgres.urlFor('postgres');
    const password = new URL(url).password;
    const run = await runWithout([password], ['run', '--dry-run', file], { TARGET_PG_URL: url });
    assert.equal(run.code, 0, run.output.slice(-2000));
    assert.match(run.output, /warehouse/);
  });

  test('a refused password and an unreachable server fail the run; neither password is printed', async () => {
    const file = join(dir, 'failing.yaml');
    await writeFile(file, PIPELINE());
    const wrong = new URL(postgres.urlFor('postgres'));
    wrong.password = 'Wr0ng-Pa55word-4711';
    const refused = await runWithout(['Wr0ng-Pa55word-4711'], ['run', file], {
      TARGET_PG_URL: wrong.toString(),
    });
    assert.equal(refused.code, 1, refused.output.slice(-2000));
    assert.match(refused.output, /password authentication failed|authentication/i);

    const unreachable = `postgres://sluice:Cl0sed-Pa55word-0815@127.0.0.1:${await closedPort()}/warehouse`;
    const down = await runWithout(['Cl0sed-Pa55word-0815'], ['run', file], { TARGET_PG_URL: unreachable });
    assert.equal(down.code, 1, down.output.slice(-2000));
    assert.match(down.output, /ECONNREFUSED|connect/);
  });

  test('a config error beside a secret (sluice validate and run) names the problem, not the secret', async () => {
    const file = join(dir, 'invalid.yaml');
    await writeFile(
      file,
      PIPELINE('    batch: { max_records: many }\n').replace(
        'key: [id]',
        'key: [id]\n    password: ${SINK_PASSWORD}',
      ),
    );
    const env = {
      TARGET_PG_URL: 'postgres://sluice:Url-Pa55word-1234@db.invalid/x',
      SINK_PASSWORD: 'Field-Pa55word-5678',
    };
    for (const command of ['validate', 'run']) {
      const run = await runWithout(['Url-Pa55word-1234', 'Field-Pa55word-5678'], [command, file], env);
      assert.equal(run.code, 2, run.output.slice(-2000));
      assert.match(run.output, /invalid\.yaml:\d+:\d+: /);
    }
  });
});
