import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Kafka from 'node-rdkafka';
import { kafkaSource } from '../../../connectors/kafka/source.js';
import type { KafkaSource } from '../../../connectors/kafka/kafka-source.js';
import { Decimal } from '../../../runtime/decimal.js';
import type { ChangeRecord } from '../../../runtime/record.js';
import type { SourceBatch } from '../../../runtime/source.js';
import {
  FAST_GROUP,
  messageCount,
  quietLogger,
  readUntil,
  sourceContext,
  uniqueTopic,
  useKafka,
} from '../../support/kafka.js';

const kafka = useKafka();

async function createSource(options: Record<string, unknown>): Promise<KafkaSource> {
  const config = { brokers: kafka.brokers, settings: FAST_GROUP, ...options };
  assert.deepEqual(await kafkaSource.check!(config, { configDir: '.' }), []);
  return (await kafkaSource.create(config, {
    pipeline: 'test',
    node: 'events',
    configDir: '.',
    logger: quietLogger,
  })) as KafkaSource;
}

function records(batches: readonly SourceBatch[]): ChangeRecord[] {
  return batches.flatMap((batch) => batch.records);
}

function offsetsByPartition(batches: readonly SourceBatch[]): Map<number, number[]> {
  const offsets = new Map<number, number[]>();
  for (const record of records(batches)) {
    const partition = record.source.partition as number;
    offsets.set(partition, [...(offsets.get(partition) ?? []), record.source.offset as number]);
  }
  return offsets;
}

/** Waits until the source has committed exactly `expected` (partition → next offset) for its owned partitions. */
async function waitForCommitted(
  source: KafkaSource,
  expected: Map<number, number>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const committed = new Map(
      source
        .lag()
        .flatMap((lag) => (lag.committed === null ? [] : [[lag.partition, lag.committed] as const])),
    );
    if ([...expected].every(([partition, offset]) => committed.get(partition) === offset)) return;
    if (Date.now() > deadline)
      assert.fail(`committed ${JSON.stringify([...committed])}, expected ${JSON.stringify([...expected])}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The committed offset of each of the topic's 4 partitions in `group` (null: none), read without joining the group. */
async function committedOffsets(group: string, topic: string): Promise<(number | null)[]> {
  const probe = new Kafka.KafkaConsumer(
    { 'bootstrap.servers': kafka.brokers, 'group.id': group, 'enable.auto.commit': false },
    {},
  );
  await new Promise<void>((resolve, reject) =>
    probe.connect({}, (error) => (error ? reject(new Error(error.message)) : resolve())),
  );
  try {
    const partitions = [0, 1, 2, 3];
    const offsets = await new Promise<Kafka.TopicPartitionOffset[]>((resolve, reject) =>
      probe.committed(
        partitions.map((partition) => ({ topic, partition })),
        10_000,
        (error, committed) => (error ? reject(new Error(error.message)) : resolve(committed)),
      ),
    );
    return partitions.map((partition) => {
      const offset = offsets.find((committed) => committed.partition === partition)?.offset;
      return offset !== undefined && offset >= 0 ? offset : null;
    });
  } finally {
    await new Promise<void>((resolve) => probe.disconnect(() => resolve()));
  }
}

/**
 * Starts a plain consumer joining `group` as a second member (cooperative-sticky, like the source; it never commits)
 * and resolves once its JoinGroup request is out: from then on the group is rebalancing, which the mock cluster
 * keeps it for `session.timeout.ms` − 1 s while it waits for the other members to rejoin.
 */
async function startJoining(group: string, topic: string): Promise<Kafka.KafkaConsumer> {
  const joiner = new Kafka.KafkaConsumer(
    {
      'bootstrap.servers': kafka.brokers,
      'group.id': group,
      'enable.auto.commit': false,
      'partition.assignment.strategy': 'cooperative-sticky',
      'statistics.interval.ms': 50,
      rebalance_cb: true,
      ...FAST_GROUP,
    },
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) =>
    joiner.connect({}, (error) => (error ? reject(new Error(error.message)) : resolve())),
  );
  const joining = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no JoinGroup request for ${group} within 20 s`)),
      20_000,
    );
    joiner.on('event.stats', (stats: { message: string }) => {
      const { cgrp } = JSON.parse(stats.message) as { cgrp?: { join_state?: string } };
      if (cgrp?.join_state !== 'wait-join') return;
      clearTimeout(timer);
      resolve();
    });
  });
  joiner.subscribe([topic]);
  // Flowing mode polls, which serves the statistics and the rebalance.
  joiner.consume();
  try {
    await joining;
  } catch (error) {
    await new Promise<void>((resolve) => joiner.disconnect(() => resolve()));
    throw error;
  }
  return joiner;
}

/**
 * Closes `source` as when librdkafka's disconnect outlasts the close's wait for it (10 s): the disconnect goes on, but
 * the close completes before librdkafka revokes the partitions. Only the consumer of `group` is affected.
 */
async function closeBeforeDisconnected(source: KafkaSource, group: string): Promise<void> {
  type Disconnect = (this: Kafka.KafkaConsumer, callback?: (error: null) => void) => Kafka.KafkaConsumer;
  const prototype = Kafka.KafkaConsumer.prototype as unknown as { disconnect: Disconnect };
  const inherited = prototype.disconnect;
  prototype.disconnect = function (callback) {
    const config = (this as unknown as { globalConfig: Record<string, unknown> }).globalConfig;
    if (config['group.id'] !== group) return inherited.call(this, callback);
    inherited.call(this);
    callback?.(null);
    return this;
  };
  try {
    await source.close();
  } finally {
    // The override shadowed the method KafkaConsumer inherits.
    delete (prototype as Partial<typeof prototype>).disconnect;
  }
}

describe('kafka source', { concurrency: true }, () => {
  test('reads JSON without loss, with key, headers, partition, offset and timestamp', async () => {
    const topic = uniqueTopic('exact');
    await kafka.produce(topic, [
      {
        key: '{"id":1234567890123456789}',
        value: '{"id":1234567890123456789,"total":26.30,"name":"ada"}',
        partition: 2,
        headers: { trace: 'abc' },
      },
      { key: '"plain-key"', value: '[1,2]', partition: 2 },
      { key: null, value: '"just text"', partition: 2 },
    ]);
    const source = await createSource({ group: uniqueTopic('g'), topics: [topic] });
    await source.connect(sourceContext('events'));
    try {
      const batches = await readUntil(source, (read) => messageCount(read) >= 3);
      const [first, second, third] = records(batches);
      assert.equal(first!.op, 'insert');
      assert.deepEqual(first!.after, { id: 1234567890123456789n, total: new Decimal('26.30'), name: 'ada' });
      assert.deepEqual(first!.key, { id: 1234567890123456789n });
      assert.deepEqual(first!.headers, { trace: 'abc' });
      assert.equal(first!.source.name, 'events');
      assert.equal(first!.source.topic, topic);
      assert.equal(first!.source.table, topic);
      assert.equal(first!.source.partition, 2);
      assert.equal(first!.source.offset, 0);
      assert.equal(first!.source.position, `${topic}/2@0`);
      assert.ok(first!.source.timestamp instanceof Date);
      assert.equal(first!.sourceTimeMs, first!.source.timestamp.getTime());
      assert.ok(Math.abs(first!.sourceTimeMs - Date.now()) < 60_000);
      assert.deepEqual(second!.after, { value: [1, 2] });
      assert.deepEqual(second!.key, { key: 'plain-key' });
      assert.equal(second!.source.offset, 1);
      assert.deepEqual(third!.after, { value: 'just text' });
      assert.equal(third!.key, null);
    } finally {
      await source.close();
    }
  });

  test('a tombstone is a delete of its key; records: changes reads Sluice change records', async () => {
    const rowsTopic = uniqueTopic('tomb');
    const changesTopic = uniqueTopic('changes');
    await kafka.produce(rowsTopic, [{ key: '{"id":7}', value: null }]);
    await kafka.produce(changesTopic, [
      {
        key: '{"id":8}',
        value:
          '{"op":"update","key":{"id":8},"before":{"id":8,"n":1},"after":{"id":8,"n":2},"source_time_ms":1700000000000}',
      },
    ]);
    const rows = await createSource({ group: uniqueTopic('g'), topics: [rowsTopic] });
    const changes = await createSource({
      group: uniqueTopic('g'),
      topics: [changesTopic],
      records: 'changes',
    });
    await Promise.all([rows.connect(sourceContext('rows')), changes.connect(sourceContext('changes'))]);
    try {
      const [tombstone] = records(await readUntil(rows, (read) => messageCount(read) >= 1));
      assert.equal(tombstone!.op, 'delete');
      assert.deepEqual(tombstone!.key, { id: 7 });
      assert.equal(tombstone!.after, null);
      const [change] = records(await readUntil(changes, (read) => messageCount(read) >= 1));
      assert.equal(change!.op, 'update');
      assert.deepEqual(change!.before, { id: 8, n: 1 });
      assert.deepEqual(change!.after, { id: 8, n: 2 });
      assert.equal(change!.sourceTimeMs, 1_700_000_000_000);
    } finally {
      await Promise.all([rows.close(), changes.close()]);
    }
  });

  test('decodes msgpack values (64-bit integers, dates) and bytes keys', async () => {
    const { Packr } = await import('msgpackr');
    const topic = uniqueTopic('formats');
    const packed = new Packr({ useRecords: false }).pack({
      id: 9007199254740993n,
      small: 5,
      when: new Date(1_700_000_000_000),
    });
    await kafka.produce(topic, [{ key: Buffer.from([1, 2, 3]), value: packed }]);
    const source = await createSource({
      group: uniqueTopic('g'),
      topics: [topic],
      format: 'msgpack',
      key_format: 'bytes',
    });
    await source.connect(sourceContext('events'));
    try {
      const [record] = records(await readUntil(source, (read) => messageCount(read) >= 1));
      assert.deepEqual(record!.after, { id: 9007199254740993n, small: 5, when: new Date(1_700_000_000_000) });
      assert.deepEqual(record!.key, { key: new Uint8Array([1, 2, 3]) });
    } finally {
      await source.close();
    }
  });

  test('a poison message goes to rejected with its position and raw bytes; the rest flow and it counts for commit', async () => {
    const topic = uniqueTopic('poison');
    await kafka.produce(topic, [
      { key: '1', value: '{"id":1}', partition: 0 },
      { key: '2', value: '{"id":2', partition: 0 },
      { key: '3', value: '{"id":3}', partition: 0 },
    ]);
    const source = await createSource({ group: uniqueTopic('g'), topics: [topic] });
    await source.connect(sourceContext('events'));
    try {
      const batches = await readUntil(source, (read) => messageCount(read) >= 3);
      assert.deepEqual(
        records(batches).map((record) => record.after),
        [{ id: 1 }, { id: 3 }],
      );
      const rejected = batches.flatMap((batch) => batch.rejected ?? []);
      assert.equal(rejected.length, 1);
      assert.equal(rejected[0]!.node, 'events');
      assert.deepEqual(rejected[0]!.source, { name: 'events', position: `${topic}/0@1` });
      assert.equal(Buffer.from(rejected[0]!.raw as Uint8Array).toString(), '{"id":2');
      assert.match(rejected[0]!.reason, /not json/);
      for (const batch of batches) batch.ack();
      await waitForCommitted(source, new Map([[0, 3]]));
    } finally {
      await source.close();
    }
  });

  test('commits only the contiguous acknowledged prefix; a new member of the group resumes there', async () => {
    const topic = uniqueTopic('prefix');
    const group = uniqueTopic('g');
    await kafka.produce(
      topic,
      Array.from({ length: 30 }, (_, index) => ({
        key: String(index),
        value: JSON.stringify({ n: index }),
        partition: 1,
      })),
    );
    const first = await createSource({ group, topics: [topic], batch_records: 10 });
    await first.connect(sourceContext('events'));
    let resumeAt: number;
    try {
      const batches = await readUntil(first, (read) => messageCount(read) >= 30);
      assert.deepEqual(
        offsetsByPartition(batches).get(1),
        Array.from({ length: 30 }, (_, index) => index),
      );
      // Acknowledge every batch but the one holding offset 15, newest first.
      const middle = batches.find((batch) => batch.records.some((record) => record.source.offset === 15))!;
      for (const batch of [...batches].reverse()) if (batch !== middle) batch.ack();
      const middleStart = middle.records[0]!.source.offset as number;
      assert.ok(middleStart > 0 && middleStart <= 15);
      await waitForCommitted(first, new Map([[1, middleStart]]));
      // The pipeline stopped inside the middle batch: only its first record was handled.
      middle.ack(1);
      resumeAt = middleStart + 1;
      await waitForCommitted(first, new Map([[1, resumeAt]]));
    } finally {
      await first.close();
    }
    const second = await createSource({ group, topics: [topic], batch_records: 100 });
    await second.connect(sourceContext('events'));
    try {
      const again = await readUntil(second, (read) => messageCount(read) >= 30 - resumeAt);
      assert.deepEqual(
        offsetsByPartition(again).get(1),
        Array.from({ length: 30 - resumeAt }, (_, index) => resumeAt + index),
      );
    } finally {
      await second.close();
    }
  });

  test('pauses a partition that reaches its bound and resumes it once acknowledgements drain it', async () => {
    const topic = uniqueTopic('pause');
    await kafka.produce(
      topic,
      Array.from({ length: 200 }, (_, index) => ({ value: JSON.stringify({ n: index }), partition: 0 })),
    );
    const source = await createSource({
      group: uniqueTopic('g'),
      topics: [topic],
      batch_records: 10,
      max_pending_per_partition: 40,
    });
    await source.connect(sourceContext('events'));
    try {
      const held = await readUntil(source, (read) => messageCount(read) >= 40);
      // Nothing acknowledged: the partition is paused; at most one more poll's worth (10) arrived meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const [lag] = source.lag();
      assert.equal(lag!.paused, true);
      assert.ok(
        lag!.position! >= 40 && lag!.position! <= 40 + 2 * 10,
        `fetched up to ${lag!.position} while paused`,
      );
      for (const batch of held) batch.ack();
      const offsets = records(held).map((record) => record.source.offset as number);
      const deadline = Date.now() + 20_000;
      while (offsets.length < 200 && Date.now() < deadline) {
        const batch = (await source.read())!;
        offsets.push(...batch.records.map((record) => record.source.offset as number));
        batch.ack();
      }
      assert.deepEqual(
        offsets,
        Array.from({ length: 200 }, (_, index) => index),
      );
      const [drained] = source.lag();
      assert.equal(drained!.paused, false);
      await waitForCommitted(source, new Map([[0, 200]]));
      assert.equal(source.lag()[0]!.lag, 0);
    } finally {
      await source.close();
    }
  });

  test('a second member joining during load takes over partitions and nothing is lost', async () => {
    const topic = uniqueTopic('rebalance');
    const group = uniqueTopic('g');
    const total = 4000;
    /** n → the partitions and members that handled it. */
    const seen = new Map<number, { partition: number; member: string }[]>();
    const runners: Promise<void>[] = [];
    /** Reads and acknowledges like a pipeline whose sink takes 0-40 ms per batch, until its signal aborts. */
    const run = (source: KafkaSource, member: string) => {
      runners.push(
        (async () => {
          for (;;) {
            const batch = await source.read();
            if (batch === null) return;
            setTimeout(() => {
              for (const record of batch.records) {
                const n = record.after!.n as number;
                seen.set(n, [
                  ...(seen.get(n) ?? []),
                  { partition: record.source.partition as number, member },
                ]);
              }
              batch.ack();
            }, Math.random() * 40);
          }
        })(),
      );
    };
    const producing = (async () => {
      for (let start = 0; start < total; start += 40) {
        await kafka.produce(
          topic,
          Array.from({ length: 40 }, (_, index) => ({
            key: String(start + index),
            value: JSON.stringify({ n: start + index }),
          })),
        );
        await new Promise((resolve) => setTimeout(resolve, 60));
      }
    })();
    const first = await createSource({ group, topics: [topic], batch_records: 50 });
    const second = await createSource({ group, topics: [topic], batch_records: 50 });
    const firstContext = sourceContext('first');
    const secondContext = sourceContext('second');
    await first.connect(firstContext);
    run(first, 'first');
    try {
      while (seen.size < 300) await new Promise((resolve) => setTimeout(resolve, 20));
      await second.connect(secondContext);
      run(second, 'second');
      await producing;
      const owned = () => [...first.lag(), ...second.lag()];
      const deadline = Date.now() + 30_000;
      while (
        !(seen.size === total && owned().length === 4 && owned().every((lag) => lag.lag === 0)) &&
        Date.now() < deadline
      ) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(seen.size, total, 'every record was read and acknowledged');
      assert.ok(first.lag().length > 0 && second.lag().length > 0, 'both members own partitions');
      assert.equal(owned().length, 4);
      assert.ok(
        owned().every((lag) => lag.lag === 0),
        'every partition is committed to its end',
      );
      // Cooperative rebalancing: partitions the first member kept were never revoked, so none of their records was
      // read twice. Records of moved partitions may be (at least once): the revoke commits what was acknowledged,
      // but the mock cluster refuses commits while the group is rejoining, which real brokers accept.
      const kept = new Set(first.lag().map((lag) => lag.partition));
      const repeatedInKept = [...seen.values()].filter(
        (handled) => handled.length > 1 && kept.has(handled[0]!.partition),
      );
      assert.deepEqual(repeatedInKept, []);
    } finally {
      firstContext.controller.abort();
      secondContext.controller.abort();
      await Promise.all(runners);
      await Promise.all([first.close(), second.close()]);
    }
  });

  test('after a reconnect, a late acknowledgement of an earlier batch does not resume a partition the new connection paused', async () => {
    const topic = uniqueTopic('late-ack');
    await kafka.produce(
      topic,
      Array.from({ length: 200 }, (_, index) => ({ value: JSON.stringify({ n: index }), partition: 0 })),
    );
    const group = uniqueTopic('g');
    const source = await createSource({
      group,
      topics: [topic],
      batch_records: 10,
      max_pending_per_partition: 40,
    });
    await source.connect(sourceContext('events'));
    let earlier: SourceBatch[];
    try {
      // Nothing acknowledged: the partition is paused, and nothing is committed.
      earlier = await readUntil(source, (read) => messageCount(read) >= 40);
    } finally {
      await closeBeforeDisconnected(source, group);
    }
    await source.connect(sourceContext('events'));
    try {
      await readUntil(source, (read) => messageCount(read) >= 40);
      for (const batch of earlier) batch.ack();
      // Whatever the late acknowledgements did would show by now: a resumed partition fetches its 160 others at once.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const [lag] = source.lag();
      assert.equal(lag!.paused, true);
      assert.ok(
        lag!.position! >= 40 && lag!.position! <= 40 + 2 * 10,
        `fetched up to ${lag!.position} while paused`,
      );
    } finally {
      await source.close();
    }
  });

  test('a clean close while a second member joins the group commits every acknowledged offset before leaving', async () => {
    const topic = uniqueTopic('close-rebalance');
    const group = uniqueTopic('g');
    const perPartition = 25;
    await kafka.produce(
      topic,
      Array.from({ length: 4 * perPartition }, (_, index) => ({
        value: JSON.stringify({ n: index }),
        partition: index % 4,
      })),
    );
    // No periodic commit: only the close commits. The mock cluster ends a rebalance once the leader syncs, and refuses
    // a member syncing after that, which rejoins: another round (5 s here) in which the group refuses commits. On a
    // busy machine that can happen several times in a row, so the close gets time for many rounds.
    const first = await createSource({
      group,
      topics: [topic],
      commit_interval_ms: 3_600_000,
      revoke_timeout_ms: 60_000,
    });
    await first.connect(sourceContext('first'));
    let joiner: Kafka.KafkaConsumer | undefined;
    try {
      const batches = await readUntil(first, (read) => messageCount(read) >= 4 * perPartition);
      for (const batch of batches) batch.ack();
      joiner = await startJoining(group, topic);
      await first.close();
      assert.deepEqual(await committedOffsets(group, topic), [
        perPartition,
        perPartition,
        perPartition,
        perPartition,
      ]);
    } finally {
      await first.close();
      if (joiner) await new Promise<void>((resolve) => joiner!.disconnect(() => resolve()));
    }
  });
});
