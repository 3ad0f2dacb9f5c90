import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startEmbeddedPostgres, type RunningPostgres } from '../../cli/embedded-postgres.js';
import { SluiceProcess } from '../reliability/sluice-process.js';
import { useKafka } from '../support/kafka.js';
import { DEAD_LETTER_TABLE_DDL } from '../support/postgres.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';

const kafka = useKafka();
let postgres: RunningPostgres;
let receiver: OtlpReceiver;
let workDir: string;

before(async () => {
  [postgres, receiver] = await Promise.all([startEmbeddedPostgres(), startOtlpReceiver()]);
  workDir = await mkdtemp(join(tmpdir(), 'sluice-trace-'));
});

after(async () => {
  await Promise.allSettled([postgres?.stop(), receiver?.close()]);
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** OTLP span kinds. */
const PRODUCER = 4;
const CONSUMER = 5;

/** Every 8th message breaks the email rule and goes to the DLQ. */
const isBad = (index: number) => index % 8 === 2;

/** A producer's span, as an upstream service would have put it in the `traceparent` header. */
function producerSpan(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

const named = (spans: readonly ReceivedSpan[], name: string) => spans.filter((span) => span.name === name);
const recordsOf = (spans: readonly ReceivedSpan[]) =>
  spans.reduce((sum, span) => sum + Number(span.attributes['sluice.records']), 0);

describe('traces of a Kafka → worker operators → Postgres run', () => {
  test('a collector receives the span tree per batch, linked to the producers, across the worker hop, into Kafka', async () => {
    const suffix = randomBytes(4).toString('hex');
    const database = `traces_${suffix}`;
    const topic = `traced-in-${suffix}`;
    const mirrorTopic = `traced-out-${suffix}`;
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${database}"`);
    await admin.end();
    const url = postgres.urlFor(database);
    const setup = new pg.Client({ connectionString: url });
    await setup.connect();
    await setup.query(
      'CREATE TABLE orders (id bigint PRIMARY KEY, email text, amount numeric(12,2), tag text)',
    );
    await setup.query(DEAD_LETTER_TABLE_DDL);
    await setup.end();

    const file = join(workDir, 'pipeline.yaml');
    await writeFile(
      file,
      `name: traced
sources:
  events:
    type: kafka
    brokers: \${KAFKA_BROKERS}
    group: traced-${suffix}
    topics: [${topic}]
    commit_interval_ms: 100
    settings: { 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 500 }
operators:
  checks:
    from: events
    type: validate
    rules:
      - { name: email_shape, field: email, regex: '^[^@]+@[^@]+$', action: dlq }
  shaped:
    from: checks
    type: transform
    set: { tag: '"t" + string(after.id)' }
sinks:
  warehouse:
    from: shaped
    type: postgres
    url: \${TARGET_PG_URL}
    table: public.orders
    mode: upsert
    key: [id]
  mirror:
    from: shaped
    type: kafka
    brokers: \${KAFKA_BROKERS}
    topic: ${mirrorTopic}
dlq:
  type: postgres
  url: \${TARGET_PG_URL}
  table: public.dead_letters
  mode: append
runtime:
  state_dir: ./state
  workers: 2
observability:
  service_name: sluice-trace-test
  traces: { endpoint: '${receiver.url}', sample_ratio: 1 }
`,
    );
    const producers = [producerSpan(), producerSpan()];
    const count = 64;
    await kafka.produce(
      topic,
      Array.from({ length: count }, (_, index) => ({
        key: String(index),
        value: JSON.stringify({
          id: index,
          email: isBad(index) ? 'nope' : `c${index}@example.com`,
          amount: 1.25,
        }),
        headers: { traceparent: producers[index % 2]!.traceparent },
      })),
    );
    const bad = Array.from({ length: count }, (_, index) => index).filter(isBad).length;
    const child = SluiceProcess.start(['run', file], { KAFKA_BROKERS: kafka.brokers, TARGET_PG_URL: url });
    try {
      await receiver.waitFor(
        (spans) =>
          recordsOf(
            named(spans, 'sluice.sink.write').filter(
              (span) => span.attributes['sluice.node'] === 'warehouse',
            ),
          ) ===
            count - bad && recordsOf(named(spans, 'sluice.dlq.write')) === bad,
        30_000,
      );
      const mirrored = await kafka.consumeAll(mirrorTopic, count - bad);
      const exit = await child.kill('SIGTERM');
      assert.equal(exit.code, 0, child.output.slice(-4000));
      const spans = receiver.spans;
      const byId = new Map(spans.map((span) => [span.spanId, span]));
      assert.equal(spans[0]!.resource['service.name'], 'sluice-trace-test');

      // Each batch read is the root of its trace, a consumer span linked to the producers' spans.
      const reads = named(spans, 'sluice.source.read');
      assert.ok(reads.length >= 1);
      assert.equal(recordsOf(reads), count);
      const linked = new Set<string>();
      for (const read of reads) {
        assert.equal(read.parentSpanId, '');
        assert.equal(read.kind, CONSUMER);
        assert.equal(read.attributes['messaging.system'], 'kafka');
        assert.equal(read.attributes['messaging.destination.name'], topic);
        for (const link of read.links) linked.add(`${link.traceId}/${link.spanId}`);
      }
      assert.deepEqual(
        [...linked].sort(),
        producers.map((producer) => `${producer.traceId}/${producer.spanId}`).sort(),
        'the batch spans link to exactly the producers whose traceparent the records carried',
      );
      const rootOf = (span: ReceivedSpan): ReceivedSpan => {
        let current = span;
        while (current.parentSpanId !== '') {
          const parent = byId.get(current.parentSpanId);
          assert.ok(parent, `span ${current.name} has its parent ${current.parentSpanId} in the export`);
          assert.equal(parent.traceId, current.traceId);
          current = parent;
        }
        return current;
      };

      // Each operator runs under the batch's span; its work on the worker threads runs under the operator's span.
      const operators = named(spans, 'sluice.operator.process');
      for (const node of ['checks', 'shaped']) {
        const runs = operators.filter((span) => span.attributes['sluice.node'] === node);
        assert.ok(runs.length >= 1, `operator ${node} has spans`);
        for (const run of runs) assert.equal(byId.get(run.parentSpanId)?.name, 'sluice.source.read');
      }
      assert.equal(recordsOf(operators.filter((span) => span.attributes['sluice.node'] === 'checks')), count);
      assert.equal(
        operators
          .filter((span) => span.attributes['sluice.node'] === 'checks')
          .reduce((sum, span) => sum + Number(span.attributes['sluice.records.dead_lettered']), 0),
        bad,
      );
      const tasks = named(spans, 'sluice.operator.task');
      assert.ok(tasks.length >= 2, 'tasks ran on the worker threads');
      for (const task of tasks) {
        const parent = byId.get(task.parentSpanId);
        assert.equal(
          parent?.name,
          'sluice.operator.process',
          'a worker task is a child of its operator span',
        );
        assert.equal(parent.attributes['sluice.node'], task.attributes['sluice.node']);
        assert.ok(Number(task.attributes['thread.id']) > 0, 'the task ran on a worker thread');
        assert.equal(rootOf(task).name, 'sluice.source.read');
      }
      // checks → shaped is a chain on the workers: each task runs both, under the span of checks.
      assert.equal(recordsOf(tasks), count);
      for (const task of tasks) {
        assert.equal(task.attributes['sluice.node'], 'checks');
        assert.equal(task.attributes['sluice.worker.chain'], 'checks,shaped');
      }

      // Sink and DLQ writes and checkpoint commits belong to the batch trace.
      const writes = named(spans, 'sluice.sink.write');
      for (const write of writes) {
        assert.equal(write.kind, PRODUCER);
        assert.equal(write.statusCode, 1);
        assert.equal(rootOf(write).name, 'sluice.source.read');
      }
      const warehouse = writes.filter((span) => span.attributes['sluice.node'] === 'warehouse');
      assert.equal(warehouse[0]!.attributes['db.system.name'], 'postgresql');
      assert.equal(warehouse[0]!.attributes['db.collection.name'], 'public.orders');
      const mirror = writes.filter((span) => span.attributes['sluice.node'] === 'mirror');
      assert.equal(recordsOf(mirror), count - bad);
      assert.equal(mirror[0]!.attributes['messaging.system'], 'kafka');
      assert.equal(mirror[0]!.attributes['messaging.destination.name'], mirrorTopic);
      for (const letters of named(spans, 'sluice.dlq.write'))
        assert.equal(rootOf(letters).name, 'sluice.source.read');
      const commits = named(spans, 'sluice.checkpoint.commit');
      assert.equal(recordsOf(commits), count);
      for (const commit of commits) assert.equal(byId.get(commit.parentSpanId)?.name, 'sluice.source.read');

      // The Kafka sink passes the trace on: each message's traceparent names the write span that produced it.
      const mirrorIds = new Set(mirror.map((span) => `${span.traceId}-${span.spanId}`));
      for (const message of mirrored) {
        const header = message.headers?.find((entry) => 'traceparent' in entry)?.traceparent;
        assert.ok(header !== undefined, 'a mirrored message carries traceparent');
        const [, traceId, spanId] = header.toString().split('-');
        assert.ok(
          mirrorIds.has(`${traceId}-${spanId}`),
          `traceparent ${header.toString()} names a mirror write span`,
        );
      }
    } finally {
      await child.kill('SIGKILL');
    }
  });
});
