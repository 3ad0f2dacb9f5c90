import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { fileSink, fileSource } from '../../../connectors/file/index.js';
import { deadLetterRow } from '../../../runtime/dead-letter.js';
import { Decimal } from '../../../runtime/decimal.js';
import type { ChangeRecord, Row } from '../../../runtime/record.js';
import type { Sink, WriteResult } from '../../../runtime/sink.js';
import type { Source } from '../../../runtime/source.js';
import { readAll, sourceContext } from './source-context.js';

const logger = pino({ level: 'silent' });

function change(op: ChangeRecord['op'], key: Row | null, before: Row | null, after: Row | null, position = 'src:1'): ChangeRecord {
  return { op, key, before, after, source: { name: 'src', position }, sourceTimeMs: 1_700_000_000_000, ingestTimeMs: 1_700_000_000_500, headers: { trace: 't1' } };
}

describe('file sink', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'sluice-file-sink-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function open(path: string, options: Record<string, unknown> = {}): Promise<Sink> {
    const sink = fileSink.create({ path, ...options }, { pipeline: 'test', node: 'out', configDir: root, logger }) as Sink;
    await sink.connect({ pipeline: 'test', name: 'out', logger });
    return sink;
  }

  test('creates missing directories; an empty batch writes nothing', async () => {
    const sink = await open('empty/deeper/out.jsonl');
    assert.deepEqual(await sink.write([]), { rejected: [] });
    await sink.close();
    assert.equal(await readFile(join(root, 'empty/deeper/out.jsonl'), 'utf8'), '');
  });

  test('rows: the after row per line; deletes as {_op: delete, ...key}, or the before row without a key', async () => {
    const sink = await open('rows.jsonl');
    await sink.write([change('insert', { id: 1 }, null, { id: 1, amount: new Decimal('26.30'), at: new Date(0) })]);
    await sink.write([change('update', { id: 1 }, null, { id: 1, amount: new Decimal('1.00'), at: null }), change('delete', { id: 1 }, null, null), change('delete', null, { id: 9, x: 1 }, null)]);
    await sink.close();
    assert.equal(
      await readFile(join(root, 'rows.jsonl'), 'utf8'),
      '{"id":1,"amount":26.30,"at":"1970-01-01T00:00:00.000Z"}\n{"id":1,"amount":1.00,"at":null}\n{"_op":"delete","id":1}\n{"_op":"delete","id":9,"x":1}\n',
    );
  });

  test('changes: the whole change record per line; appends continue the file after a reconnect', async () => {
    const first = await open('changes.jsonl', { format: 'changes', fsync: false });
    await first.write([change('update', { id: 2 }, { id: 2, v: 1 }, { id: 2, v: 2 })]);
    await first.close();
    const second = await open('changes.jsonl', { format: 'changes' });
    await second.write([change('delete', { id: 2 }, { id: 2, v: 2 }, null, 'src:2')]);
    await second.close();
    const lines = (await readFile(join(root, 'changes.jsonl'), 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line) as unknown);
    assert.deepEqual(lines, [
      { op: 'update', key: { id: 2 }, before: { id: 2, v: 1 }, after: { id: 2, v: 2 }, source: { name: 'src', position: 'src:1' }, source_time_ms: 1_700_000_000_000, ingest_time_ms: 1_700_000_000_500, headers: { trace: 't1' } },
      { op: 'delete', key: { id: 2 }, before: { id: 2, v: 2 }, after: null, source: { name: 'src', position: 'src:2' }, source_time_ms: 1_700_000_000_000, ingest_time_ms: 1_700_000_000_500, headers: { trace: 't1' } },
    ]);
  });

  test('a record JSON cannot hold is rejected alone; the rest of the batch is written', async () => {
    const sink = await open('nan.jsonl');
    const result = (await sink.write([change('insert', null, null, { v: 1 }), change('insert', null, null, { v: Number.NaN }, 'src:2')])) as WriteResult;
    await sink.close();
    assert.equal(result.rejected.length, 1);
    assert.equal(result.rejected[0]!.source.position, 'src:2');
    assert.match(result.rejected[0]!.reason, /NaN/);
    assert.equal(await readFile(join(root, 'nan.jsonl'), 'utf8'), '{"v":1}\n');
  });

  test('concurrent writes land whole and in call order', async () => {
    const sink = await open('order.jsonl', { fsync: false });
    await Promise.all(
      Array.from({ length: 20 }, (_, batch) => sink.write(Array.from({ length: 50 }, (_, index) => change('insert', null, null, { n: batch * 50 + index })))),
    );
    await sink.close();
    const numbers = (await readFile(join(root, 'order.jsonl'), 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line).n as number);
    assert.deepEqual(numbers, Array.from({ length: 1000 }, (_, index) => index));
  });

  test('writing before connect rejects with NOT_CONNECTED', async () => {
    const sink = fileSink.create({ path: 'never.jsonl' }, { pipeline: 'test', node: 'out', configDir: root, logger }) as Sink;
    await assert.rejects(sink.write([change('insert', null, null, {})]), { code: 'NOT_CONNECTED' });
  });

  test('round trip: a JSONL file read by the file source and written by the file sink keeps 12345678901234567890 and 26.30', async () => {
    const input = '{"id":12345678901234567890,"amount":26.30,"tiny":0.000001,"name":"Ada"}\n';
    await writeFile(join(root, 'exact-in.jsonl'), input);
    const source = fileSource.create({ path: 'exact-in.jsonl' }, { pipeline: 'test', node: 'in', configDir: root, logger }) as Source;
    const context = sourceContext(join(root, 'exact-state'), 'in');
    await source.connect(context);
    const sink = await open('exact-out.jsonl');
    for (const batch of await readAll(source)) {
      await sink.write(batch.records);
      batch.ack();
    }
    await source.close();
    await sink.close();
    assert.equal(await readFile(join(root, 'exact-out.jsonl'), 'utf8'), input);
  });

  test('a DLQ written with format rows replays through the file source with records: changes', async () => {
    const dlq = await open('dlq.jsonl');
    const rejected = change('insert', { id: 5 }, null, { id: 5, email: 'not-an-email', amount: new Decimal('26.30') });
    const letter = deadLetterRow({ node: 'validate', reason: 'email is malformed', rule: 'email', source: rejected.source, record: rejected }, Date.now());
    await dlq.write([{ ...change('insert', null, null, letter), source: { name: 'dlq', position: 'dlq:1' } }]);
    await dlq.close();
    const source = fileSource.create({ path: 'dlq.jsonl', records: 'changes' }, { pipeline: 'test', node: 'replay', configDir: root, logger }) as Source;
    await source.connect(sourceContext(join(root, 'dlq-state'), 'replay'));
    const [batch] = await readAll(source);
    await source.close();
    assert.deepEqual(batch!.rejected, []);
    const replayed = batch!.records[0]!;
    assert.deepEqual([replayed.op, replayed.key, replayed.after, replayed.headers], ['insert', { id: 5 }, { id: 5, email: 'not-an-email', amount: new Decimal('26.30') }, { trace: 't1' }]);
    assert.equal(replayed.source.position, 'dlq.jsonl:1');
  });
});
