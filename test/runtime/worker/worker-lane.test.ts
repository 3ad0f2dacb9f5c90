import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultRegistry } from '../../../cli/registry.js';
import { ConfigError, parsePipeline } from '../../../runtime/config/index.js';
import { Decimal } from '../../../runtime/decimal.js';
import type { ChangeRecord, Row } from '../../../runtime/record.js';
import { RecordCodec } from '../../../runtime/record-codec.js';
import { laneOf } from '../../../runtime/worker-lane.js';

const codec = new RecordCodec();

function keyed(key: Row | null): ChangeRecord {
  return {
    op: 'insert',
    key,
    before: null,
    after: {},
    source: { name: 's', position: 's:0' },
    sourceTimeMs: null,
    ingestTimeMs: 0,
    headers: {},
  };
}

describe('laneOf', () => {
  test('equal keys take the same lane, whatever objects hold them and wherever they sit in the batch', () => {
    const keys: Row[] = [
      { id: 42 },
      { id: 42n },
      { tenant: 'acme', order: new Decimal('10.50') },
      { at: new Date(1_700_000_000_000), blob: new Uint8Array([1, 2, 3]) },
      { nested: { list: [1, 'two', null] } },
    ];
    for (const key of keys) {
      const copy = codec.decode<Row>(codec.encode(key));
      const lane = laneOf(keyed(key), 0, 8);
      assert.ok(lane >= 0 && lane < 8);
      for (let index = 1; index < 20; index++) assert.equal(laneOf(keyed(copy), index, 8), lane);
    }
    assert.equal(laneOf(keyed({ id: 42 }), 0, 8), laneOf(keyed({ id: 42n }), 5, 8));
  });

  test('keys spread over every lane; records without a key are spread by index', () => {
    const counts = new Array<number>(8).fill(0);
    for (let id = 0; id < 8_000; id++) counts[laneOf(keyed({ id }), 0, 8)]!++;
    for (const count of counts) assert.ok(count > 700 && count < 1_300, `lane counts ${counts.join(', ')}`);
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((index) => laneOf(keyed(null), index, 3)),
      [0, 1, 2, 0, 1],
    );
  });
});

describe('runtime.workers in the config', () => {
  const yaml = (workers: string) => `
name: workers-config
sources:
  orders: { type: generate, count: 10 }
sinks:
  out: { from: orders, type: stdout }
runtime: { workers: ${workers} }
`;

  test('accepts inline, auto and a thread count, and defaults to inline', async () => {
    const registry = defaultRegistry();
    for (const [text, expected] of [
      ['inline', 'inline'],
      ['auto', 'auto'],
      ['3', 3],
    ] as const) {
      const spec = await parsePipeline(yaml(text), 'pipeline.yaml', registry);
      assert.equal(spec.runtime.workers, expected);
    }
    const plain = await parsePipeline(yaml('inline').replace(/runtime:.*\n/, ''), 'pipeline.yaml', registry);
    assert.equal(plain.runtime.workers, 'inline');
  });

  test('refuses anything else, naming the field', async () => {
    for (const text of ['fast', '0', '2.5']) {
      await assert.rejects(
        parsePipeline(yaml(text), 'pipeline.yaml', defaultRegistry()),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.format(), /workers/);
          return true;
        },
      );
    }
  });
});
