import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { fileSource } from '../../../connectors/file/index.js';
import { Decimal } from '../../../runtime/decimal.js';
import type { Source } from '../../../runtime/source.js';
import { readAll, sourceContext } from './source-context.js';

describe('file source', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'sluice-file-source-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** A fresh directory with `name` holding `text`, and a source over it. */
  async function setUp(
    test: string,
    name: string,
    text: string | Buffer,
    options: Record<string, unknown> = {},
  ) {
    const dir = join(root, test);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, name), text);
    const context = sourceContext(join(dir, 'state'));
    const create = (extra: Record<string, unknown> = {}) =>
      fileSource.create(
        { path: name, ...options, ...extra },
        { pipeline: 'test', node: 'input', configDir: dir, logger: pino({ level: 'silent' }) },
      ) as Source;
    return { dir, context, create };
  }

  test('an empty file ends at once', async () => {
    const { context, create } = await setUp('empty', 'empty.jsonl', '');
    const source = create();
    assert.equal(source.bounded, true);
    await source.connect(context);
    assert.equal(await source.read(), null);
    await source.close();
  });

  test('one line becomes one insert with the row as after, keyed by the key columns', async () => {
    const { context, create } = await setUp('one', 'orders.jsonl', '{"id":7,"email":"a@example.com"}\n', {
      key: ['id'],
    });
    const source = create();
    await source.connect(context);
    const [batch, ...rest] = await readAll(source);
    assert.equal(rest.length, 0);
    assert.equal(batch!.records.length, 1);
    const record = batch!.records[0]!;
    assert.equal(record.op, 'insert');
    assert.deepEqual(record.key, { id: 7 });
    assert.deepEqual(record.after, { id: 7, email: 'a@example.com' });
    assert.equal(record.before, null);
    assert.deepEqual(record.source, { name: 'input', position: 'orders.jsonl:1', table: 'orders' });
    assert.equal(record.sourceTimeMs, null);
    assert.ok(Math.abs(record.ingestTimeMs - Date.now()) < 10_000);
    assert.deepEqual(record.headers, {});
    assert.equal(batch!.bytes, 33);
    batch!.ack();
    await source.close();
  });

  test('many lines come in batches of batch_records, in order, skipping blank lines, with CRLF and no final newline', async () => {
    const lines = Array.from({ length: 10 }, (_, index) =>
      JSON.stringify({ n: index + 1, text: 'é'.repeat(index) }),
    );
    const text = `${lines.slice(0, 5).join('\r\n')}\r\n\r\n${lines.slice(5).join('\n')}`;
    const { context, create } = await setUp('many', 'many.jsonl', text, { batch_records: 4 });
    const source = create();
    await source.connect(context);
    const batches = await readAll(source);
    assert.deepEqual(
      batches.map((batch) => batch.records.length),
      [4, 4, 2],
    );
    const records = batches.flatMap((batch) => batch.records);
    assert.deepEqual(
      records.map((record) => record.after!.n),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    assert.deepEqual(
      records.map((record) => record.after!.text),
      lines.map((line) => (JSON.parse(line) as { text: string }).text),
    );
    assert.equal(records[5]!.source.position, 'many.jsonl:7');
    assert.equal(
      batches.reduce((sum, batch) => sum + batch.bytes, 0),
      Buffer.byteLength(text),
    );
    assert.deepEqual(source.progress!(), {
      done: Buffer.byteLength(text),
      total: Buffer.byteLength(text),
      unit: 'bytes',
    });
    for (const batch of batches) batch.ack();
    await source.close();
  });

  test('undecodable lines are rejected with their position, text and parse error; reading goes on', async () => {
    const text = ['{"id":1}', '{"id":2', '[1,2]', 'null', '{"name":"no id"}', '{"id":6}'].join('\n');
    const { context, create } = await setUp('bad', 'bad.jsonl', text, { key: ['id'] });
    const source = create();
    await source.connect(context);
    const [batch] = await readAll(source);
    assert.deepEqual(
      batch!.records.map((record) => record.key),
      [{ id: 1 }, { id: 6 }],
    );
    const rejected = batch!.rejected!;
    assert.deepEqual(
      rejected.map((letter) => letter.source.position),
      ['bad.jsonl:2', 'bad.jsonl:3', 'bad.jsonl:4', 'bad.jsonl:5'],
    );
    assert.deepEqual(
      rejected.map((letter) => letter.raw),
      ['{"id":2', '[1,2]', 'null', '{"name":"no id"}'],
    );
    assert.ok(rejected.every((letter) => letter.node === 'input' && letter.source.name === 'input'));
    assert.match(rejected[0]!.reason, /bad\.jsonl line 2: .*JSON/);
    assert.match(rejected[1]!.reason, /expected a JSON object per line, found an array/);
    assert.match(rejected[3]!.reason, /key column "id"/);
    batch!.ack();
    await source.close();
  });

  test('big integers and exact decimals keep their digits', async () => {
    const { context, create } = await setUp(
      'exact',
      'exact.jsonl',
      '{"id":12345678901234567890,"amount":26.30,"rate":0.5}\n',
    );
    const source = create();
    await source.connect(context);
    const [batch] = await readAll(source);
    assert.deepEqual(batch!.records[0]!.after, {
      id: 12345678901234567890n,
      amount: new Decimal('26.30'),
      rate: 0.5,
    });
    batch!.ack();
    await source.close();
  });

  test('CSV columns get their declared types; quoted fields may hold delimiters, quotes and line breaks', async () => {
    const text = [
      '\uFEFFid,name,amount,paid,score,meta,big',
      '1,"Lovelace, Ada",26.30,true,1.5,"{""vip"":true}",12345678901234567890',
      '2,"two',
      'lines",0.10,0,,[1],3',
      '3,,1.00,false,2,null,',
    ].join('\n');
    const columns = {
      id: 'integer',
      amount: 'decimal',
      paid: 'boolean',
      score: 'number',
      meta: 'json',
      big: 'integer',
    };
    const { context, create } = await setUp('csv', 'people.csv', text, { columns, key: ['id'] });
    const source = create();
    await source.connect(context);
    const [batch] = await readAll(source);
    assert.deepEqual(batch!.rejected, []);
    assert.deepEqual(
      batch!.records.map((record) => record.after),
      [
        {
          id: 1,
          name: 'Lovelace, Ada',
          amount: new Decimal('26.30'),
          paid: true,
          score: 1.5,
          meta: { vip: true },
          big: 12345678901234567890n,
        },
        {
          id: 2,
          name: 'two\nlines',
          amount: new Decimal('0.10'),
          paid: false,
          score: null,
          meta: [1],
          big: 3,
        },
        { id: 3, name: null, amount: new Decimal('1.00'), paid: false, score: 2, meta: null, big: null },
      ],
    );
    assert.deepEqual(
      batch!.records.map((record) => record.source.position),
      ['people.csv:2', 'people.csv:3', 'people.csv:5'],
    );
    batch!.ack();
    await source.close();
  });

  test('a line break inside a quoted CSV field keeps the bytes the file has: \\r\\n stays \\r\\n', async () => {
    const text = 'id,note\r\n1,"first\r\nsecond"\r\n2,"a\nb"\r\n3,plain\r\n';
    const { context, create } = await setUp('csv-crlf', 'notes.csv', text, {
      columns: { id: 'integer' },
      key: ['id'],
    });
    const source = create();
    await source.connect(context);
    const [batch] = await readAll(source);
    assert.deepEqual(batch!.rejected, []);
    assert.deepEqual(
      batch!.records.map((record) => record.after),
      [
        { id: 1, note: 'first\r\nsecond' },
        { id: 2, note: 'a\nb' },
        { id: 3, note: 'plain' },
      ],
    );
    assert.deepEqual(
      batch!.records.map((record) => record.source.position),
      ['notes.csv:2', 'notes.csv:4', 'notes.csv:6'],
    );
    batch!.ack();
    await source.close();
  });

  test('CSV lines with the wrong column count or a bad typed value are rejected; the rest is read', async () => {
    const text = ['id;amount', '1;2.50', '2;2.50;extra', '3;lots', '4', '5;1'].join('\n');
    const { context, create } = await setUp('csv-bad', 'bad.csv', text, {
      delimiter: ';',
      columns: { id: 'integer', amount: 'decimal' },
    });
    const source = create();
    await source.connect(context);
    const [batch] = await readAll(source);
    assert.deepEqual(
      batch!.records.map((record) => record.after!.id),
      [1, 5],
    );
    assert.deepEqual(
      batch!.rejected!.map((letter) => [letter.source.position, letter.raw]),
      [
        ['bad.csv:3', '2;2.50;extra'],
        ['bad.csv:4', '3;lots'],
        ['bad.csv:5', '4'],
      ],
    );
    assert.match(batch!.rejected![0]!.reason, /expected 2 columns, found 3/);
    assert.match(batch!.rejected![1]!.reason, /column "amount": expected a decimal number, found "lots"/);
    batch!.ack();
    await source.close();
  });

  test('a CSV file without a header takes its column names from columns; TSV files split on tabs', async () => {
    const { context, create } = await setUp('tsv', 'plain.tsv', '1\tx y\n2\t\n', {
      header: false,
      columns: { id: 'integer', label: 'string' },
    });
    const source = create();
    await source.connect(context);
    const [batch] = await readAll(source);
    assert.deepEqual(
      batch!.records.map((record) => record.after),
      [
        { id: 1, label: 'x y' },
        { id: 2, label: null },
      ],
    );
    batch!.ack();
    await source.close();
  });

  test('config checks: an unknown extension needs a format, a header-less CSV needs columns', () => {
    const context = { configDir: root };
    assert.deepEqual(fileSource.check!({ path: 'data.txt' }, context), [
      {
        path: ['format'],
        message: 'cannot tell the format of "data.txt" from its extension: set format to jsonl or csv',
      },
    ]);
    assert.equal((fileSource.check!({ path: 'x.csv', header: false }, context) as unknown[]).length, 1);
    assert.deepEqual(fileSource.check!({ path: 'data.txt', format: 'jsonl' }, context), []);
  });

  test('a missing file fails connect with FILE_NOT_FOUND', async () => {
    const { context } = await setUp('missing', 'present.jsonl', '');
    const source = fileSource.create(
      { path: 'absent.jsonl' },
      { pipeline: 'test', node: 'input', configDir: root, logger: pino({ level: 'silent' }) },
    ) as Source;
    await assert.rejects(source.connect(context), { code: 'FILE_NOT_FOUND', message: /absent\.jsonl/ });
  });

  test('resumes after the contiguous acknowledged prefix when batches are acknowledged out of order', async () => {
    const text = Array.from({ length: 12 }, (_, index) => JSON.stringify({ n: index + 1 })).join('\n');
    const { context, create } = await setUp('resume', 'resume.jsonl', `${text}\n`, { batch_records: 3 });
    const first = create();
    await first.connect(context);
    const batches = await readAll(first);
    assert.equal(batches.length, 4);
    batches[0]!.ack();
    batches[2]!.ack();
    batches[3]!.ack();
    batches[1]!.ack(1);
    await first.close();

    const second = create();
    await second.connect(context);
    const again = await readAll(second);
    assert.deepEqual(
      again.flatMap((batch) => batch.records.map((record) => record.after!.n)),
      [5, 6, 7, 8, 9, 10, 11, 12],
    );
    assert.equal(again[0]!.records[0]!.source.position, 'resume.jsonl:5');
    for (const batch of again) batch.ack();
    await second.close();

    const third = create();
    await third.connect(context);
    assert.equal(await third.read(), null, 'everything acknowledged: nothing left to read');
    await third.close();
    await context.store.close();
  });

  test('a CSV source resumes after its checkpoint and still knows its header', async () => {
    const text = ['id,amount', '1,1.10', '2,2.20', '3,3.30', '4,4.40'].join('\n');
    const { context, create } = await setUp('csv-resume', 'r.csv', text, {
      batch_records: 2,
      columns: { amount: 'decimal' },
    });
    const first = create();
    await first.connect(context);
    const batch = await first.read();
    batch!.ack();
    await first.close();
    const second = create();
    await second.connect(context);
    const rest = await readAll(second);
    assert.deepEqual(
      rest.flatMap((b) => b.records.map((record) => record.after)),
      [
        { id: '3', amount: new Decimal('3.30') },
        { id: '4', amount: new Decimal('4.40') },
      ],
    );
    await second.close();
  });

  test('saves the checkpoint while running, at most once per interval', async () => {
    const text = Array.from({ length: 4 }, (_, index) => JSON.stringify({ n: index })).join('\n');
    const { context, create } = await setUp('interval', 'i.jsonl', text, { batch_records: 1 });
    const source = create();
    await source.connect(context);
    const batches = await readAll(source);
    batches[0]!.ack();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(await context.checkpoints.load('file'), { line: 1, byte: 8 });
    batches[1]!.ack();
    batches[2]!.ack();
    assert.deepEqual(
      await context.checkpoints.load('file'),
      { line: 1, byte: 8 },
      'not yet: within the interval',
    );
    await source.close();
    assert.deepEqual(await context.checkpoints.load('file'), { line: 3, byte: 24 }, 'close saves');
  });

  test('a checkpoint beyond the end of a replaced file is refused', async () => {
    const { dir, context, create } = await setUp('replaced', 'r.jsonl', '{"a":1}\n{"a":2}\n{"a":3}\n');
    const first = create();
    await first.connect(context);
    for (const batch of await readAll(first)) batch.ack();
    await first.close();
    await writeFile(join(dir, 'r.jsonl'), '{"a":1}\n');
    const second = create();
    await assert.rejects(second.connect(context), {
      code: 'FILE_CHECKPOINT_MISMATCH',
      message: /replaced or truncated/,
    });
    await writeFile(join(dir, 'r.jsonl'), '{"a":10}\n{"b":20}\n{"c":30}\n');
    await assert.rejects(second.connect(context), {
      code: 'FILE_CHECKPOINT_MISMATCH',
      message: /not the end of a line/,
    });
  });

  test('records: changes replays change records and DLQ entries, keeping their operation, key and before', async () => {
    const lines = [
      {
        op: 'update',
        key: { id: 1 },
        before: { id: 1, v: 1 },
        after: { id: 1, v: 2 },
        source: { name: 'pg', position: '0/1' },
        source_time_ms: 1000,
        ingest_time_ms: 1,
        headers: { h: 'x' },
      },
      { op: 'delete', key: { id: 2 }, before: null, after: null },
      {
        node: 'validate',
        reason: 'bad email',
        record: { op: 'insert', key: null, before: null, after: { id: 3 } },
        raw: null,
      },
      { node: 'input', reason: 'not JSON', record: null, raw: '{' },
      { op: 'upsert', after: {} },
    ];
    const { context, create } = await setUp(
      'changes',
      'dlq.jsonl',
      lines.map((line) => JSON.stringify(line)).join('\n'),
      { records: 'changes', key: ['id'] },
    );
    const source = create();
    await source.connect(context);
    const [batch] = await readAll(source);
    const [update, deletion, insert] = batch!.records;
    assert.deepEqual(
      [update!.op, update!.key, update!.before, update!.after, update!.sourceTimeMs, update!.headers],
      ['update', { id: 1 }, { id: 1, v: 1 }, { id: 1, v: 2 }, 1000, { h: 'x' }],
    );
    assert.equal(update!.source.position, 'dlq.jsonl:1');
    assert.deepEqual([deletion!.op, deletion!.key, deletion!.after], ['delete', { id: 2 }, null]);
    assert.deepEqual([insert!.op, insert!.key, insert!.after], ['insert', { id: 3 }, { id: 3 }]);
    assert.deepEqual(
      batch!.rejected!.map((letter) => letter.source.position),
      ['dlq.jsonl:4', 'dlq.jsonl:5'],
    );
    assert.match(batch!.rejected![1]!.reason, /"op" to be one of insert, update, delete, read/);
    await source.close();
  });

  test('reads lines longer than its read chunk and a large file without holding it whole', async () => {
    const long = JSON.stringify({ text: 'x'.repeat(200_000) });
    const many = Array.from({ length: 20_000 }, (_, index) => JSON.stringify({ n: index }));
    const { context, create } = await setUp('large', 'large.jsonl', `${long}\n${many.join('\n')}\n`);
    const source = create();
    await source.connect(context);
    const batches = await readAll(source);
    const records = batches.flatMap((batch) => batch.records);
    assert.equal(records.length, 20_001);
    assert.equal((records[0]!.after!.text as string).length, 200_000);
    assert.equal(records[20_000]!.after!.n, 19_999);
    await source.close();
  });
});
