import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PipelineFailure, SluiceError } from '../../../runtime/errors.js';
import { Pipeline } from '../../../runtime/pipeline.js';
import type { ChangeRecord } from '../../../runtime/record.js';
import type { Source, SourceBatch, SourceContext } from '../../../runtime/source.js';
import {
  CollectSink,
  ListSource,
  MemoryCheckpointStore,
  build,
  ids,
  operator,
  silentLogger,
  type TestPipeline,
} from './fixtures.js';

async function create(test: TestPipeline): Promise<Pipeline> {
  const { spec, registry } = build(test);
  return Pipeline.create(spec, { registry, logger: silentLogger, checkpoints: new MemoryCheckpointStore() });
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b);
const idOf = (record: ChangeRecord): number => record.after!.id as number;

/** A source that has nothing to read until the pipeline stops. */
class IdleSource implements Source {
  readonly bounded = false;
  connects = 0;
  closes = 0;
  #signal: AbortSignal | undefined;
  async connect(context: SourceContext): Promise<void> {
    this.connects++;
    this.#signal = context.signal;
  }
  read(): Promise<SourceBatch | null> {
    const signal = this.#signal!;
    if (signal.aborted) return Promise.resolve(null);
    return new Promise((resolve) => signal.addEventListener('abort', () => resolve(null), { once: true }));
  }
  async close(): Promise<void> {
    this.closes++;
  }
}

void describe('Pipeline: delivery', () => {
  void test('delivers every record exactly once to each sink through fan-out, fan-in and router branches', async () => {
    const a = new ListSource({ total: 100, batchSize: 7 });
    const b = new ListSource({ total: 50, batchSize: 9 });
    const evens = operator((records) => ({ records: records.filter((record) => idOf(record) % 2 === 0) }));
    const router = operator((records) => ({
      records: [],
      branches: {
        high: records.filter((record) => idOf(record) >= 40),
        low: records.filter((record) => idOf(record) < 40),
      },
    }));
    const all = new CollectSink();
    const even = new CollectSink();
    const high = new CollectSink();
    const low = new CollectSink();
    const pipeline = await create({
      sources: { a, b },
      operators: { evens: { from: ['a'], operator: evens }, route: { from: ['a', 'b'], operator: router } },
      sinks: {
        all: { from: ['a'], sink: all, batch: { maxRecords: 16, maxJoinedRecords: 16 } },
        even: { from: ['evens'], sink: even },
        high: { from: ['route.high'], sink: high },
        low: { from: ['route.low'], sink: low, batch: { maxInFlight: 1 } },
      },
    });
    const summary = await pipeline.run();

    assert.deepEqual(sorted(ids(all.records)), range(0, 100));
    assert.deepEqual(
      sorted(ids(even.records)),
      range(0, 100).filter((id) => id % 2 === 0),
    );
    const highKeys = high.records.map((record) => record.source.position).sort();
    const lowKeys = low.records.map((record) => record.source.position).sort();
    assert.equal(
      new Set([...highKeys, ...lowKeys]).size,
      150,
      'every record of a and b lands in exactly one branch',
    );
    assert.equal(highKeys.length + lowKeys.length, 150);
    assert.ok(high.records.every((record) => idOf(record) >= 40));
    assert.ok(Math.max(...all.writeSizes) <= 16, 'the sink batch policy caps a write');

    assert.equal(a.acks.length, Math.ceil(100 / 7));
    assert.equal(b.acks.length, Math.ceil(50 / 9));
    assert.equal(a.commits.at(-1), 100);
    assert.equal(b.commits.at(-1), 50);
    assert.deepEqual(summary.sources, { a: { read: 100, rejected: 0 }, b: { read: 50, rejected: 0 } });
    assert.deepEqual(summary.operators.evens, {
      in: 100,
      out: 50,
      branches: {},
      filtered: 50,
      deadLettered: 0,
    });
    assert.deepEqual(summary.operators.route, {
      in: 150,
      out: 0,
      branches: { high: 70, low: 80 },
      filtered: 0,
      deadLettered: 0,
    });
    assert.deepEqual(summary.sinks, {
      all: { written: 100, rejected: 0 },
      even: { written: 50, rejected: 0 },
      high: { written: 70, rejected: 0 },
      low: { written: 80, rejected: 0 },
    });
    assert.ok(summary.elapsedSeconds > 0);
    assert.ok(summary.recordsPerSecond > 0);
    for (const connector of [a, b, all, even, high, low]) {
      assert.equal(connector.connects, 1);
      assert.equal(connector.closes, 1);
    }
    assert.equal(evens.closes, 1);
    assert.equal(router.closes, 1);
  });

  void test('progress: bounded sources always; an unbounded one while it reads something of known size', async () => {
    type Report = { done: number; total: number | null; unit: string };
    class ReportingList extends ListSource {
      report: Report = { done: 3, total: 3, unit: 'records' };
      progress(): Report {
        return this.report;
      }
    }
    class SnapshottingSource extends IdleSource {
      report: Report = { done: 0, total: 40, unit: 'rows' };
      progress(): Report {
        return this.report;
      }
    }
    const snapshotting = new SnapshottingSource();
    const endless = new SnapshottingSource();
    endless.report = { done: 7, total: null, unit: 'records' };
    const pipeline = await create({
      sources: { listed: new ReportingList({ total: 3, batchSize: 3 }), snapshotting, endless },
      sinks: { out: { from: ['listed', 'snapshotting', 'endless'], sink: new CollectSink() } },
    });
    const listed = { done: 3, total: 3, unit: 'records' };
    assert.deepEqual(pipeline.progress(), { listed, snapshotting: { done: 0, total: 40, unit: 'rows' } });
    snapshotting.report = { done: 25, total: 40, unit: 'rows' };
    assert.deepEqual(pipeline.progress(), { listed, snapshotting: { done: 25, total: 40, unit: 'rows' } });
    snapshotting.report = { done: 40, total: 40, unit: 'rows' };
    assert.deepEqual(pipeline.progress(), { listed }, 'a finished snapshot is no longer shown while the stream runs');
  });

  void test('runs async operators in order', async () => {
    const source = new ListSource({ total: 60, batchSize: 5 });
    const slowFirst = operator(async (records) => {
      await sleep(idOf(records[0]!) === 0 ? 20 : 0);
      return { records };
    });
    const sink = new CollectSink();
    const pipeline = await create({
      sources: { source },
      operators: { slow: { from: ['source'], operator: slowFirst } },
      sinks: { sink: { from: ['slow'], sink, batch: { maxInFlight: 1 } } },
    });
    await pipeline.run();
    assert.deepEqual(ids(sink.records), range(0, 60));
  });

  void test('an empty source finishes at once with nothing written and nothing left open', async () => {
    const source = new ListSource({ total: 0, batchSize: 10 });
    const sink = new CollectSink();
    const pipeline = await create({ sources: { source }, sinks: { sink: { from: ['source'], sink } } });
    const summary = await pipeline.run();
    assert.equal(sink.writes, 0);
    assert.deepEqual(summary.sinks.sink, { written: 0, rejected: 0 });
    assert.equal(source.closes, 1);
    assert.equal(sink.closes, 1);
  });

  void test('a single record is written and acknowledged', async () => {
    const source = new ListSource({ total: 1, batchSize: 10 });
    const sink = new CollectSink();
    const pipeline = await create({
      sources: { source },
      sinks: { sink: { from: ['source'], sink, batch: { maxWaitMs: 1_000 } } },
    });
    const started = Date.now();
    await pipeline.run();
    assert.deepEqual(ids(sink.records), [0]);
    assert.deepEqual(source.acks, [{ first: 0, count: undefined }]);
    assert.ok(
      Date.now() - started < 900,
      'the partial micro-batch is flushed when the input ends, not after max_wait_ms',
    );
  });

  void test('a filter that drops everything acknowledges at once', async () => {
    const source = new ListSource({ total: 30, batchSize: 10 });
    const none = operator(() => ({ records: [] }));
    const sink = new CollectSink();
    const pipeline = await create({
      sources: { source },
      operators: { none: { from: ['source'], operator: none } },
      sinks: { sink: { from: ['none'], sink } },
    });
    const summary = await pipeline.run();
    assert.equal(sink.writes, 0);
    assert.equal(source.acks.length, 3);
    assert.equal(source.commits.at(-1), 30);
    assert.equal(summary.operators.none!.filtered, 30);
  });

  void test('run() twice is refused', async () => {
    const pipeline = await create({
      sources: { source: new ListSource({ total: 1, batchSize: 1 }) },
      sinks: { sink: { from: ['source'], sink: new CollectSink() } },
    });
    await pipeline.run();
    await assert.rejects(pipeline.run(), { code: 'PIPELINE_ALREADY_RUN' });
  });

  void test('an unknown component type or edge is refused when the pipeline is created', async () => {
    const { spec, registry } = build({
      sources: { source: new ListSource({ total: 1, batchSize: 1 }) },
      sinks: { sink: { from: ['source'], sink: new CollectSink() } },
    });
    await assert.rejects(
      Pipeline.create(
        { ...spec, sinks: [{ ...spec.sinks[0]!, type: 'nope' }] },
        { registry, logger: silentLogger, checkpoints: new MemoryCheckpointStore() },
      ),
      (error: SluiceError) =>
        error.code === 'UNKNOWN_COMPONENT' && error.message.includes('sink "sink" has type "nope"'),
    );
    await assert.rejects(
      Pipeline.create(
        { ...spec, sinks: [{ ...spec.sinks[0]!, from: [{ node: 'missing' }] }] },
        { registry, logger: silentLogger, checkpoints: new MemoryCheckpointStore() },
      ),
      { code: 'PIPELINE_INVALID' },
    );
    const loop = build({
      sources: { source: new ListSource({ total: 1, batchSize: 1 }) },
      operators: {
        first: { from: ['source', 'second'], operator: operator((records) => ({ records })) },
        second: { from: ['first'], operator: operator((records) => ({ records })) },
      },
      sinks: { sink: { from: ['second'], sink: new CollectSink() } },
    });
    await assert.rejects(
      Pipeline.create(loop.spec, {
        registry: loop.registry,
        logger: silentLogger,
        checkpoints: new MemoryCheckpointStore(),
      }),
      { code: 'PIPELINE_INVALID', message: /a cycle/ },
    );
  });

  void test('an operator nobody reads still runs, and its dead letters reach the DLQ before the pipeline ends', async () => {
    const source = new ListSource({ total: 20, batchSize: 10 });
    const audit = operator((records) => ({
      records,
      dead: records
        .filter((record) => idOf(record) === 12)
        .map((record) => ({
          node: 'audit',
          reason: 'flagged',
          record,
          source: { name: 'source', position: record.source.position },
        })),
    }));
    const dlqSink = new CollectSink({ writeDelayMs: () => 5 });
    const sink = new CollectSink();
    const pipeline = await create({
      sources: { source },
      operators: { audit: { from: ['source'], operator: audit } },
      sinks: { sink: { from: ['source'], sink } },
      dlq: { sink: dlqSink },
    });
    const summary = await pipeline.run();
    assert.equal(sink.records.length, 20);
    assert.deepEqual(
      dlqSink.records.map((record) => record.after!.source_position),
      ['source:12'],
    );
    assert.equal(summary.operators.audit!.in, 20);
    assert.equal(source.commits.at(-1), 20);
  });
});

void describe('Pipeline: backpressure and acknowledgements', () => {
  void test('a slow sink keeps the source within its in-flight budget', async () => {
    const source = new ListSource({ total: 2_000, batchSize: 50 });
    const sink = new CollectSink({ writeDelayMs: () => 3 });
    const pipeline = await create({
      sources: { source },
      sinks: { sink: { from: ['source'], sink, batch: { maxRecords: 50, maxInFlight: 1 } } },
      runtime: { inFlightRecords: 200 },
    });
    await pipeline.run();
    assert.equal(sink.records.length, 2_000);
    assert.ok(
      source.peakInFlight <= 200,
      `in flight peaked at ${source.peakInFlight}, above the budget of 200`,
    );
    assert.ok(
      source.peakInFlight >= 100,
      `in flight peaked at ${source.peakInFlight}: the budget was not used`,
    );
  });

  void test('a sink that falls behind gets the micro-batches that waited for it joined, in order, within the cap', async () => {
    const source = new ListSource({ total: 2_000, batchSize: 50 });
    const sink = new CollectSink({ writeDelayMs: () => 5 });
    const pipeline = await create({
      sources: { source },
      sinks: {
        sink: { from: ['source'], sink, batch: { maxRecords: 50, maxJoinedRecords: 200, maxInFlight: 1 } },
      },
      runtime: { inFlightRecords: 1_000 },
    });
    await pipeline.run();
    assert.deepEqual(ids(sink.records), range(0, 2_000), 'every record once, in source order');
    assert.ok(Math.max(...sink.writeSizes) <= 200, `writes of ${sink.writeSizes.join(', ')}: above the cap`);
    assert.ok(
      sink.writeSizes.filter((size) => size > 50).length >= 5,
      `writes of ${sink.writeSizes.join(', ')}: the waiting micro-batches were not joined`,
    );
    assert.equal(source.commits.at(-1), 2_000);
  });

  void test(
    'a spent budget flushes sinks and the DLQ at once instead of waiting for their max_wait',
    { timeout: 60_000 },
    async () => {
      // Every write waits up to an hour to fill: the 1,000 records could never be read if a source whose budget is
      // spent had to wait for those timers.
      const hour = 3_600_000;
      const source = new ListSource({ total: 1_000, batchSize: 50 });
      const flag = operator((records) => ({
        records: records.filter((record) => idOf(record) % 10 !== 0),
        dead: records
          .filter((record) => idOf(record) % 10 === 0)
          .map((record) => ({
            node: 'flag',
            reason: 'every tenth',
            record,
            source: { name: 'source', position: record.source.position },
          })),
      }));
      const sink = new CollectSink();
      const dlqSink = new CollectSink();
      const pipeline = await create({
        sources: { source },
        operators: { flag: { from: ['source'], operator: flag } },
        sinks: { sink: { from: ['flag'], sink, batch: { maxRecords: 10_000, maxWaitMs: hour } } },
        dlq: { sink: dlqSink, batch: { maxRecords: 10_000, maxWaitMs: hour } },
        runtime: { inFlightRecords: 200 },
      });
      await pipeline.run();
      assert.equal(sink.records.length, 900);
      assert.equal(dlqSink.records.length, 100);
      assert.equal(source.commits.at(-1), 1_000);
      assert.ok(
        source.peakInFlight <= 200,
        `in flight peaked at ${source.peakInFlight}, above the budget of 200`,
      );
    },
  );

  void test('the byte budget bounds in-flight records too', async () => {
    const source = new ListSource({ total: 1_000, batchSize: 20, bytesPerRecord: 1_000 });
    const sink = new CollectSink({ writeDelayMs: () => 2 });
    const pipeline = await create({
      sources: { source },
      sinks: { sink: { from: ['source'], sink, batch: { maxRecords: 20, maxInFlight: 1 } } },
      runtime: { inFlightBytes: 60_000 },
    });
    await pipeline.run();
    assert.equal(sink.records.length, 1_000);
    assert.ok(
      source.peakInFlight <= 60,
      `in flight peaked at ${source.peakInFlight} records (${source.peakInFlight * 1_000} bytes)`,
    );
  });

  void test('a batch larger than the whole budget is still admitted', async () => {
    const source = new ListSource({ total: 300, batchSize: 100 });
    const sink = new CollectSink();
    const pipeline = await create({
      sources: { source },
      sinks: { sink: { from: ['source'], sink } },
      runtime: { inFlightRecords: 10 },
    });
    await pipeline.run();
    assert.equal(sink.records.length, 300);
    assert.equal(source.peakInFlight, 100);
  });

  void test('out-of-order write completions acknowledge out of order, and the source commits only the contiguous prefix', async () => {
    const source = new ListSource({ total: 40, batchSize: 10 });
    // Write n takes longer the earlier it started: completions come in reverse.
    const sink = new CollectSink({ writeDelayMs: (n) => (5 - n) * 15 });
    const commitsAtAck: (number | undefined)[] = [];
    const pipeline = await create({
      sources: { source },
      sinks: { sink: { from: ['source'], sink, batch: { maxRecords: 10, maxInFlight: 4, maxWaitMs: 0 } } },
    });
    const originalAcks = source.acks;
    const push = originalAcks.push.bind(originalAcks);
    originalAcks.push = (...entries) => {
      commitsAtAck.push(source.commits.at(-1));
      return push(...entries);
    };
    await pipeline.run();
    assert.deepEqual(
      source.acks.map((ack) => ack.first),
      [30, 20, 10, 0],
    );
    assert.deepEqual(
      commitsAtAck,
      [undefined, undefined, undefined, undefined],
      'nothing is committable before the first batch is acknowledged',
    );
    assert.deepEqual(source.commits, [40]);
    assert.equal(sink.peakInFlight, 4);
  });
});

void describe('Pipeline: shutdown', () => {
  void test('stop() drains in-flight records to the sink, acknowledges them and closes everything once', async () => {
    const source = new ListSource({ total: 0, batchSize: 25, bounded: false, readDelayMs: 2 });
    const sink = new CollectSink({ writeDelayMs: () => 5 });
    const pipeline = await create({
      sources: { source },
      sinks: { sink: { from: ['source'], sink, batch: { maxRecords: 100, maxWaitMs: 10_000 } } },
    });
    const running = pipeline.run();
    while (source.readRecords < 500) await sleep(5);
    pipeline.stop();
    pipeline.stop();
    const summary = await running;
    assert.equal(sink.records.length, source.readRecords, 'everything read was written');
    assert.deepEqual(ids(sink.records), range(0, source.readRecords));
    assert.equal(source.ackedRecords, source.readRecords, 'everything read was acknowledged');
    assert.equal(source.commits.at(-1), source.readRecords);
    assert.equal(summary.sources.source!.read, source.readRecords);
    assert.equal(source.connects, 1);
    assert.equal(source.closes, 1);
    assert.equal(sink.connects, 1);
    assert.equal(sink.closes, 1);
  });

  void test('stop() on a source with nothing to read resolves promptly', async () => {
    const source = new IdleSource();
    const sink = new CollectSink();
    const pipeline = await create({ sources: { source }, sinks: { sink: { from: ['source'], sink } } });
    const running = pipeline.run();
    await sleep(20);
    pipeline.stop();
    const summary = await running;
    assert.equal(summary.sources.source!.read, 0);
    assert.equal(source.closes, 1);
    assert.equal(sink.closes, 1);
  });

  void test('stop() before run() reads nothing and resolves', async () => {
    const source = new ListSource({ total: 10, batchSize: 5 });
    const sink = new CollectSink();
    const pipeline = await create({ sources: { source }, sinks: { sink: { from: ['source'], sink } } });
    pipeline.stop();
    const summary = await pipeline.run();
    assert.equal(summary.sources.source!.read, 0);
    assert.equal(source.connects, 0);
    assert.equal(sink.connects, 0);
  });

  void test('a drain that outlasts the shutdown timeout closes anyway and rejects with SHUTDOWN_TIMEOUT', async () => {
    const source = new ListSource({ total: 0, batchSize: 5, bounded: false, readDelayMs: 1 });
    const sink = new CollectSink({ writeDelayMs: () => 60_000 });
    const pipeline = await create({
      sources: { source },
      sinks: { sink: { from: ['source'], sink, batch: { maxWaitMs: 0 } } },
      runtime: { shutdownTimeoutMs: 100 },
    });
    const running = pipeline.run();
    while (sink.writes === 0) await sleep(2);
    const stopped = Date.now();
    pipeline.stop();
    await assert.rejects(running, { code: 'SHUTDOWN_TIMEOUT' });
    assert.ok(Date.now() - stopped < 2_000);
    assert.equal(source.closes, 1);
    assert.equal(sink.closes, 1);
    assert.equal(source.ackedRecords, 0, 'nothing unwritten is acknowledged');
  });

  void test('forceStop() closes at once and rejects with FORCED_STOP', async () => {
    const source = new ListSource({ total: 0, batchSize: 5, bounded: false, readDelayMs: 1 });
    const sink = new CollectSink({ writeDelayMs: () => 60_000 });
    const pipeline = await create({
      sources: { source },
      sinks: { sink: { from: ['source'], sink, batch: { maxWaitMs: 0 } } },
    });
    const running = pipeline.run();
    while (sink.writes === 0) await sleep(2);
    pipeline.stop();
    pipeline.forceStop();
    pipeline.forceStop();
    await assert.rejects(running, { code: 'FORCED_STOP' });
    assert.equal(source.closes, 1);
    assert.equal(sink.closes, 1);
  });
});

void describe('Pipeline: supervision', () => {
  void test('a source failing to connect and to read recovers, and every record is delivered at least once', async () => {
    const source = new ListSource({
      total: 100,
      batchSize: 10,
      failConnects: 2,
      failRead: (n) => (n === 4 ? new Error('connection reset') : undefined),
    });
    const sink = new CollectSink();
    const pipeline = await create({ sources: { source }, sinks: { sink: { from: ['source'], sink } } });
    await pipeline.run();
    assert.deepEqual(
      [...new Set(ids(sink.records))].sort((x, y) => x - y),
      range(0, 100),
    );
    assert.equal(
      source.connects,
      4,
      'two failed connects, the first incarnation, the one after the failed read',
    );
    assert.equal(source.closes, 2, 'each successful connect is closed once');
  });

  void test('a source failing forever gives up after the restart limit with CONNECTOR_FAILED naming the node', async () => {
    const source = new ListSource({
      total: 100,
      batchSize: 10,
      failRead: () => new Error('connection reset'),
    });
    const sink = new CollectSink();
    const pipeline = await create({
      sources: { orders: source },
      sinks: { sink: { from: ['orders'], sink } },
      runtime: { restart: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 4 } },
    });
    await assert.rejects(pipeline.run(), (error: SluiceError) => {
      assert.equal(error.code, 'CONNECTOR_FAILED');
      assert.match(error.message, /source "orders" failed 4 times in a row/);
      assert.match(error.message, /connection reset/);
      return true;
    });
    assert.equal(source.connects, 4);
    assert.equal(source.closes, 4);
    assert.equal(sink.closes, 1);
  });

  void test('a non-retriable connect error fails at once', async () => {
    const source = new ListSource({ total: 1, batchSize: 1 });
    source.connect = async () => {
      throw new SluiceError('CONFIG_INVALID', 'table "nope" does not exist');
    };
    const pipeline = await create({
      sources: { orders: source },
      sinks: { sink: { from: ['orders'], sink: new CollectSink() } },
    });
    await assert.rejects(pipeline.run(), {
      code: 'CONNECTOR_FAILED',
      message: /source "orders" failed to connect with a non-retriable error: table "nope"/,
    });
  });

  void test('a sink write failing with retriable errors is retried, then succeeds', async () => {
    const source = new ListSource({ total: 30, batchSize: 10 });
    const sink = new CollectSink({
      failWrite: (n) =>
        n <= 2 ? new SluiceError('DEADLOCK', 'deadlock detected', { retriable: true }) : undefined,
    });
    const pipeline = await create({
      sources: { source },
      sinks: { sink: { from: ['source'], sink, batch: { maxInFlight: 1 } } },
    });
    const summary = await pipeline.run();
    assert.deepEqual(sorted(ids(sink.records)), range(0, 30));
    assert.ok(sink.writes >= 3);
    assert.equal(summary.sinks.sink!.written, 30);
  });

  void test('a sink write failing for good fails the pipeline naming the sink, after retries for retriable errors', async () => {
    const source = new ListSource({ total: 30, batchSize: 10 });
    const sink = new CollectSink({
      failWrite: () => new SluiceError('CONNECTION_LOST', 'connection lost', { retriable: true }),
    });
    const pipeline = await create({
      sources: { source },
      sinks: { warehouse: { from: ['source'], sink, batch: { maxInFlight: 1 } } },
      runtime: { sinkWriteRetries: 2 },
    });
    await assert.rejects(pipeline.run(), {
      code: 'SINK_WRITE_FAILED',
      message: /sink "warehouse" failed to write .* after 2 retries .*connection lost/,
    });
    assert.equal(source.acks.length, 0);
    assert.equal(source.closes, 1);
    assert.equal(sink.closes, 1);

    const fatal = new CollectSink({
      failWrite: () => new SluiceError('TYPE_MISMATCH', 'column "id" is uuid'),
    });
    const second = await create({
      sources: { source: new ListSource({ total: 5, batchSize: 5 }) },
      sinks: { warehouse: { from: ['source'], sink: fatal } },
    });
    await assert.rejects(second.run(), {
      code: 'SINK_WRITE_FAILED',
      message: /sink "warehouse" failed to write 5 records .*column "id" is uuid/,
    });
    assert.equal(fatal.writes, 1, 'a non-retriable error is not retried');
  });

  void test('a sink that cannot connect fails the pipeline before any source connects', async () => {
    const source = new ListSource({ total: 5, batchSize: 5 });
    const sink = new CollectSink({ failConnect: () => new Error('ECONNREFUSED') });
    const pipeline = await create({ sources: { source }, sinks: { warehouse: { from: ['source'], sink } } });
    await assert.rejects(pipeline.run(), {
      code: 'CONNECTOR_FAILED',
      message: /sink "warehouse" failed 4 times in a row.*ECONNREFUSED/,
    });
    assert.equal(source.connects, 0);
    assert.equal(sink.closes, 0, 'a sink that never connected is not closed');
  });

  void test('a sink that connects on a later attempt runs normally', async () => {
    const source = new ListSource({ total: 5, batchSize: 5 });
    const sink = new CollectSink({ failConnect: (n) => (n < 3 ? new Error('ECONNREFUSED') : undefined) });
    const pipeline = await create({ sources: { source }, sinks: { sink: { from: ['source'], sink } } });
    await pipeline.run();
    assert.equal(sink.records.length, 5);
    assert.equal(sink.closes, 1);
  });
});

void describe('Pipeline: operator failures', () => {
  void test('records before the failing one are written and acknowledged with ack(handled); none after', async () => {
    const source = new ListSource({ total: 100, batchSize: 10 });
    const check = operator((records) => {
      const index = records.findIndex((record) => idOf(record) === 37);
      if (index < 0) return { records };
      return {
        records: records.slice(0, index),
        failure: {
          error: new PipelineFailure(
            'RULE_FAILED',
            `rule "positive" failed at ${records[index]!.source.position}`,
          ),
          handled: index,
        },
      };
    });
    const sink = new CollectSink({ writeDelayMs: () => 2 });
    const other = new CollectSink();
    const pipeline = await create({
      sources: { source },
      operators: { check: { from: ['source'], operator: check } },
      sinks: { sink: { from: ['check'], sink }, other: { from: ['source'], sink: other } },
      runtime: { inFlightRecords: 30 },
    });
    await assert.rejects(pipeline.run(), (error: unknown) => {
      assert.ok(error instanceof PipelineFailure);
      assert.equal(error.code, 'RULE_FAILED');
      assert.equal(error.message, 'rule "positive" failed at source:37');
      return true;
    });
    assert.deepEqual(sorted(ids(sink.records)), range(0, 37));
    const partial = source.acks.find((ack) => ack.first === 30);
    assert.deepEqual(partial, { first: 30, count: 7 });
    assert.ok(
      source.acks.every((ack) => ack.first <= 30),
      'no batch after the failing one is acknowledged',
    );
    assert.equal(source.commits.at(-1), 37, 'the checkpoint stops right before the failing record');
    assert.equal(source.closes, 1);
    assert.equal(sink.closes, 1);
    assert.equal(other.closes, 1);
  });

  void test('an operator that throws fails the pipeline naming the node', async () => {
    const source = new ListSource({ total: 20, batchSize: 10 });
    const broken = operator((records) => {
      if (idOf(records[0]!) === 10) throw new TypeError('cannot read properties of undefined');
      return { records };
    });
    const sink = new CollectSink();
    const pipeline = await create({
      sources: { source },
      operators: { enrich: { from: ['source'], operator: broken } },
      sinks: { sink: { from: ['enrich'], sink } },
    });
    await assert.rejects(pipeline.run(), {
      code: 'OPERATOR_FAILED',
      message:
        'operator "enrich" threw on a batch of 10 records (first from source "source" at source:10): cannot read properties of undefined',
    });
    assert.ok(!source.acks.some((ack) => ack.first === 10));
    assert.equal(source.closes, 1);
    assert.equal(broken.closes, 1);
  });

  void test('an async operator that rejects fails the pipeline naming the node', async () => {
    const source = new ListSource({ total: 10, batchSize: 10 });
    const broken = operator(async () => Promise.reject(new Error('lookup failed')));
    const pipeline = await create({
      sources: { source },
      operators: { lookup: { from: ['source'], operator: broken } },
      sinks: { sink: { from: ['lookup'], sink: new CollectSink() } },
    });
    await assert.rejects(pipeline.run(), {
      code: 'OPERATOR_FAILED',
      message: /operator "lookup" threw .*lookup failed/,
    });
  });
});

void describe('Pipeline: dead letters', () => {
  void test('operator, source and sink dead letters reach the DLQ and hold the acknowledgement until written', async () => {
    const source = new ListSource({ total: 60, batchSize: 10, rejectIds: new Set([5, 25]) });
    const validate = operator((records) => ({
      records: records.filter((record) => idOf(record) % 10 !== 3),
      dead: records
        .filter((record) => idOf(record) % 10 === 3)
        .map((record) => ({
          node: 'validate',
          reason: 'id ends in 3',
          rule: 'no_threes',
          field: 'id',
          value: idOf(record),
          record,
          source: { name: 'source', position: record.source.position },
        })),
    }));
    const dlqWritten = new Set<string>();
    const acksBeforeDlq: number[] = [];
    const dlqSink = new CollectSink({
      writeDelayMs: () => 10,
      onWritten: (records) => {
        for (const record of records) dlqWritten.add(record.after!.source_position as string);
      },
    });
    const sink = new CollectSink({ reject: (record) => idOf(record) === 48 });
    const pipeline = await create({
      sources: { source },
      operators: { validate: { from: ['source'], operator: validate } },
      sinks: { sink: { from: ['validate'], sink } },
      dlq: { sink: dlqSink },
    });
    const push = source.acks.push.bind(source.acks);
    source.acks.push = (...entries) => {
      for (const entry of entries) {
        const positions = range(entry.first, entry.first + 10).map((id) => `source:${id}`);
        const deadHere = positions.filter((position) => /:(5|25|48|\d*3)$/.test(position));
        if (!deadHere.every((position) => dlqWritten.has(position))) acksBeforeDlq.push(entry.first);
      }
      return push(...entries);
    };
    const summary = await pipeline.run();

    assert.deepEqual(acksBeforeDlq, [], 'no batch is acknowledged before its dead letters are in the DLQ');
    const rows = dlqSink.records.map((record) => record.after!);
    const byPosition = new Map(rows.map((row) => [row.source_position as string, row]));
    assert.deepEqual(
      [...byPosition.keys()].sort(),
      [
        'source:13',
        'source:23',
        'source:25',
        'source:3',
        'source:33',
        'source:43',
        'source:48',
        'source:5',
        'source:53',
      ].sort(),
    );
    assert.equal(byPosition.get('source:13')!.rule, 'no_threes');
    assert.equal(byPosition.get('source:13')!.node, 'validate');
    assert.equal(byPosition.get('source:5')!.raw, '{bad 5');
    assert.equal(byPosition.get('source:48')!.reason, 'value too long');
    assert.ok(dlqSink.records.every((record) => record.op === 'insert' && record.source.name === 'source'));
    assert.equal(sink.records.length, 60 - 2 - 6 - 1);
    assert.equal(source.commits.at(-1), 60);
    assert.equal(summary.sources.source!.rejected, 2);
    assert.equal(summary.operators.validate!.deadLettered, 6);
    assert.deepEqual(summary.sinks.sink, { written: 51, rejected: 1 });
    assert.deepEqual(summary.dlq, { name: 'dlq', written: 9 });
    assert.equal(dlqSink.closes, 1);
  });

  void test('without a DLQ, a dead letter fails the pipeline and its batch is not acknowledged', async () => {
    const source = new ListSource({ total: 30, batchSize: 10, rejectIds: new Set([15]) });
    const sink = new CollectSink();
    const pipeline = await create({ sources: { source }, sinks: { sink: { from: ['source'], sink } } });
    await assert.rejects(pipeline.run(), (error: SluiceError) => {
      assert.equal(error.code, 'DEAD_LETTER_WITHOUT_DLQ');
      assert.match(error.message, /source "source" at source:15: line 15 is not JSON/);
      assert.match(error.message, /no dlq sink/);
      return true;
    });
    assert.ok(!source.acks.some((ack) => ack.first === 10));
    assert.ok((source.commits.at(-1) ?? 0) <= 10, 'the checkpoint does not pass the dead letter');
  });

  void test('a DLQ write that fails for good fails the pipeline naming the DLQ', async () => {
    const source = new ListSource({ total: 10, batchSize: 10, rejectIds: new Set([1]) });
    const dlqSink = new CollectSink({
      failWrite: () => new SluiceError('DISK_FULL', 'no space left on device'),
    });
    const pipeline = await create({
      sources: { source },
      sinks: { sink: { from: ['source'], sink: new CollectSink() } },
      dlq: { sink: dlqSink },
    });
    await assert.rejects(pipeline.run(), {
      code: 'SINK_WRITE_FAILED',
      message: /sink "dlq" failed to write 1 records .*no space left/,
    });
    assert.equal(source.acks.length, 0);
    assert.equal(dlqSink.closes, 1);
  });
});

void describe('Pipeline: live counters', () => {
  void test('counters() reports progress while running', async () => {
    const source = new ListSource({ total: 0, batchSize: 10, bounded: false, readDelayMs: 1 });
    const sink = new CollectSink();
    const pipeline = await create({ sources: { source }, sinks: { sink: { from: ['source'], sink } } });
    assert.equal(pipeline.counters().sources.source!.read, 0);
    const running = pipeline.run();
    while (pipeline.counters().sinks.sink!.written < 100) await sleep(5);
    const live = pipeline.counters();
    assert.ok(live.sources.source!.read >= 100);
    assert.ok(live.elapsedSeconds > 0);
    pipeline.stop();
    const final = await running;
    assert.ok(final.sinks.sink!.written >= live.sinks.sink!.written);
    assert.equal(final.sinks.sink!.written, final.sources.source!.read);
  });
});
