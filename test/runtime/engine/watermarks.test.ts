import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Subject } from 'rxjs';
import { ResolvedConsistencySink } from '../../../connectors/postgres/resolved-consistency-sink.js';
import { BatchTicket } from '../../../runtime/batch-ticket.js';
import type { Chunk } from '../../../runtime/chunk.js';
import { type MicroBatch, microBatch } from '../../../runtime/micro-batch.js';
import { Pipeline } from '../../../runtime/pipeline.js';
import type { ChangeRecord } from '../../../runtime/record.js';
import type { Sink, SinkContext, WriteResult } from '../../../runtime/sink.js';
import type { Source, SourceBatch, SourceContext } from '../../../runtime/source.js';
import {
  CollectSink,
  MemoryCheckpointStore,
  build,
  ids,
  makeRecord,
  operator,
  silentLogger,
  type TestPipeline,
} from './fixtures.js';

/** One scripted read: the ids of its records (possibly none) and the watermark after it. */
interface Step {
  readonly ids: readonly number[];
  readonly watermark?: string;
}

/**
 * A source reading scripted batches, then (bounded) ending or (unbounded) producing batches of `endless` ids
 * without watermarks until the pipeline stops. Records the order of acknowledgements.
 */
class ScriptedSource implements Source {
  readonly bounded: boolean;
  readonly acked: number[] = [];
  readonly #steps: readonly Step[];
  readonly #endless: number;
  #read = 0;
  #next = 1_000;
  #context: SourceContext | undefined;

  constructor(steps: readonly Step[], endless = 0) {
    this.#steps = steps;
    this.#endless = endless;
    this.bounded = endless === 0;
  }

  async connect(context: SourceContext): Promise<void> {
    this.#context = context;
  }

  async read(): Promise<SourceBatch | null> {
    const context = this.#context!;
    if (context.signal.aborted) return null;
    const index = this.#read++;
    const step: Step | undefined =
      this.#steps[index] ??
      (this.bounded ? undefined : { ids: Array.from({ length: this.#endless }, () => this.#next++) });
    if (step === undefined) return null;
    const records = step.ids.map((id) => makeRecord(context.name, id));
    return {
      records,
      bytes: records.length * 100,
      ...(step.watermark === undefined ? {} : { watermark: step.watermark }),
      ack: () => this.acked.push(index),
    };
  }

  async close(): Promise<void> {}
}

/** A sink that logs writes and watermarks in the order they happen. */
class WatermarkLogSink implements Sink {
  readonly events: ({ write: number[] } | { watermark: string; source: string })[] = [];

  async connect(_context: SinkContext): Promise<void> {}

  async write(records: readonly ChangeRecord[]): Promise<WriteResult> {
    await sleep(1);
    this.events.push({ write: ids(records) });
    return { rejected: [] };
  }

  async watermark(source: string, watermark: string): Promise<void> {
    this.events.push({ watermark, source });
  }

  async close(): Promise<void> {}
}

async function run(test: TestPipeline): Promise<unknown> {
  const { spec, registry } = build(test);
  const pipeline = await Pipeline.create(spec, {
    registry,
    logger: silentLogger,
    checkpoints: new MemoryCheckpointStore(),
  });
  return pipeline.run();
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const idOf = (record: ChangeRecord): number => record.after!.id as number;

void describe('watermarks: micro-batches', () => {
  void test('a watermark chunk flushes the pending records and follows them as a batch of its own', () => {
    const input = new Subject<Chunk>();
    const batches: MicroBatch[] = [];
    let completed = false;
    input.pipe(microBatch({ maxRecords: 10, maxBytes: 1_000_000, maxWaitMs: 60_000 })).subscribe({
      next: (batch) => batches.push(batch),
      complete: () => (completed = true),
    });
    const recordsTicket = new BatchTicket(10, () => undefined);
    const watermarkTicket = new BatchTicket(0, () => undefined);
    input.next({ records: range(0, 3).map((id) => makeRecord('s', id)), ticket: recordsTicket });
    assert.equal(batches.length, 0, 'a partial batch waits for max_wait');
    const watermark = { source: 's', value: '42' };
    input.next({ records: [], ticket: watermarkTicket, watermark });
    assert.deepEqual(
      batches.map((batch) => ({ ids: ids(batch.records), watermark: batch.watermark })),
      [
        { ids: [0, 1, 2], watermark: undefined },
        { ids: [], watermark },
      ],
    );
    assert.deepEqual(batches[1]!.tickets, [watermarkTicket], 'the watermark batch holds its own ticket');
    input.next({ records: [makeRecord('s', 3)], ticket: new BatchTicket(10, () => undefined) });
    input.complete();
    assert.deepEqual(ids(batches[2]!.records), [3], 'later records go into a later batch');
    assert.ok(completed);
  });
});

void describe('watermarks: through the graph', () => {
  void test('a sink reached along three paths gets each watermark once, after every earlier record came along each', async () => {
    const steps: Step[] = [
      { ids: range(0, 6), watermark: '10' },
      { ids: range(6, 9) },
      { ids: range(9, 15), watermark: '20' },
      { ids: [], watermark: '30' },
      { ids: range(15, 18), watermark: '40' },
    ];
    const source = new ScriptedSource(steps);
    const sink = new WatermarkLogSink();
    await run({
      sources: { feed: source },
      operators: {
        evens: {
          from: ['feed'],
          operator: operator((records) => ({ records: records.filter((record) => idOf(record) % 2 === 0) })),
        },
        router: {
          from: ['feed'],
          operator: operator((records) => ({
            records: [],
            branches: {
              high: records.filter((record) => idOf(record) >= 8),
              low: records.filter((record) => idOf(record) < 8),
            },
          })),
        },
      },
      sinks: { out: { from: ['evens', 'router.high', 'router.low'], sink, batch: { maxRecords: 4 } } },
    });
    const seen = sink.events.flatMap((event) => ('watermark' in event ? [event] : []));
    assert.deepEqual(seen, [
      { watermark: '10', source: 'feed' },
      { watermark: '20', source: 'feed' },
      { watermark: '30', source: 'feed' },
      { watermark: '40', source: 'feed' },
    ]);
    const endOf: Record<string, number> = { '10': 6, '20': 15, '30': 15, '40': 18 };
    const written = new Map<number, number>();
    for (const event of sink.events) {
      if ('write' in event) {
        for (const id of event.write) written.set(id, (written.get(id) ?? 0) + 1);
        continue;
      }
      for (const id of range(0, endOf[event.watermark]!)) {
        assert.equal(
          written.get(id),
          id % 2 === 0 ? 2 : 1,
          `record ${id} came along each of its paths before watermark ${event.watermark}`,
        );
      }
    }
    assert.deepEqual(
      [...source.acked].sort((a, b) => a - b),
      range(0, steps.length),
      'every batch acknowledged',
    );
  });

  void test('a sink holding writes until a watermark acknowledges records only once a watermark covers them', async () => {
    const inner = new CollectSink();
    const acksAtWrite: number[][] = [];
    const steps: Step[] = [
      { ids: [1, 2, 3] },
      { ids: [4, 5], watermark: '3' },
      { ids: [6], watermark: '5' },
      { ids: [], watermark: '6' },
    ];
    const source = new ScriptedSource(steps);
    const resolved = new ResolvedConsistencySink(
      {
        connect: (context) => inner.connect(context),
        write: (records) => {
          acksAtWrite.push([...source.acked]);
          return inner.write(records);
        },
        close: () => inner.close(),
      },
      'after.id',
    );
    await run({ sources: { feed: source }, sinks: { out: { from: ['feed'], sink: resolved } } });
    assert.deepEqual(
      inner.writeSizes,
      [3, 2, 1],
      'one transaction per watermark, with exactly the changes it covers',
    );
    assert.deepEqual(ids(inner.records), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(acksAtWrite[0], [], 'nothing acknowledged before the first watermark was applied');
    assert.ok(
      !acksAtWrite[1]!.includes(1),
      'the batch of 4 and 5 is not acknowledged before watermark 5 applies it',
    );
    assert.deepEqual(
      [...source.acked].sort((a, b) => a - b),
      [0, 1, 2, 3],
    );
  });

  void test('an in-flight budget full of records held for a watermark fails the pipeline, naming the setting', async () => {
    const source = new ScriptedSource([], 5);
    const inner = new CollectSink();
    const resolved = new ResolvedConsistencySink(inner, 'after.id');
    await assert.rejects(
      run({
        sources: { feed: source },
        sinks: { out: { from: ['feed'], sink: resolved } },
        runtime: { inFlightRecords: 10 },
      }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'IN_FLIGHT_BUDGET_STALLED');
        assert.match(error.message, /source "feed"/);
        assert.match(error.message, /runtime\.in_flight\.records/);
        return true;
      },
    );
    assert.deepEqual(inner.writeSizes, [], 'nothing was written without a watermark');
    assert.deepEqual(source.acked, [], 'nothing was acknowledged');
  });
});
