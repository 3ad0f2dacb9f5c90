import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import Kafka from 'node-rdkafka';
import { uniqueTopic, useKafka } from '../support/kafka.js';
import { type TestDatabase, usePostgres } from '../support/postgres.js';

const kafka = useKafka();
const postgres = usePostgres();

const CLI = join(import.meta.dirname, '..', '..', 'cli', 'main.ts');
/** Partitions of every topic the mock cluster creates. */
const PARTITIONS = 4;
/** Messages produced per test, in chunks while both members consume. */
const TOTAL = 6_000;
const CHUNK = 150;

/** One `sluice run` process of the group. */
interface Member {
  readonly name: string;
  readonly child: ChildProcess;
  /** Partitions it owns now, from its "assigned" / "revoked" log lines. */
  readonly owned: Set<number>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Its last log lines, for failure messages. */
  readonly log: string[];
}

/** Rows the sink holds, one per write: which member wrote which Kafka message. */
interface Landed {
  seq: number;
  kafka_partition: number;
  kafka_offset: number;
  member: string;
}

/**
 * A pipeline every member runs unchanged but for MEMBER: each row records the Kafka partition and offset it came
 * from and who wrote it, appended (no key) so a record written twice is two rows.
 */
function pipelineYaml(topic: string, group: string, table: string): string {
  return `name: scale-out
sources:
  events:
    type: kafka
    brokers: \${KAFKA_BROKERS}
    group: ${group}
    topics: [${topic}]
    batch_records: 100
    commit_interval_ms: 200
    settings: { 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 500 }
operators:
  tag:
    from: events
    type: transform
    set: { kafka_partition: 'source.partition', kafka_offset: 'source.offset', member: '"\${MEMBER}"' }
sinks:
  out:
    from: tag
    type: postgres
    url: \${PG_URL}
    table: public.${table}
    mode: append
    batch: { max_records: 100, max_wait: 20ms }
runtime:
  state_dir: \${STATE_DIR}
`;
}

function startMember(name: string, file: string, env: Record<string, string>): Member {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), CLI, 'run', file], {
    env: { ...process.env, ...env, MEMBER: name, SLUICE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const owned = new Set<number>();
  const log: string[] = [];
  child.stdout.resume();
  createInterface({ input: child.stderr }).on('line', (line) => {
    log.push(line);
    if (log.length > 40) log.shift();
    let entry: { msg?: string; partitions?: string[] };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return;
    }
    const partitions = (entry.partitions ?? []).map((key) => Number(key.slice(key.lastIndexOf('/') + 1)));
    if (entry.msg?.endsWith('assigned partitions')) partitions.forEach((partition) => owned.add(partition));
    if (entry.msg?.endsWith('revoked partitions')) partitions.forEach((partition) => owned.delete(partition));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { name, child, owned, exited, log };
}

async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The group's committed offset per partition, read without joining the group. */
async function committedOffsets(group: string, topic: string): Promise<Map<number, number>> {
  const consumer = new Kafka.KafkaConsumer({ 'bootstrap.servers': kafka.brokers, 'group.id': group }, {});
  await new Promise<void>((resolve, reject) =>
    consumer.connect({}, (error) => (error ? reject(new Error(error.message)) : resolve())),
  );
  try {
    const toppars = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }));
    const offsets = await new Promise<Kafka.TopicPartitionOffset[]>((resolve, reject) =>
      consumer.committed(toppars, 5_000, (error, result) =>
        error ? reject(new Error(error.message)) : resolve(result),
      ),
    );
    return new Map(
      offsets.filter((entry) => entry.offset >= 0).map((entry) => [entry.partition, entry.offset]),
    );
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
}

/** Creates `topic` (the mock cluster creates topics when a producer asks for their metadata). */
async function createTopic(topic: string): Promise<void> {
  const producer = new Kafka.Producer({ 'bootstrap.servers': kafka.brokers });
  await new Promise<void>((resolve, reject) =>
    producer.connect({}, (error) => (error ? reject(new Error(error.message)) : resolve())),
  );
  try {
    await waitFor(
      `topic ${topic} has ${PARTITIONS} partitions`,
      () =>
        new Promise<boolean>((resolve) => {
          producer.getMetadata({ topic, timeout: 2_000 }, (error, metadata) =>
            resolve(
              !error &&
                metadata.topics.some(
                  (entry) => entry.name === topic && entry.partitions.length === PARTITIONS,
                ),
            ),
          );
        }),
      10_000,
    );
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
}

async function landedRows(database: TestDatabase, table: string): Promise<Landed[]> {
  const { rows } = await database.pool.query<Landed>(
    `SELECT seq::int AS seq, kafka_partition::int AS kafka_partition, kafka_offset::int AS kafka_offset, member FROM public.${table}`,
  );
  return rows;
}

async function distinctLanded(database: TestDatabase, table: string): Promise<number> {
  const { rows } = await database.pool.query<{ n: number }>(
    `SELECT count(DISTINCT seq)::int AS n FROM public.${table}`,
  );
  return rows[0]!.n;
}

/**
 * Runs members `a` and `b` of one group over one topic, produces TOTAL messages while they consume, stops `a`
 * with `signal` half-way, lets `b` finish, stops `b` with SIGTERM, and returns what landed, what `a` owned when it
 * was stopped, and the group's committed offsets read just before the stop.
 */
async function scenario(signal: 'SIGTERM' | 'SIGKILL') {
  const topic = uniqueTopic(`scale-${signal.toLowerCase()}`);
  const group = uniqueTopic('sluice-scale');
  const table = `landed_${signal.toLowerCase()}`;
  const database = await postgres.database('scale_out');
  await database.pool.query(
    `CREATE TABLE public.${table} (seq bigint, kafka_partition int, kafka_offset bigint, member text)`,
  );
  await createTopic(topic);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-scale-out-'));
  const file = join(dir, 'pipeline.yaml');
  await writeFile(file, pipelineYaml(topic, group, table));
  const env = (name: string) => ({
    KAFKA_BROKERS: kafka.brokers,
    PG_URL: database.url,
    STATE_DIR: join(dir, `state-${name}`),
  });

  const a = startMember('a', file, env('a'));
  const b = startMember('b', file, env('b'));
  const members = [a, b];
  try {
    // Produce only once the group has settled with both members, so the start-up rebalance moves nothing read.
    await waitFor(
      'both members own partitions',
      () => {
        if (members.some((member) => member.child.exitCode !== null)) throw new Error('a member exited');
        return a.owned.size > 0 && b.owned.size > 0 && a.owned.size + b.owned.size === PARTITIONS;
      },
      30_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\na: ${a.log.join('\n')}\nb: ${b.log.join('\n')}`);
    });
    let committedBeforeStop = new Map<number, number>();
    let ownedByA: number[] = [];
    for (let first = 0; first < TOTAL; first += CHUNK) {
      await kafka.produce(
        topic,
        Array.from({ length: CHUNK }, (_, index) => ({
          partition: (first + index) % PARTITIONS,
          value: JSON.stringify({ seq: first + index }),
        })),
      );
      if (first === TOTAL / 2) {
        // Half-way, once the member to stop has committed on each of its partitions (start-up takes a while).
        await waitFor(
          'member a commits on each of its partitions',
          async () => {
            committedBeforeStop = await committedOffsets(group, topic);
            ownedByA = [...a.owned];
            return ownedByA.length > 0 && ownedByA.every((partition) => committedBeforeStop.has(partition));
          },
          30_000,
        );
        a.child.kill(signal);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const stopped = await a.exited;
    await waitFor(
      'every message landed',
      async () => (await distinctLanded(database, table)) === TOTAL,
      30_000,
    );
    // Give late duplicates a chance to show before counting.
    await new Promise((resolve) => setTimeout(resolve, 500));
    b.child.kill('SIGTERM');
    const finished = await b.exited;
    assert.equal(finished.code, 0, b.log.join('\n'));
    return { rows: await landedRows(database, table), stopped, ownedByA, committedBeforeStop, log: a.log };
  } finally {
    for (const member of members)
      if (member.child.exitCode === null && member.child.signalCode === null) member.child.kill('SIGKILL');
    await Promise.all(members.map((member) => member.exited));
  }
}

/** Rows per message (by `seq`). */
function bySeq(rows: readonly Landed[]): Map<number, Landed[]> {
  const grouped = new Map<number, Landed[]>();
  for (const row of rows) grouped.set(row.seq, [...(grouped.get(row.seq) ?? []), row]);
  return grouped;
}

describe('scale-out: two `sluice run` processes in one consumer group', () => {
  test('SIGTERM to one member: the other takes over its partitions, every record lands exactly once', async (t) => {
    const { rows, stopped, ownedByA, log } = await scenario('SIGTERM');
    assert.equal(stopped.code, 0, log.join('\n'));
    const grouped = bySeq(rows);
    assert.equal(grouped.size, TOTAL);
    const repeated = [...grouped.values()].filter((landed) => landed.length > 1);
    t.diagnostic(
      `member a owned partitions ${ownedByA.join(', ')}; ${rows.length} rows, ${repeated.length} written twice`,
    );
    // The stopping member commits in the source's close, before it leaves the group: the group is stable then, so
    // even the mock cluster (which refuses commits while a group regroups) accepts it, and the survivor starts
    // exactly after what the stopped member wrote.
    assert.deepEqual(repeated, [], 'a clean stop commits everything written before leaving the group');
    // Both members wrote, and the survivor wrote records of the partitions the stopped member gave up.
    assert.ok(rows.some((row) => row.member === 'a') && rows.some((row) => row.member === 'b'));
    assert.ok(ownedByA.length > 0);
    assert.ok(rows.some((row) => row.member === 'b' && ownedByA.includes(row.kafka_partition)));
  });

  test('SIGKILL to one member: nothing is lost; duplicates only after its last commit, at most once each', async (t) => {
    const { rows, stopped, ownedByA, committedBeforeStop } = await scenario('SIGKILL');
    assert.equal(stopped.signal, 'SIGKILL');
    const grouped = bySeq(rows);
    assert.equal(grouped.size, TOTAL, 'every produced message landed at least once');
    for (const [seq, landed] of grouped) {
      if (landed.length === 1) continue;
      const { kafka_partition: partition, kafka_offset: offset } = landed[0]!;
      // Written by the killed member, then again by the survivor that took its partition over.
      assert.deepEqual(landed.map((row) => row.member).sort(), ['a', 'b'], `seq ${seq}`);
      assert.ok(
        ownedByA.includes(partition),
        `seq ${seq} is on partition ${partition}, which the killed member did not own`,
      );
      const committed = committedBeforeStop.get(partition)!;
      assert.ok(
        offset >= committed,
        `seq ${seq} at offset ${offset} was committed (${committed}) before the kill`,
      );
    }
    const repeated = [...grouped.values()].filter((landed) => landed.length > 1).length;
    t.diagnostic(
      `member a owned partitions ${ownedByA.join(', ')}; ${rows.length} rows, ${repeated} written twice`,
    );
    // The survivor took over the killed member's partitions and wrote what the killed member had not committed.
    assert.ok(rows.some((row) => row.member === 'b' && ownedByA.includes(row.kafka_partition)));
  });
});
