import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SluiceError } from '../../../runtime/errors.js';
import { Pipeline } from '../../../runtime/pipeline.js';
import type { ChangeRecord, Row } from '../../../runtime/record.js';
import { CollectSink, MemoryCheckpointStore, silentLogger } from '../engine/fixtures.js';
import { KeyedSource, createPipeline, customNode, workerPipeline, workerRunner } from './support.js';

const TOTAL = 2_000;
const MARKED = 1_234;

/**
 * Runs `exportName` (node `user`) on 2 workers over TOTAL records with `marker` on record MARKED; returns the
 * sinks. With `after`, `user` reads a passthrough node of that name, and the two run as one chain.
 */
async function runWithMarker(
  name: string,
  exportName: string,
  marker: string,
  options: { maxHeapMb?: number; after?: string; taskTimeoutMs?: number } = {},
) {
  const { maxHeapMb, after, taskTimeoutMs } = options;
  const source = new KeyedSource({
    total: TOTAL,
    batchSize: 500,
    keys: 50,
    markers: new Map([[MARKED, marker]]),
  });
  const out = new CollectSink();
  const dlq = new CollectSink();
  const { spec, registry } = workerPipeline({
    name,
    source,
    operators: [
      ...(after === undefined ? [] : [customNode(after, 'keyed', 'slowly', { delay_ms: 0 })]),
      customNode('user', after ?? 'keyed', exportName),
    ],
    sinks: { out: { from: 'user', sink: out } },
    dlq,
    runtime: { workers: 2 },
  });
  const runner = workerRunner(spec, registry, {
    taskRecords: 100,
    retries: 1,
    ...(maxHeapMb === undefined ? {} : { maxHeapMb }),
    ...(taskTimeoutMs === undefined ? {} : { taskTimeoutMs }),
  });
  const pipeline = await createPipeline(spec, registry, runner);
  const summary = await pipeline.run();
  return { source, out, dlq, summary };
}

function seqOf(record: ChangeRecord): number {
  return record.after!.seq as number;
}

function deadSeq(row: ChangeRecord): number {
  return ((row.after!.record as Row).after as Row).seq as number;
}

function assertRecovered(
  result: Awaited<ReturnType<typeof runWithMarker>>,
  reason: RegExp,
  running = { node: 'user', what: 'operator "user"' },
  lost = 'died',
): void {
  const { source, out, dlq, summary } = result;
  // The task holding the marked record went to the DLQ after its retry; everything else went through.
  assert.ok(dlq.records.length > 0 && dlq.records.length <= 100, `dead letters: ${dlq.records.length}`);
  const dead = new Set(dlq.records.map(deadSeq));
  assert.ok(dead.has(MARKED));
  for (const row of dlq.records) {
    assert.equal(row.after!.node, running.node);
    assert.ok(
      (row.after!.reason as string).includes(`the worker thread running ${running.what} ${lost} 2 times`),
    );
    assert.match(row.after!.reason as string, reason);
  }
  const written = out.records.map(seqOf);
  assert.equal(written.length + dead.size, TOTAL);
  assert.ok(written.every((seq) => !dead.has(seq)));
  assert.equal(summary.operators[running.node]?.deadLettered, dead.size);
  assert.equal(source.committed, TOTAL, 'every record was acknowledged, dead letters included');
}

describe('a dying operator worker', () => {
  test('process.exit in a user function: the thread is replaced and the task goes to the DLQ', async () => {
    assertRecovered(await runWithMarker('workers-exit', 'exitOnMarker', 'exit'), /exited with code: 3/);
  });

  test('an uncaught exception in a user module: the thread is replaced and the task goes to the DLQ', async () => {
    assertRecovered(
      await runWithMarker('workers-throw', 'throwOnMarker', 'throw'),
      /a timer in the user module blew up/,
    );
  });

  test('allocation without end: the heap limit kills the thread, not the process', async () => {
    assertRecovered(
      await runWithMarker('workers-oom', 'allocateOnMarker', 'hog', { maxHeapMb: 96 }),
      /out of memory|memory/i,
    );
  });

  test("in a chain: the task's records go to the DLQ at the chain's first node, the reason naming the chain", async () => {
    assertRecovered(
      await runWithMarker('workers-exit-chain', 'exitOnMarker', 'exit', { after: 'pass' }),
      /exited with code: 3/,
      {
        node: 'pass',
        what: 'operators "pass" → "user"',
      },
    );
  });
});

describe('a task that runs too long', () => {
  test('a loop without end: its thread is stopped at worker_task_timeout and the task goes to the DLQ', async () => {
    assertRecovered(
      await runWithMarker('workers-spin', 'spinOnMarker', 'spin', { taskTimeoutMs: 300 }),
      /node "user" ran longer than runtime\.worker_task_timeout \(300 ms\) on a task in worker lane \d; its thread was stopped/,
      undefined,
      'was stopped',
    );
  });

  test('the timeout counts from when the thread takes a task, not from when it was queued', async () => {
    const source = new KeyedSource({ total: 1_000, batchSize: 500, keys: 50 });
    const out = new CollectSink();
    const dlq = new CollectSink();
    const { spec, registry } = workerPipeline({
      name: 'workers-queued',
      source,
      operators: [customNode('slow', 'keyed', 'slowly', { delay_ms: 150 })],
      sinks: { out: { from: 'slow', sink: out } },
      dlq,
      runtime: { workers: 1 },
    });
    // One lane: each batch is 5 tasks of 100 records, queued behind one another, each taking 150 ms of 400.
    const runner = workerRunner(spec, registry, { taskRecords: 100, taskTimeoutMs: 400 });
    const pipeline = await createPipeline(spec, registry, runner);
    await pipeline.run();
    assert.equal(dlq.records.length, 0);
    assert.equal(out.records.length, 1_000);
    assert.equal(source.committed, 1_000);
  });
});

describe('a worker that cannot start', () => {
  test('is refused when the pipeline is built (WORKER_START_FAILED), before any record is read', async () => {
    const { spec, registry } = workerPipeline({
      name: 'workers-no-start',
      source: new KeyedSource({ total: 100, batchSize: 50, keys: 5 }),
      operators: [customNode('user', 'keyed', 'stampSequence')],
      sinks: { out: { from: 'user', sink: new CollectSink() } },
      runtime: { workers: 1 },
    });
    await assert.rejects(
      Pipeline.create(spec, {
        registry: { ...registry, operatorWorker: new URL('./no-such-worker.js', import.meta.url) },
        logger: silentLogger,
        checkpoints: new MemoryCheckpointStore(),
      }),
      (error: unknown) => {
        assert.ok(error instanceof SluiceError);
        assert.equal(error.code, 'WORKER_START_FAILED');
        assert.match(error.message, /operator worker lane 0 could not start from .*no-such-worker\.js/);
        return true;
      },
    );
  });
});

describe('worker pool shutdown', () => {
  test('stop() with batches in flight on the workers loses no acknowledgement and the threads end', async () => {
    const source = new KeyedSource({ total: 0, batchSize: 200, keys: 20, unbounded: true });
    const out = new CollectSink();
    const { spec, registry } = workerPipeline({
      name: 'workers-stop',
      source,
      operators: [customNode('slow', 'keyed', 'slowly', { delay_ms: 30 })],
      sinks: { out: { from: 'slow', sink: out } },
      runtime: { workers: 2, inFlightRecords: 2_000 },
    });
    const pipeline = await createPipeline(spec, registry);
    const running = pipeline.run();
    // Stop once records are flowing through the workers, with more read and queued behind them.
    while (out.records.length < 600) await new Promise((resolve) => setTimeout(resolve, 20));
    pipeline.stop();
    await running;
    assert.ok(source.readRecords >= 600);
    assert.equal(out.records.length, source.readRecords, 'every record read was written');
    assert.equal(source.acked, source.readRecords, 'every record read was acknowledged');
    assert.equal(source.committed, source.readRecords);
  });
});
