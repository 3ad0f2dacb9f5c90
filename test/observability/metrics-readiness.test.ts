import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort, startEmbeddedPostgres, type RunningPostgres } from '../../cli/embedded-postgres.js';
import { SluiceProcess } from '../reliability/sluice-process.js';
import { useKafka } from '../support/kafka.js';
import { DEAD_LETTER_TABLE_DDL } from '../support/postgres.js';

const kafka = useKafka();
let postgres: RunningPostgres;
let workDir: string;

before(async () => {
  postgres = await startEmbeddedPostgres();
  workDir = await mkdtemp(join(tmpdir(), 'sluice-metrics-'));
});

after(async () => {
  await postgres?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** Partitions of every topic the mock cluster creates. */
const MOCK_TOPIC_PARTITIONS = 4;

/** Every 10th message breaks the email rule and goes to the DLQ. */
const isBad = (index: number) => index % 10 === 3;

function message(index: number): { key: string; value: string } {
  const email = isBad(index) ? 'no-at-sign' : `c${index}@example.com`;
  return { key: String(index), value: JSON.stringify({ id: index, email, amount: index + 0.5 }) };
}

/** Every Prometheus sample `name{labels...}` whose labels include every one of `labels`: its label text and value. */
function samples(
  text: string,
  name: string,
  labels: Record<string, string>,
): { labels: string; value: number }[] {
  const found: { labels: string; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const labelText = line.slice(name.length + 1, close);
    if (Object.entries(labels).every(([label, value]) => labelText.includes(`${label}="${value}"`)))
      found.push({ labels: labelText, value: Number(line.slice(close + 1).trim()) });
  }
  return found;
}

/** The value of the first Prometheus sample `name{labels...}` whose labels include every one of `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  return samples(text, name, labels)[0]?.value;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

/** Polls `check` until it returns true; rejects with `what` and the process's output after `timeoutMs`. */
async function eventually(
  what: string,
  child: SluiceProcess,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (!child.running)
      throw new Error(`sluice exited while waiting for ${what}:\n${child.output.slice(-4000)}`);
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}:\n${child.output.slice(-4000)}`);
    await sleep(100);
  }
}

describe('metrics and readiness of a running pipeline', () => {
  test('/metrics counts match the run, and /readyz is 503 while the target Postgres is stopped and 200 after', async () => {
    const suffix = randomBytes(4).toString('hex');
    const database = `observability_${suffix}`;
    const topic = `observability-orders-${suffix}`;
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${database}"`);
    await admin.end();
    const url = postgres.urlFor(database);
    const setup = new pg.Client({ connectionString: url });
    await setup.connect();
    await setup.query('CREATE TABLE orders (id bigint PRIMARY KEY, email text, amount numeric(12,2))');
    await setup.query(DEAD_LETTER_TABLE_DDL);
    await setup.end();

    const port = await freePort();
    const file = join(workDir, 'pipeline.yaml');
    await writeFile(
      file,
      `name: observed
sources:
  events:
    type: kafka
    brokers: \${KAFKA_BROKERS}
    group: observed-${suffix}
    topics: [${topic}]
    commit_interval_ms: 100
    settings: { 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 500 }
operators:
  checks:
    from: events
    type: validate
    rules:
      - { name: email_shape, field: email, regex: '^[^@]+@[^@]+$', action: dlq }
sinks:
  warehouse:
    from: checks
    type: postgres
    url: \${TARGET_PG_URL}
    table: public.orders
    mode: upsert
    key: [id]
    circuit_breaker: { failures: 3, cool_down_ms: 500 }
    batch: { max_records: 100, max_wait: 20ms }
dlq:
  type: postgres
  url: \${TARGET_PG_URL}
  table: public.dead_letters
  mode: append
runtime:
  state_dir: ./state
  sink_write_retries: 30
  restart: { max_attempts: 30, initial_delay: 100ms, max_delay: 1s }
observability:
  health: { port: ${port}, stall_after: 60s }
`,
    );
    const first = 200;
    await kafka.produce(
      topic,
      Array.from({ length: first }, (_, index) => message(index)),
    );
    const child = SluiceProcess.start(['run', file], { KAFKA_BROKERS: kafka.brokers, TARGET_PG_URL: url });
    const base = `http://127.0.0.1:${port}`;
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    pool.on('error', () => undefined);
    try {
      await child.waitFor(/health server listening/);
      assert.deepEqual(await get(`${base}/healthz`), { status: 200, body: 'ok\n' });

      const counts = async (): Promise<{
        read?: number;
        written?: number;
        dead?: number;
        rule?: number;
        dlq?: number;
        text: string;
      }> => {
        const { body } = await get(`${base}/metrics`);
        return {
          dlq: sample(body, 'sluice_records_total', { sluice_node: 'dlq', sluice_outcome: 'written' }),
          read: sample(body, 'sluice_records_total', { sluice_node: 'events', sluice_outcome: 'read' }),
          written: sample(body, 'sluice_records_total', {
            sluice_node: 'warehouse',
            sluice_outcome: 'written',
          }),
          dead: sample(body, 'sluice_records_total', {
            sluice_node: 'checks',
            sluice_outcome: 'dead_lettered',
          }),
          rule: sample(body, 'sluice_rule_failures_total', {
            sluice_node: 'checks',
            sluice_rule: 'email_shape',
          }),
          text: body,
        };
      };
      const bad = (n: number) => Array.from({ length: n }, (_, index) => index).filter(isBad).length;
      const settled = async (total: number): Promise<boolean> => {
        const now = await counts();
        return now.written === total - bad(total) && now.dlq === bad(total);
      };
      await eventually(`all ${first} records in /metrics`, child, () => settled(first));
      const afterFirst = await counts();
      if (process.env.SLUICE_TEST_LOG) console.log(afterFirst.text);
      assert.equal(afterFirst.read, first);
      assert.equal(afterFirst.dead, bad(first));
      assert.equal(afterFirst.rule, bad(first));
      assert.ok(
        (sample(afterFirst.text, 'sluice_batch_size_count', { sluice_node: 'warehouse' }) ?? 0) >= 1,
        'sink writes are in the batch size histogram',
      );
      assert.ok(
        sample(afterFirst.text, 'sluice_record_latency_count', { sluice_node: 'warehouse' }) !== undefined,
      );
      assert.equal(sample(afterFirst.text, 'sluice_node_up', { sluice_node: 'warehouse' }), 1);
      const rows = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM orders');
      assert.equal(
        Number(rows.rows[0]!.n),
        afterFirst.written,
        'the target holds what /metrics says was written',
      );
      const letters = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM dead_letters');
      assert.equal(Number(letters.rows[0]!.n), afterFirst.dead);

      await eventually('/readyz 200', child, async () => (await get(`${base}/readyz`)).status === 200);
      // The backlog per partition; a partition whose lag is not known yet is not reported.
      const backlog = async (): Promise<Map<string, number>> =>
        new Map(
          samples((await get(`${base}/metrics`)).body, 'sluice_source_backlog', {
            sluice_node: 'events',
          }).map(({ labels, value }) => [/sluice_partition="([^"]*)"/.exec(labels)?.[1] ?? labels, value]),
        );
      const backlogTotal = async (): Promise<number> =>
        [...(await backlog()).values()].reduce((sum, records) => sum + records, 0);
      const partitions = Array.from({ length: MOCK_TOPIC_PARTITIONS }, (_, index) => `${topic}/${index}`);
      const cleared = async (): Promise<boolean> => {
        const now = await backlog();
        return partitions.every((partition) => now.get(partition) === 0);
      };
      await eventually('a backlog of 0 on every partition once everything is committed', child, cleared);

      await pool.end();
      await postgres.pause();
      const second = 100;
      await kafka.produce(
        topic,
        Array.from({ length: second }, (_, index) => message(first + index)),
      );
      let notReady = '';
      await eventually('/readyz 503 while Postgres is stopped', child, async () => {
        const ready = await get(`${base}/readyz`);
        notReady = ready.body;
        return ready.status === 503;
      });
      assert.match(notReady, /sink "warehouse" is failing/);
      // Nothing can be committed while the sink and the DLQ are down: all of the second wave is backlog.
      await eventually(
        `a backlog of ${second} while Postgres is stopped`,
        child,
        async () => (await backlogTotal()) === second,
      );
      assert.equal(sample((await counts()).text, 'sluice_node_up', { sluice_node: 'warehouse' }), 0);

      await postgres.resume();
      await eventually(
        '/readyz 200 once Postgres is back',
        child,
        async () => (await get(`${base}/readyz`)).status === 200,
      );
      const total = first + second;
      await eventually(`all ${total} records in /metrics`, child, () => settled(total));
      await eventually('the backlog back to 0 on every partition', child, cleared);
      const final = await counts();
      assert.equal(final.read, total);
      assert.equal(final.rule, bad(total));

      const exit = await child.kill('SIGTERM');
      assert.equal(exit.code, 0, child.output.slice(-4000));
    } finally {
      await pool.end().catch(() => undefined);
      await child.kill('SIGKILL');
      await postgres.resume();
    }
  });
});
