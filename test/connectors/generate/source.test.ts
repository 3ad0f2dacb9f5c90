import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { generateSource } from '../../../connectors/generate/index.js';
import { Decimal } from '../../../runtime/decimal.js';
import { stringifyJson } from '../../../runtime/json.js';
import type { ChangeRecord } from '../../../runtime/record.js';
import type { Source, SourceContext } from '../../../runtime/source.js';
import { readAll, sourceContext } from '../file/source-context.js';

const logger = pino({ level: 'silent' });

function create(options: Record<string, unknown>): Source {
  return generateSource.create(options, { pipeline: 'test', node: 'gen', configDir: '.', logger }) as Source;
}

describe('generate source', () => {
  let root: string;
  let contexts = 0;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'sluice-generate-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const context = (signal?: AbortSignal): SourceContext => sourceContext(join(root, `state-${contexts++}`), 'gen', signal);

  async function generate(options: Record<string, unknown>): Promise<ChangeRecord[]> {
    const source = create(options);
    await source.connect(context());
    const batches = await readAll(source);
    for (const batch of batches) batch.ack();
    await source.close();
    return batches.flatMap((batch) => batch.records);
  }

  test('count: 0 ends at once; a bounded count produces exactly that many, in batches of batch_records', async () => {
    assert.deepEqual(await generate({ count: 0 }), []);
    const source = create({ count: 25, batch_records: 10 });
    assert.equal(source.bounded, true);
    await source.connect(context());
    const batches = await readAll(source);
    assert.deepEqual(batches.map((batch) => batch.records.length), [10, 10, 5]);
    assert.deepEqual(source.progress!(), { done: 25, total: 25, unit: 'records' });
    await source.close();
  });

  test('one record has the order shape, keyed by id, with a position and the orders table', async () => {
    const [record, ...rest] = await generate({ count: 1 });
    assert.equal(rest.length, 0);
    const row = record!.after!;
    assert.deepEqual(Object.keys(row), ['id', 'customer', 'email', 'amount', 'currency', 'status', 'created_at', 'note']);
    assert.equal(row.id, 1);
    assert.deepEqual(record!.key, { id: 1 });
    assert.equal(record!.op, 'insert');
    assert.ok(row.amount instanceof Decimal && /^\d+\.\d{2}$/.test(row.amount.text), `amount ${stringifyJson(row.amount ?? null)}`);
    assert.match(row.email as string, /^[a-z-]+\.[a-z-]+@example\.com$/);
    assert.ok(['EUR', 'USD', 'GBP'].includes(row.currency as string));
    assert.ok(['new', 'paid', 'shipped', 'cancelled'].includes(row.status as string));
    assert.ok(row.created_at instanceof Date);
    assert.equal(typeof row.note, 'string');
    assert.deepEqual(record!.source, { name: 'gen', position: 'generate:0', table: 'orders' });
  });

  test('the same seed gives the same records whatever the batching; another seed gives others', async () => {
    const rows = (records: ChangeRecord[]) => records.map((record) => record.after);
    const a = await generate({ count: 500, seed: 7, batch_records: 64 });
    const b = await generate({ count: 500, seed: 7, batch_records: 1000 });
    const c = await generate({ count: 500, seed: 8 });
    assert.deepEqual(rows(a), rows(b));
    assert.notDeepEqual(rows(a), rows(c));
    assert.ok(new Set(a.map((record) => (record.after!.amount as Decimal).text)).size > 400, 'amounts vary');
  });

  test('keys: ids cycle, the first appearance is an insert and later ones are updates of the same customer', async () => {
    const records = await generate({ count: 30, keys: 10 });
    assert.deepEqual(records.map((record) => record.after!.id), [...Array(3)].flatMap(() => Array.from({ length: 10 }, (_, index) => index + 1)));
    assert.deepEqual(records.map((record) => record.op), [...Array(10).fill('insert'), ...Array(20).fill('update')]);
    assert.equal(records[3]!.after!.customer, records[13]!.after!.customer);
    assert.ok(records.slice(0, 10).every((record) => record.after!.status === 'new'));
    assert.ok(records.slice(10).every((record) => record.after!.status !== 'new'));
  });

  test('invalid_ratio sets a share of records apart with a null email, a malformed email or a negative amount', async () => {
    const defects = (records: ChangeRecord[]) => {
      const found = { nullEmail: 0, malformedEmail: 0, negativeAmount: 0 };
      for (const { after: row } of records) {
        if (row!.email === null) found.nullEmail++;
        else if (!(row!.email as string).includes('@')) found.malformedEmail++;
        if ((row!.amount as Decimal).text.startsWith('-')) found.negativeAmount++;
      }
      return found;
    };
    assert.deepEqual(defects(await generate({ count: 2000 })), { nullEmail: 0, malformedEmail: 0, negativeAmount: 0 });
    const found = defects(await generate({ count: 3000, invalid_ratio: 0.3 }));
    const total = found.nullEmail + found.malformedEmail + found.negativeAmount;
    assert.ok(total > 750 && total < 1050, `about 900 defects expected, found ${total}`);
    assert.ok(Object.values(found).every((count) => count > 200), JSON.stringify(found));
  });

  test('a restarted bounded generator resumes after the acknowledged prefix and produces count in total', async () => {
    const shared = context();
    const first = create({ count: 50, batch_records: 10, seed: 3 });
    await first.connect(shared);
    const early = [(await first.read())!, (await first.read())!, (await first.read())!];
    early[1]!.ack();
    early[0]!.ack();
    early[2]!.ack(4);
    await first.close();
    const second = create({ count: 50, batch_records: 10, seed: 3 });
    await second.connect(shared);
    const rest = await readAll(second);
    for (const batch of rest) batch.ack();
    await second.close();
    const produced = [...early[0]!.records, ...early[1]!.records, ...early[2]!.records.slice(0, 4), ...rest.flatMap((batch) => batch.records)];
    assert.equal(produced.length, 50);
    assert.deepEqual(produced.map((record) => record.source.position), Array.from({ length: 50 }, (_, index) => `generate:${index}`));
    assert.deepEqual(produced.map((record) => record.after), (await generate({ count: 50, seed: 3 })).map((record) => record.after));
  });

  test('rate: 200 records at 1000/s take about 200 ms, in small steady batches', async () => {
    const source = create({ count: 200, rate: 1000 });
    await source.connect(context());
    const started = performance.now();
    const batches = await readAll(source);
    const elapsed = performance.now() - started;
    await source.close();
    assert.equal(batches.reduce((sum, batch) => sum + batch.records.length, 0), 200);
    assert.ok(elapsed >= 150 && elapsed < 2000, `took ${elapsed} ms`);
    assert.ok(Math.max(...batches.map((batch) => batch.records.length)) <= 10);
  });

  test('an unbounded generator stops promptly when the signal aborts', async () => {
    const controller = new AbortController();
    const source = create({ rate: 1 });
    assert.equal(source.bounded, false);
    await source.connect(context(controller.signal));
    assert.equal((await source.read())!.records.length, 1);
    const pending = source.read();
    const started = performance.now();
    setTimeout(() => controller.abort(), 20);
    assert.equal(await pending, null);
    assert.ok(performance.now() - started < 500);
    await source.close();
  });

  test('an unbounded generator without a rate keeps producing full batches', async () => {
    const source = create({ batch_records: 100, keys: 5 });
    await source.connect(context());
    for (let i = 0; i < 50; i++) assert.equal((await source.read())!.records.length, 100);
    assert.equal(source.progress!().done, 5000);
    await source.close();
  });
});
