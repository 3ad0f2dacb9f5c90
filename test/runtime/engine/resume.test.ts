import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileCheckpointStore } from '../../../runtime/file-checkpoint-store.js';
import { Pipeline } from '../../../runtime/pipeline.js';
import { CollectSink, ListSource, build, ids, silentLogger } from './fixtures.js';

void describe('Pipeline: resume', () => {
  let stateDir = '';
  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'sluice-engine-resume-'));
  });
  after(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  async function start(
    source: ListSource,
    sink: CollectSink,
  ): Promise<{ pipeline: Pipeline; store: FileCheckpointStore }> {
    const { spec, registry } = build({
      name: 'resume',
      sources: { orders: source },
      sinks: { sink: { from: ['orders'], sink, batch: { maxRecords: 100 } } },
      runtime: { stateDir },
    });
    const store = new FileCheckpointStore(stateDir);
    return {
      pipeline: await Pipeline.create(spec, { registry, logger: silentLogger, checkpoints: store }),
      store,
    };
  }

  void test('a new pipeline on the same state directory resumes after the committed checkpoint', async () => {
    const total = 3_000;
    const firstSource = new ListSource({ total, batchSize: 50, readDelayMs: 1 });
    const firstSink = new CollectSink();
    const first = await start(firstSource, firstSink);
    const running = first.pipeline.run();
    while (firstSource.readRecords < 600) await sleep(5);
    first.pipeline.stop();
    await running;
    await first.store.close();
    const committed = firstSource.commits.at(-1)!;
    assert.ok(committed >= 600 && committed < total, `stopped midway, committed ${committed}`);

    const secondSource = new ListSource({ total, batchSize: 50 });
    const secondSink = new CollectSink();
    const second = await start(secondSource, secondSink);
    await second.pipeline.run();
    await second.store.close();

    assert.equal(
      secondSource.resumedFrom,
      committed,
      'the second run starts at the checkpoint, not from zero',
    );
    assert.equal(Math.min(...ids(secondSink.records)), committed);
    const delivered = new Set([...ids(firstSink.records), ...ids(secondSink.records)]);
    assert.equal(delivered.size, total, 'every record is delivered at least once');
    assert.ok(secondSink.records.length < total);
  });
});
