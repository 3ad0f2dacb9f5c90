import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SluiceError } from '../../../runtime/errors.js';
import { Pipeline } from '../../../runtime/pipeline.js';
import type { OperatorSpec } from '../../../runtime/pipeline-spec.js';
import type { ChangeRecord } from '../../../runtime/record.js';
import { CollectSink, MemoryCheckpointStore, silentLogger } from '../engine/fixtures.js';
import {
  KeyedSource,
  countingRunner,
  createPipeline,
  customNode,
  workerPipeline,
  workerRunner,
} from './support.js';

/** `seq` of each record, per key, in the order the sink got them. */
function seqsByKey(records: readonly ChangeRecord[]): Map<unknown, number[]> {
  const byKey = new Map<unknown, number[]>();
  for (const record of records) {
    const k = record.key!.k;
    let list = byKey.get(k);
    if (list === undefined) byKey.set(k, (list = []));
    list.push(record.after!.seq as number);
  }
  return byKey;
}

function assertIncreasing(byKey: Map<unknown, number[]>): void {
  for (const [k, seqs] of byKey) {
    for (let i = 1; i < seqs.length; i++) {
      assert.ok(seqs[i]! > seqs[i - 1]!, `key ${String(k)}: seq ${seqs[i]} came after ${seqs[i - 1]}`);
    }
  }
}

function seqs(records: readonly ChangeRecord[]): number[] {
  return records.map((record) => record.after!.seq as number).sort((a, b) => a - b);
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * Runs `operators` (the last one named `check`, which fails record 2 500) on 4 workers over 5 000 records in batches
 * of 1 000, cut into tasks of 50 records so that the lanes' later tasks have already run past the failing record
 * when it is found; asserts the run fails there with RULE_FAILED. Returns the source and what the sink got.
 */
async function runFailingAt2500(name: string, operators: OperatorSpec[]) {
  const source = new KeyedSource({
    total: 5_000,
    batchSize: 1_000,
    keys: 100,
    markers: new Map([[2_500, 'fail']]),
  });
  const out = new CollectSink();
  const { spec, registry } = workerPipeline({
    name,
    source,
    operators,
    sinks: { out: { from: 'check', sink: out } },
    runtime: { workers: 4 },
  });
  const runner = workerRunner(spec, registry, { taskRecords: 50 });
  const pipeline = await createPipeline(spec, registry, runner);
  await assert.rejects(pipeline.run(), (error: unknown) => {
    assert.ok(error instanceof SluiceError);
    assert.equal(error.code, 'RULE_FAILED');
    assert.match(error.message, /keyed:2500 is marked fail/);
    return true;
  });
  return { source, out };
}

describe('operators on worker threads', () => {
  test('8 lanes keep per-key order and pin each key to one thread (50k records, 100 keys)', async () => {
    const source = new KeyedSource({ total: 50_000, batchSize: 1_000, keys: 100 });
    const out = new CollectSink();
    const { spec, registry } = workerPipeline({
      name: 'workers-order',
      source,
      operators: [customNode('stamp', 'keyed', 'stampSequence')],
      sinks: { out: { from: 'stamp', sink: out } },
      runtime: { workers: 8 },
    });
    const runner = workerRunner(spec, registry);
    const pipeline = await createPipeline(spec, registry, runner);
    const summary = await pipeline.run();
    assert.equal(runner.placement('stamp'), 'workers');
    assert.equal(out.records.length, 50_000);
    assert.equal(summary.operators.stamp?.out, 50_000);
    const byKey = seqsByKey(out.records);
    assert.equal(byKey.size, 100);
    assertIncreasing(byKey);
    assert.deepEqual(seqs(out.records), range(0, 50_000));
    // Each thread kept a last-seen seq per key: every record found its key's state where it left it.
    assert.ok(out.records.every((record) => record.after!.in_order === true));
    const threadsOfKey = new Map<unknown, Set<unknown>>();
    for (const record of out.records) {
      const threads = threadsOfKey.get(record.key!.k) ?? new Set();
      threads.add(record.after!.thread);
      threadsOfKey.set(record.key!.k, threads);
    }
    assert.ok(
      [...threadsOfKey.values()].every((threads) => threads.size === 1),
      'a key met more than one thread',
    );
    const threads = new Set(out.records.map((record) => record.after!.thread));
    assert.equal(threads.size, 8);
    assert.ok(!threads.has(0), 'records were processed on the main thread');
    assert.equal(source.committed, 50_000);
  });

  test('a failing record stops the batch at its own index across lanes', async () => {
    const { source, out } = await runFailingAt2500('workers-failure', [
      customNode('check', 'keyed', 'failOnMarker'),
    ]);
    assert.deepEqual(seqs(out.records), range(0, 2_500));
    assertIncreasing(seqsByKey(out.records));
    assert.equal(source.committed, 2_500);
  });
  test('branches and dead letters from every lane reach their readers and the DLQ', async () => {
    const markers = new Map(
      range(0, 3_000)
        .filter((seq) => seq % 97 === 0)
        .map((seq) => [seq, 'bad']),
    );
    const source = new KeyedSource({ total: 3_000, batchSize: 500, keys: 30, markers });
    const odd = new CollectSink();
    const even = new CollectSink();
    const dlq = new CollectSink();
    const { spec, registry } = workerPipeline({
      name: 'workers-branches',
      source,
      operators: [customNode('split', 'keyed', 'splitEven')],
      sinks: { odd: { from: 'split', sink: odd }, even: { from: 'split.even', sink: even } },
      dlq,
      runtime: { workers: 3 },
    });
    const pipeline = await createPipeline(spec, registry);
    await pipeline.run();
    const good = range(0, 3_000).filter((seq) => !markers.has(seq));
    assert.deepEqual(
      seqs(odd.records),
      good.filter((seq) => seq % 2 === 1),
    );
    assert.deepEqual(
      seqs(even.records),
      good.filter((seq) => seq % 2 === 0),
    );
    assertIncreasing(seqsByKey(odd.records));
    assertIncreasing(seqsByKey(even.records));
    const deadSeqs = dlq.records.map((row) => (row.after!.record as { after: { seq: number } }).after.seq);
    assert.deepEqual(
      deadSeqs.sort((a, b) => a - b),
      [...markers.keys()],
    );
    assert.ok(dlq.records.every((row) => row.after!.reason === 'marked bad'));
    assert.equal(source.committed, 3_000);
  });

  test('nodes that follow one another run as one task: each node gives what it gives inline, in one hop', async () => {
    const markers = new Map(
      range(0, 3_000)
        .filter((seq) => seq % 89 === 0)
        .map((seq) => [seq, 'bad']),
    );
    const source = new KeyedSource({ total: 3_000, batchSize: 500, keys: 30, markers });
    const out = new CollectSink();
    const dlq = new CollectSink();
    const { spec, registry } = workerPipeline({
      name: 'workers-chain',
      source,
      // split's even branch has no reader, so stamp is the only node reading split.
      operators: [customNode('split', 'keyed', 'splitEven'), customNode('stamp', 'split', 'stampSequence')],
      sinks: { out: { from: 'stamp', sink: out } },
      dlq,
      runtime: { workers: 3 },
    });
    const workers = workerRunner(spec, registry);
    const { runner, waited } = countingRunner(workers);
    const pipeline = await createPipeline(spec, registry, runner);
    const summary = await pipeline.run();
    const odd = range(0, 3_000).filter((seq) => !markers.has(seq) && seq % 2 === 1);
    assert.deepEqual(seqs(out.records), odd);
    assertIncreasing(seqsByKey(out.records));
    assert.ok(out.records.every((record) => record.after!.in_order === true && record.after!.thread !== 0));
    assert.deepEqual(
      dlq.records
        .map((row) => (row.after!.record as { after: { seq: number } }).after.seq)
        .sort((a, b) => a - b),
      [...markers.keys()],
    );
    assert.equal(summary.operators.split?.in, 3_000);
    assert.equal(summary.operators.split?.deadLettered, markers.size);
    assert.equal(summary.operators.split?.branches.even, 3_000 - markers.size - odd.length);
    assert.equal(summary.operators.stamp?.in, odd.length);
    assert.equal(summary.operators.stamp?.out, odd.length);
    assert.equal(waited.get('split'), 6, 'each batch went to the threads once');
    assert.equal(waited.get('stamp'), undefined, 'stamp waited for a thread of its own');
    assert.equal(source.committed, 3_000);
  });

  test("a failure in a chain's second node ends as it would inline: the batch stops at the failing record", async () => {
    const { source, out } = await runFailingAt2500('workers-chain-failure', [
      customNode('pass', 'keyed', 'slowly', { delay_ms: 0 }),
      customNode('check', 'pass', 'failOnMarker'),
    ]);
    assert.deepEqual(seqs(out.records), range(0, 2_500));
    assert.equal(source.committed, 2_500);
  });
  test('a failure after a node that made new records on several lanes acknowledges none of its batch', async () => {
    const { source, out } = await runFailingAt2500('workers-reordered-failure', [
      customNode('stamp', 'keyed', 'stampSequence'),
      customNode('check', 'stamp', 'failOnMarker'),
    ]);
    // stamp's records come back lane after lane: the failing record's place in the batch is unknown, so the whole
    // batch (2000–2999) is left to be read again, and nothing of it passed on.
    assert.deepEqual(seqs(out.records), range(0, 2_000));
    assert.equal(source.committed, 2_000);
  });
  test('a user function that throws in a chain fails the pipeline naming it, and loses nothing', async () => {
    const source = new KeyedSource({
      total: 3_000,
      batchSize: 500,
      keys: 30,
      markers: new Map([[1_234, 'reject']]),
    });
    const out = new CollectSink();
    const { spec, registry } = workerPipeline({
      name: 'workers-chain-throw',
      source,
      operators: [
        customNode('pass', 'keyed', 'slowly', { delay_ms: 0 }),
        customNode('picky', 'pass', 'rejectOnMarker'),
      ],
      sinks: { out: { from: 'picky', sink: out } },
      runtime: { workers: 2 },
    });
    const pipeline = await createPipeline(spec, registry);
    await assert.rejects(pipeline.run(), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.code, 'OPERATOR_FAILED');
      assert.match(error.message, /custom operator picky .* threw/);
      assert.match(error.message, /a record is marked reject/);
      return true;
    });
    // Nothing from the marked record on passed, and everything acknowledged was written.
    const written = seqs(out.records);
    assert.ok(written.every((seq) => seq < 1_234));
    assert.ok(source.committed <= 1_234);
    assert.deepEqual(
      written.filter((seq) => seq < source.committed),
      range(0, source.committed),
    );
  });

  test('runtime.workers without an operator worker module is refused', async () => {
    const { spec, registry } = workerPipeline({
      name: 'workers-unavailable',
      source: new KeyedSource({ total: 1, batchSize: 1, keys: 1 }),
      operators: [customNode('stamp', 'keyed', 'stampSequence')],
      sinks: { out: { from: 'stamp', sink: new CollectSink() } },
      runtime: { workers: 2 },
    });
    const { operatorWorker: _unused, ...withoutWorker } = registry;
    await assert.rejects(
      Pipeline.create(spec, {
        registry: withoutWorker,
        logger: silentLogger,
        checkpoints: new MemoryCheckpointStore(),
      }),
      (error: unknown) => error instanceof SluiceError && error.code === 'WORKERS_UNAVAILABLE',
    );
  });

  test('auto keeps a light operator inline and moves a costly one to the workers', async () => {
    const source = new KeyedSource({ total: 8_000, batchSize: 500, keys: 40 });
    const out = new CollectSink();
    const origin = { file: 'test.yaml', path: [] };
    const { spec, registry } = workerPipeline({
      name: 'workers-auto',
      source,
      operators: [
        {
          name: 'light',
          type: 'filter',
          from: [{ node: 'keyed' }],
          options: { where: 'after.seq % 3 != 0' },
          origin,
        },
        customNode('heavy', 'light', 'burn', { rounds: 300 }),
      ],
      sinks: { out: { from: 'heavy', sink: out } },
      runtime: { workers: 'auto' },
    });
    const runner = workerRunner(spec, registry);
    assert.equal(runner.placement('light'), 'measuring');
    const pipeline = await createPipeline(spec, registry, runner);
    await pipeline.run();
    assert.equal(runner.placement('light'), 'inline');
    assert.equal(runner.placement('heavy'), 'workers');
    const expected = range(0, 8_000).filter((seq) => seq % 3 !== 0);
    assert.deepEqual(seqs(out.records), expected);
    assert.ok(out.records.every((record) => typeof record.after!.digest === 'string'));
    assertIncreasing(seqsByKey(out.records));
    assert.equal(source.committed, 8_000);
  });

  test('stateful built-ins stay on the engine thread whatever runtime.workers says', () => {
    const origin = { file: 'test.yaml', path: [] };
    const { spec, registry } = workerPipeline({
      name: 'workers-placement',
      source: new KeyedSource({ total: 1, batchSize: 1, keys: 1 }),
      operators: [
        { name: 'dedup', type: 'dedup', from: [{ node: 'keyed' }], options: { key: ['k'] }, origin },
        {
          name: 'unique',
          type: 'validate',
          from: [{ node: 'dedup' }],
          options: { rules: [{ field: 'seq', unique: {} }] },
          origin,
        },
        {
          name: 'rules',
          type: 'validate',
          from: [{ node: 'unique' }],
          options: { rules: [{ field: 'seq', not_null: true }] },
          origin,
        },
      ],
      sinks: { out: { from: 'rules', sink: new CollectSink() } },
      runtime: { workers: 4 },
    });
    const runner = workerRunner(spec, registry);
    assert.equal(runner.placement('dedup'), 'inline');
    assert.equal(runner.placement('unique'), 'inline');
    assert.equal(runner.placement('rules'), 'workers');
  });
});
