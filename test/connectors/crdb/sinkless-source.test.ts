import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Hlc } from '../../../connectors/crdb/hlc.js';
import {
  CrdbSinklessSource,
  type CrdbSinklessSourceOptions,
} from '../../../connectors/crdb/sinkless-changefeed-source.js';
import { checkCrdbSinkless } from '../../../connectors/crdb/sinkless-check.js';
import { crdbSinklessSource } from '../../../connectors/crdb/sinkless-source.js';
import { sinklessStatement } from '../../../connectors/crdb/sinkless-statement.js';
import { freePort } from '../../../cli/embedded-postgres.js';
import type { SourceBatch } from '../../../runtime/source.js';
import { CrdbSqlPeer, type PeerRow } from '../../support/crdb-sql-peer.js';
import { MemoryCheckpoints, sourceContext } from '../../support/crdb-source-context.js';
import { loadChangefeedVectors } from './changefeed-vectors.js';

const vectors = loadChangefeedVectors();
/** Wrapped values with `updated` (employees 1, 1 again, 2) as sinkless rows of table `employees`. */
const employeeRows: PeerRow[] = vectors
  .filter(
    (vector) =>
      vector.envelope === 'wrapped' &&
      vector.value_raw.includes('"updated"') &&
      vector.value_raw.includes('"office"'),
  )
  .map((vector) => ({ table: 'employees', key: JSON.stringify(vector.key), value: vector.value_raw }));
/** The recorded sinkless rows: two resolved rows and one change of `cdc_test`. */
const [resolvedA, resolvedB] = vectors
  .filter((vector) => vector.sinkless_row?.table === null)
  .map((vector) => ({ table: null, key: null, value: vector.value_raw }));
const cdcTestRow = vectors.find((vector) => vector.sinkless_row?.table === 'cdc_test')!;
const RESOLVED_A = '1590611959605806000.0000000000';

let peer: CrdbSqlPeer;
before(async () => {
  peer = await CrdbSqlPeer.start();
});
const open: CrdbSinklessSource[] = [];
after(async () => {
  for (const source of open) await source.close();
  await peer.stop();
});

function feedOptions(overrides: Partial<CrdbSinklessSourceOptions> = {}): CrdbSinklessSourceOptions {
  return {
    url: peer.url(),
    feed: {
      tables: ['employees', 'cdc_test'],
      envelope: 'wrapped',
      resolvedMs: 10_000,
      updated: true,
      diff: false,
      options: {},
    },
    keyColumns: { employees: ['id'], cdc_test: ['a'] },
    batchRecords: 100,
    maxBufferedRows: 1_000,
    connectTimeoutMs: 5_000,
    ...overrides,
  };
}

async function start(
  overrides: Partial<CrdbSinklessSourceOptions> = {},
  checkpoints = new MemoryCheckpoints(),
) {
  const source = new CrdbSinklessSource(feedOptions(overrides));
  const { context, controller } = sourceContext('crdb_orders', checkpoints);
  const before = peer.changefeeds.length;
  await source.connect(context);
  open.push(source);
  const statement = await peer.waitForChangefeed(before + 1);
  return { source, controller, checkpoints, statement };
}

async function readWithin(source: CrdbSinklessSource, ms = 2_000): Promise<SourceBatch> {
  const batch = await Promise.race([source.read(), sleep(ms, 'timeout' as const, { ref: false })]);
  assert.ok(batch !== 'timeout', `no batch within ${ms} ms`);
  assert.ok(batch !== null, 'read() ended');
  return batch;
}

void describe('crdb_sinkless source', () => {
  void test('the statement quotes every table part and option value', () => {
    const statement = sinklessStatement({
      tables: ['orders', 'shop.public.Line"Items'],
      envelope: 'wrapped',
      resolvedMs: 10_000,
      updated: true,
      diff: true,
      options: {
        initial_scan: 'no',
        mvcc_timestamp: true,
        split_column_families: false,
        min_checkpoint_frequency: "1s'; DROP TABLE orders; --",
      },
      cursor: Hlc.parse(RESOLVED_A),
    });
    assert.equal(
      statement,
      `CREATE CHANGEFEED FOR TABLE "orders", "shop"."public"."Line""Items" WITH envelope = 'wrapped', format = 'json', updated, diff, resolved = '10s', initial_scan = 'no', mvcc_timestamp, min_checkpoint_frequency = '1s''; DROP TABLE orders; --', cursor = '${RESOLVED_A}'`,
    );
    assert.throws(
      () =>
        sinklessStatement({
          tables: ['t'],
          envelope: 'row',
          resolvedMs: 0,
          updated: false,
          diff: false,
          options: { 'x = 1, y': true },
        }),
      {
        code: 'CONFIG_INVALID',
      },
    );
    assert.throws(
      () =>
        sinklessStatement({
          tables: ['t'],
          envelope: 'row',
          resolvedMs: 0,
          updated: false,
          diff: false,
          options: { cursor: 'now' },
        }),
      /set by the source itself/,
    );
    assert.throws(
      () =>
        sinklessStatement({
          tables: ['a..b'],
          envelope: 'row',
          resolvedMs: 500,
          updated: false,
          diff: false,
          options: {},
        }),
      /expected a table name/,
    );
  });

  void test('runs the changefeed on its connection and hands out rows in batches that end at a resolved row', async () => {
    const { source, statement, checkpoints } = await start();
    assert.equal(
      statement,
      `CREATE CHANGEFEED FOR TABLE "employees", "cdc_test" WITH envelope = 'wrapped', format = 'json', updated, resolved = '10s'`,
    );
    peer.feed([
      ...employeeRows,
      { table: 'cdc_test', key: JSON.stringify(cdcTestRow.key), value: cdcTestRow.value_raw },
      resolvedA!,
    ]);
    const first = await readWithin(source);
    assert.deepEqual(
      first.records.map((record) => [
        record.source.table,
        record.key,
        record.after,
        record.source.hlc ?? null,
      ]),
      [
        [
          'employees',
          { id: 1 },
          { id: 1, name: 'Terry', office: 'new york city' },
          '1701102296662969433.0000000000',
        ],
        [
          'employees',
          { id: 1 },
          { id: 1, name: 'Terri', office: 'new york city' },
          '1701102311425045162.0000000000',
        ],
        [
          'employees',
          { id: 2 },
          { id: 2, name: 'Alex', office: 'los angeles' },
          '1701102305519323705.0000000000',
        ],
        ['cdc_test', { a: 0 }, { a: 0 }, null],
      ],
    );
    assert.equal(first.watermark, RESOLVED_A);
    assert.equal(first.records[0]!.source.position, 'start+1');
    assert.equal(checkpoints.saves, 0);
    first.ack();
    await sleep(20);
    assert.deepEqual(checkpoints.values.get('resolved'), { resolved: RESOLVED_A });
  });

  void test('an undecodable row goes to the DLQ with its raw text and the rest proceeds', async () => {
    const { source } = await start();
    peer.feed([
      employeeRows[0]!,
      { table: 'employees', key: '[3]', value: '{"after": 42}' },
      employeeRows[2]!,
      resolvedA!,
    ]);
    const batch = await readWithin(source);
    assert.deepEqual(
      batch.records.map((record) => record.after?.name),
      ['Terry', 'Alex'],
    );
    assert.equal(batch.rejected?.length, 1);
    assert.equal(batch.rejected[0]!.source.position, 'start+2');
    assert.equal(batch.rejected[0]!.raw, 'table=employees key=[3] value={"after": 42}');
    assert.match(batch.rejected[0]!.reason, /expected/);
  });

  void test('after a lost connection a restart resumes with cursor = the last handled resolved timestamp', async () => {
    const checkpoints = new MemoryCheckpoints();
    const { source, controller } = await start({}, checkpoints);
    peer.feed([employeeRows[0]!, resolvedB!, employeeRows[1]!, resolvedA!, employeeRows[2]!]);
    const first = await readWithin(source);
    const second = await readWithin(source);
    const third = await readWithin(source);
    assert.deepEqual(
      [first.watermark, second.watermark, third.watermark],
      ['1549591174801796000.0000000000', RESOLVED_A, undefined],
    );
    first.ack();
    second.ack(0);
    third.ack();
    await sleep(20);
    assert.deepEqual(
      checkpoints.values.get('resolved'),
      { resolved: '1549591174801796000.0000000000' },
      'a partly handled batch holds the checkpoint back',
    );
    peer.dropConnections();
    await assert.rejects(source.read(), (error: Error & { code?: string; retriable?: boolean }) => {
      assert.equal(error.code, 'CRDB_CHANGEFEED_FAILED');
      assert.equal(error.retriable, true);
      return true;
    });
    await source.close();
    controller.abort();

    const { source: again, statement } = await start({}, checkpoints);
    assert.match(statement, /, cursor = '1549591174801796000\.0000000000'$/);
    assert.equal(again.statement, statement);
    peer.feed([employeeRows[1]!, resolvedA!]);
    const replay = await readWithin(again);
    assert.deepEqual(
      replay.records.map((record) => record.after?.name),
      ['Terri'],
    );
    assert.equal(replay.records[0]!.source.position, '1549591174801796000.0000000000+1');
    replay.ack();
    await again.close();
    assert.deepEqual(
      checkpoints.values.get('resolved'),
      { resolved: RESOLVED_A },
      'close waits for the checkpoint save',
    );
  });

  void test('a reader that stops reading holds the feed back: the connection is paused, nothing is lost', async () => {
    const total = 20_000;
    const { source } = await start({ maxBufferedRows: 500, batchRecords: 1_000 });
    const padding = 'x'.repeat(1_000);
    const rows = Array.from({ length: total }, (_, index): PeerRow => ({
      table: 'employees',
      key: `[${index}]`,
      value: `{"after": {"id": ${index}, "pad": "${padding}"}}`,
    }));
    peer.feed(rows);
    await sleep(500);
    const writtenWhileIdle = peer.written;
    assert.ok(
      writtenWhileIdle < total / 2,
      `the peer could write only part of the feed while nobody read (${writtenWhileIdle} of ${total})`,
    );
    await sleep(200);
    assert.equal(peer.written, writtenWhileIdle, 'and it stays held back');
    let received = 0;
    let largest = 0;
    let last = -1;
    const started = performance.now();
    while (received < total) {
      const batch = await readWithin(source, 5_000);
      largest = Math.max(largest, batch.records.length);
      for (const record of batch.records) {
        assert.equal(record.key!.id, last + 1);
        last++;
      }
      received += batch.records.length;
      batch.ack();
    }
    const seconds = (performance.now() - started) / 1_000;
    assert.equal(received, total);
    assert.ok(largest <= 1_000);
    console.log(
      `sinkless: ${total} rows of ~1 KB after a pause in ${seconds.toFixed(2)} s (${Math.round(total / seconds)} rows/s)`,
    );
  });

  void test('stopping the pipeline ends a waiting read with null', async () => {
    const { source, controller } = await start();
    const pending = source.read();
    await sleep(50);
    controller.abort();
    assert.equal(await pending, null);
  });

  void test('validate --connect reports reachability, kv.rangefeed.enabled and missing tables', async () => {
    peer.tables.add('"employees"');
    assert.deepEqual(await checkCrdbSinkless({ url: peer.url(), tables: ['employees'] }), []);
    peer.rangefeedEnabled = false;
    const issues = await checkCrdbSinkless({ url: peer.url(), tables: ['employees', 'shop.public.gone'] });
    peer.rangefeedEnabled = true;
    assert.deepEqual(
      issues.map((issue) => issue.path),
      [['url'], ['tables', 1]],
    );
    assert.match(issues[0]!.message, /kv\.rangefeed\.enabled to be true .* got false/);
    assert.match(issues[1]!.message, /cannot read table shop\.public\.gone .*does not exist/);
    const closed = await freePort();
    const unreachable = await checkCrdbSinkless({
      url: `postgresql://root:secret@127.0.0.1:${closed}/defaultdb`,
      tables: ['employees'],
    });
    assert.equal(unreachable.length, 1);
    assert.match(
      unreachable[0]!.message,
      new RegExp(`cannot connect to postgresql://root@127\\.0\\.0\\.1:${closed}/defaultdb`),
    );
    assert.doesNotMatch(unreachable[0]!.message, /secret/);
  });

  void test('the definition refuses envelope auto and reserved options', () => {
    const base = { url: 'postgresql://root@localhost:26257/defaultdb', tables: ['orders'] };
    assert.deepEqual(crdbSinklessSource.check!({ ...base }, { configDir: '.' }), []);
    assert.match(
      String(
        (
          crdbSinklessSource.check!({ ...base, envelope: 'auto' }, { configDir: '.' }) as {
            message: string;
          }[]
        )[0]?.message,
      ),
      /got auto/,
    );
    assert.match(
      String(
        (
          crdbSinklessSource.check!({ ...base, options: { resolved: '1s' } }, { configDir: '.' }) as {
            message: string;
          }[]
        )[0]?.message,
      ),
      /set by the source itself/,
    );
  });
});
