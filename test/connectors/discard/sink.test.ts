import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { DiscardSink, discardSink } from '../../../connectors/discard/index.js';
import type { ChangeRecord } from '../../../runtime/record.js';

const logger = pino({ level: 'silent' });
const context = { pipeline: 'test', name: 'out', logger };

function records(count: number): ChangeRecord[] {
  return Array.from({ length: count }, (_, n) => ({ op: 'insert', key: null, before: null, after: { n }, source: { name: 'src', position: `src:${n}` }, sourceTimeMs: null, ingestTimeMs: 0, headers: {} }));
}

describe('discard sink', () => {
  test('discards records and counts them and the writes, empty batches included', async () => {
    const sink = discardSink.create({}, { pipeline: 'test', node: 'out', configDir: '.', logger }) as DiscardSink;
    assert.ok(sink instanceof DiscardSink);
    await sink.connect(context);
    await sink.write([]);
    await sink.write(records(1));
    await sink.write(records(1000));
    assert.equal(sink.records, 1001);
    assert.equal(sink.writes, 3);
    await sink.close();
    await sink.close();
  });

  test('delay makes every write take that long', async () => {
    const sink = discardSink.create({ delay: 30 }, { pipeline: 'test', node: 'out', configDir: '.', logger }) as DiscardSink;
    await sink.connect(context);
    const started = performance.now();
    await Promise.all([sink.write(records(10)), sink.write(records(10))]);
    assert.ok(performance.now() - started >= 25);
    assert.equal(sink.records, 20);
    await sink.close();
  });

  test('refuses writes when not connected', async () => {
    await assert.rejects(new DiscardSink().write(records(1)), { code: 'NOT_CONNECTED' });
  });
});
