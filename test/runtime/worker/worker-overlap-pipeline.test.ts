import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULTS } from '../../../runtime/limits.js';
import { CollectSink } from '../engine/fixtures.js';
import {
  KeyedSource,
  countingRunner,
  createPipeline,
  customNode,
  workerPipeline,
  workerRunner,
} from './support.js';

describe('worker-run operators overlap batches', () => {
  test('several batches are on the threads at once, and readers still get them in source order', async () => {
    const batchSize = 100;
    const total = 4_000;
    const source = new KeyedSource({ total, batchSize, keys: 10 });
    const out = new CollectSink();
    const { spec, registry } = workerPipeline({
      name: 'workers-overlap',
      source,
      operators: [
        customNode('slow', 'keyed', 'slowly', { delay_ms: 15 }),
        customNode('stamp', 'slow', 'stampSequence'),
      ],
      sinks: { out: { from: 'stamp', sink: out } },
      runtime: { workers: 2 },
    });
    const workers = workerRunner(spec, registry);
    const { runner, peak } = countingRunner(workers);
    const pipeline = await createPipeline(spec, registry, runner);
    await pipeline.run();

    assert.equal(workers.overlap('slow'), DEFAULTS.workerBatchesInFlight);
    // slow → stamp is a chain: each task runs both, so only slow's batches wait for the threads.
    const most = peak.get('slow') ?? 0;
    assert.ok(most > 1, `node slow never had more than one batch running`);
    assert.ok(most <= DEFAULTS.workerBatchesInFlight, `node slow had ${most} batches running at once`);
    assert.equal(peak.get('stamp'), undefined, 'stamp waited for a thread of its own');
    const seqs = out.records.map((record) => record.after!.seq as number);
    assert.deepEqual(
      [...seqs].sort((a, b) => a - b),
      Array.from({ length: total }, (_, i) => i),
    );
    // Batches leave in the order they came: the batch number of what the sink got never goes down.
    const batches = seqs.map((seq) => Math.floor(seq / batchSize));
    assert.ok(
      batches.every((batch, i) => i === 0 || batch >= batches[i - 1]!),
      'a batch reached the sink before an earlier one',
    );
    // Each thread saw every key's records in order, across batches.
    assert.ok(out.records.every((record) => record.after!.in_order === true));
    assert.equal(source.committed, total);
  });
});
