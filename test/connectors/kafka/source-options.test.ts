import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import pino from 'pino';
import { kafkaSource } from '../../../connectors/kafka/source.js';
import type { KafkaSource } from '../../../connectors/kafka/kafka-source.js';
import { SluiceError } from '../../../runtime/errors.js';
import type { SourceBatch } from '../../../runtime/source.js';
import {
  FAST_GROUP,
  quietLogger,
  readUntil,
  sourceContext,
  uniqueTopic,
  useKafka,
} from '../../support/kafka.js';

const kafka = useKafka();

async function createSource(options: Record<string, unknown>): Promise<KafkaSource> {
  const config = { brokers: kafka.brokers, ...options };
  assert.deepEqual(await kafkaSource.check!(config, { configDir: '.' }), []);
  return (await kafkaSource.create(config, {
    pipeline: 'test',
    node: 'events',
    configDir: '.',
    logger: quietLogger,
  })) as KafkaSource;
}

/** `topic: value` of every record read, sorted. */
function read(batches: readonly SourceBatch[]): string[] {
  return batches
    .flatMap((batch) => batch.records)
    .map((record) => `${record.source.table}: ${JSON.stringify(record.after)}`)
    .sort();
}

/**
 * {@link readUntil}, bounded: a read waits for the next batch however long it takes, so `context` is aborted at the
 * deadline, which ends it with what was read.
 */
async function readWithin(
  source: KafkaSource,
  context: ReturnType<typeof sourceContext>,
  predicate: (batches: SourceBatch[]) => boolean,
  timeoutMs = 10_000,
): Promise<SourceBatch[]> {
  const timer = setTimeout(() => context.controller.abort(), timeoutMs);
  try {
    return await readUntil(source, predicate, timeoutMs);
  } finally {
    clearTimeout(timer);
  }
}

/** Fails if `source` hands out a batch within `ms`; then aborts `context` to end the pending read. */
async function assertNothingReadWithin(
  source: KafkaSource,
  context: ReturnType<typeof sourceContext>,
  ms: number,
): Promise<void> {
  const timer = setTimeout(() => context.controller.abort(), ms);
  try {
    const batch = await source.read();
    assert.equal(batch, null, `read ${batch === null ? '' : read([batch]).join(', ')}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `source` owns `partitions` partitions and knows where each one's log ends (its fetch position is set). */
async function waitForFetchPositions(
  source: KafkaSource,
  partitions: number,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lags = source.lag();
    if (lags.length === partitions && lags.every((lag) => lag.highWatermark !== null)) return;
    if (Date.now() > deadline)
      assert.fail(`no fetch position within ${timeoutMs} ms: ${JSON.stringify(lags)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A logger at level warn that keeps what it writes. */
function capturingLogger(): { logger: pino.Logger; text: () => string; errors: () => string[] } {
  const written: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      done();
    },
  });
  const text = () => written.join('');
  return {
    logger: pino({ level: 'warn' }, stream),
    text,
    /** The message of each logged error. */
    errors: () =>
      text()
        .split('\n')
        .filter((line) => line !== '')
        .flatMap((line) => {
          const { err } = JSON.parse(line) as { err?: { message?: string } };
          return err?.message === undefined ? [] : [err.message];
        }),
  };
}

describe('kafka source options', { concurrency: true }, () => {
  test('topic_pattern reads every matching topic and no other', async () => {
    const stem = uniqueTopic('pattern');
    const matching = [`${stem}.orders`, `${stem}.payments`];
    const other = `${stem}.audit`;
    // The topics exist before the source subscribes: its first metadata request finds them all.
    await Promise.all(
      [...matching, other].map((topic) =>
        kafka.produce(
          topic,
          [0, 1, 2, 3].map((n) => ({ value: JSON.stringify({ n }), partition: n })),
        ),
      ),
    );
    const source = await createSource({
      group: uniqueTopic('g'),
      // No leading ^: the source anchors the expression itself.
      topic_pattern: `${stem}\\.(orders|payments)$`,
      settings: { ...FAST_GROUP, 'topic.metadata.refresh.interval.ms': 500 },
    });
    const context = sourceContext('events');
    await source.connect(context);
    try {
      const batches = await readWithin(
        source,
        context,
        (batches) => batches.reduce((sum, batch) => sum + batch.records.length, 0) >= 8,
      );
      assert.deepEqual(
        read(batches),
        matching.flatMap((topic) => [0, 1, 2, 3].map((n) => `${topic}: {"n":${n}}`)),
      );
      assert.deepEqual(
        [...new Set(source.lag().map((lag) => lag.topic))].sort(),
        matching,
        'owns partitions of the matching topics only',
      );
      // The other topic's messages were there before the source subscribed: subscribed, they would be fetched by now.
      await assertNothingReadWithin(source, context, 1_500);
    } finally {
      await source.close();
    }
  });

  test('start: latest skips what a new group finds in the topic and reads what comes after; start: earliest reads it all', async () => {
    const topic = uniqueTopic('start');
    const message = (phase: string, n: number) => ({ value: JSON.stringify({ phase, n }), partition: n % 4 });
    const before = Array.from({ length: 8 }, (_, n) => message('before', n));
    const after = Array.from({ length: 8 }, (_, n) => message('after', n));
    const expected = (messages: typeof before) => messages.map((m) => `${topic}: ${m.value}`).sort();
    const phaseCount = (batches: readonly SourceBatch[], phase: string) =>
      batches.flatMap((batch) => batch.records).filter((record) => record.after!.phase === phase).length;
    await kafka.produce(topic, before);

    // Two new groups on the same topic, joining side by side (each join takes the mock cluster 3 s).
    const latest = await createSource({
      group: uniqueTopic('g'),
      topics: [topic],
      start: 'latest',
      settings: FAST_GROUP,
    });
    const earliest = await createSource({
      group: uniqueTopic('g'),
      topics: [topic],
      start: 'earliest',
      settings: FAST_GROUP,
    });
    const latestContext = sourceContext('latest');
    const earliestContext = sourceContext('earliest');
    await Promise.all([latest.connect(latestContext), earliest.connect(earliestContext)]);
    try {
      // A group without offsets starts each partition at its end once assigned: what is produced from then on is read.
      await waitForFetchPositions(latest, 4);
      await kafka.produce(topic, after);
      const [fromLatest, fromEarliest] = await Promise.all([
        readWithin(latest, latestContext, (read) => phaseCount(read, 'after') >= after.length),
        readWithin(
          earliest,
          earliestContext,
          (read) => phaseCount(read, 'before') + phaseCount(read, 'after') >= before.length + after.length,
        ),
      ]);
      assert.deepEqual(read(fromLatest), expected(after));
      assert.deepEqual(read(fromEarliest), expected([...before, ...after]));
    } finally {
      await Promise.all([latest.close(), earliest.close()]);
    }
  });

  test('TLS and SASL settings reach librdkafka: against a plaintext listener TLS fails to connect within connect_timeout_ms and SASL is refused for good, the password never logged', async () => {
    const topic = uniqueTopic('secure');
    const password = `pw-${uniqueTopic('secret')}`;
    const sslGroup = uniqueTopic('g');
    const saslGroup = uniqueTopic('g');
    const ssl = await createSource({
      group: sslGroup,
      topics: [topic],
      connect_timeout_ms: 2_000,
      settings: { ...FAST_GROUP, 'security.protocol': 'ssl' },
    });
    const sasl = await createSource({
      group: saslGroup,
      topics: [topic],
      connect_timeout_ms: 2_000,
      settings: {
        ...FAST_GROUP,
        'security.protocol': 'sasl_plaintext',
        'sasl.mechanisms': 'SCRAM-SHA-256',
        'sasl.username': 'sluice',
        'sasl.password': password,
      },
    });
    const sslLog = capturingLogger();
    const saslLog = capturingLogger();
    const connectFailure = (source: KafkaSource, logger: pino.Logger) =>
      source.connect({ ...sourceContext('events'), logger }).then(
        () => assert.fail('connected'),
        (error: unknown) => error,
      );
    let failures: unknown[];
    const started = performance.now();
    try {
      failures = await Promise.all([
        connectFailure(ssl, sslLog.logger),
        connectFailure(sasl, saslLog.logger),
      ]);
    } finally {
      await Promise.all([ssl.close(), sasl.close()]);
    }
    // connect_timeout_ms bounds the wait (30 s without it).
    assert.ok(performance.now() - started < 15_000, `gave up after ${performance.now() - started} ms`);
    // Refused credentials fail for good; a transport failure is retried by the supervisor.
    for (const [failure, code, retriable] of [
      [failures[0], 'KAFKA_CONNECT_FAILED', true],
      [failures[1], 'KAFKA_AUTHENTICATION_FAILED', false],
    ] as const) {
      assert.ok(failure instanceof SluiceError, String(failure));
      assert.equal(failure.code, code);
      assert.equal(failure.retriable, retriable);
      assert.ok(
        failure.message.startsWith(`connecting source "events" to Kafka brokers ${kafka.brokers} failed: `),
        failure.message,
      );
      assert.ok(!failure.message.includes(password));
    }
    assert.ok(sslLog.errors().includes('broker transport failure'), sslLog.text());
    // The SCRAM exchange was attempted: the mock cluster knows no such user.
    assert.ok(saslLog.errors().includes('authentication failure'), saslLog.text());
    assert.ok(!saslLog.text().includes(password), 'the password is not logged');
  });

  test('settings the source manages itself are refused, naming them', async () => {
    const config = { brokers: 'b:9092', group: 'g', topics: ['t'] };
    const managed = { 'group.id': 'other', 'enable.auto.commit': true, 'auto.offset.reset': 'latest' };
    const issues = (
      await kafkaSource.check!(
        { ...config, settings: { ...managed, 'fetch.min.bytes': 1 } },
        { configDir: '.' },
      )
    ).map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    assert.deepEqual(
      issues,
      Object.keys(managed).map(
        (name) =>
          `settings.${name}: librdkafka property "${name}" is managed by Sluice and cannot be set in settings; use the connector's own options`,
      ),
    );
    await assert.rejects(
      async () =>
        kafkaSource.create(
          { ...config, settings: { 'group.id': 'other' } },
          { pipeline: 'test', node: 'events', configDir: '.', logger: quietLogger },
        ),
      (error: unknown) => {
        assert.ok(error instanceof SluiceError);
        assert.equal(error.code, 'CONFIG_INVALID');
        assert.match(
          error.message,
          /^kafka source "events": librdkafka property "group\.id" is managed by Sluice/,
        );
        return true;
      },
    );
  });
});
