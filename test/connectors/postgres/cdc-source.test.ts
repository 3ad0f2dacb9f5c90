import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import { PostgresCdcSource } from '../../../connectors/postgres/cdc-source.js';
import type { PostgresCdcConfig } from '../../../connectors/postgres/cdc-config.js';
import { compareVersions, versionOf } from '../../../connectors/postgres/version.js';
import type { CheckpointStore } from '../../../runtime/checkpoint-store.js';
import { Decimal } from '../../../runtime/decimal.js';
import type { ChangeRecord } from '../../../runtime/record.js';
import type { SourceBatch, SourceContext } from '../../../runtime/source.js';
import { usePostgres, uniqueName, type TestDatabase } from '../../support/postgres.js';

const postgres = usePostgres();

/** A checkpoint store in memory that survives source restarts within a test. */
function memoryCheckpoints(): CheckpointStore & { values: Map<string, unknown> } {
  const values = new Map<string, unknown>();
  return {
    values,
    load: async (key) => values.get(key),
    save: async (key, value) => {
      values.set(key, structuredClone(value));
    },
    close: async () => undefined,
  };
}

function sourceContext(checkpoints: CheckpointStore, signal = new AbortController().signal): SourceContext {
  return { pipeline: 'test', name: 'orders_cdc', logger: pino({ level: 'silent' }), checkpoints, signal };
}

/** A database with tables, a fresh slot and publication name, and a source config for it; the slot is dropped after the test. */
async function setUp(t: TestContext, ddl: string[], tables: string[], options: Partial<PostgresCdcConfig> = {}) {
  const database = await postgres.database('cdc');
  for (const statement of ddl) await database.pool.query(statement);
  const slot = uniqueName('slot');
  t.after(async () => {
    await database.pool.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  });
  const config: PostgresCdcConfig = {
    url: database.url,
    tables,
    publication: uniqueName('pub'),
    slot,
    heartbeat: '200ms',
    ...options,
  };
  return { database, config, slot };
}

/** Reads batches (acknowledging each unless told otherwise) until `count` records came, within `timeoutMs`. */
async function readRecords(
  source: PostgresCdcSource,
  count: number,
  options: { ack?: boolean; timeoutMs?: number } = {},
): Promise<{ records: ChangeRecord[]; batches: SourceBatch[] }> {
  const records: ChangeRecord[] = [];
  const batches: SourceBatch[] = [];
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  while (records.length < count) {
    const timeLeft = deadline - Date.now();
    assert.ok(timeLeft > 0, `expected ${count} records, got ${records.length}`);
    const batch = await Promise.race([
      source.read(),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), timeLeft).unref()),
    ]);
    assert.ok(batch, `expected ${count} records within the time limit, got ${records.length}`);
    batches.push(batch);
    records.push(...batch.records);
    if (options.ack !== false) batch.ack();
  }
  return { records, batches };
}

async function confirmedFlush(database: TestDatabase, slot: string): Promise<string> {
  const result = await database.pool.query<{ lsn: string }>(
    'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
  return result.rows[0]!.lsn;
}

function lsnValue(text: string): bigint {
  const [high, low] = text.split('/');
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

/** The commit LSN a record carries, as a number. */
function lsnOf(record: ChangeRecord): bigint {
  return lsnValue(record.source.lsn as string);
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What a newer-wins sink (`version_from: source.version`) ends with: per key, the record with the newest version. */
function newerWins(records: readonly ChangeRecord[]): Map<number, ChangeRecord> {
  const rows = new Map<number, ChangeRecord>();
  for (const record of records) {
    const id = record.key!.id as number;
    const held = rows.get(id);
    if (held === undefined || compareVersions(versionOf(record.source.version)!, versionOf(held.source.version)!) > 0) rows.set(id, record);
  }
  return rows;
}

describe('postgres_cdc source', () => {
  test('snapshot rows come first as reads, then changes made after the slot exists, each exactly once', async (t) => {
    const { database, config } = await setUp(
      t,
      [
        'CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL, total numeric(12,2))',
        `INSERT INTO orders SELECT g, 'new', g * 1.10 FROM generate_series(1, 25) AS g`,
      ],
      ['public.orders'],
      { snapshot_chunk_rows: 7, batch_records: 5 },
    );
    const source = new PostgresCdcSource(config, 'orders_cdc');
    await source.connect(sourceContext(memoryCheckpoints()));
    try {
      // Changes after the slot exists: the snapshot must not see them, the stream must deliver them once.
      await database.pool.query(`INSERT INTO orders VALUES (26, 'new', 26.30)`);
      await database.pool.query(`UPDATE orders SET status = 'paid' WHERE id = 3`);
      await database.pool.query('DELETE FROM orders WHERE id = 4');
      const { records } = await readRecords(source, 28);
      const reads = records.slice(0, 25);
      assert.ok(reads.every((record) => record.op === 'read' && record.source.snapshot === true));
      assert.deepEqual(
        reads.map((record) => record.key),
        Array.from({ length: 25 }, (_, index) => ({ id: index + 1 })),
      );
      assert.deepEqual(reads[2]!.after, { id: 3, status: 'new', total: new Decimal('3.30') });
      assert.deepEqual(
        records.slice(25).map((record) => [record.op, record.key, record.after]),
        [
          ['insert', { id: 26 }, { id: 26, status: 'new', total: new Decimal('26.30') }],
          ['update', { id: 3 }, { id: 3, status: 'paid', total: new Decimal('3.30') }],
          ['delete', { id: 4 }, null],
        ],
      );
      const insert = records[25]!;
      assert.equal(insert.source.table, 'public.orders');
      assert.match(insert.source.lsn as string, /^[0-9A-F]+\/[0-9A-F]+$/);
      assert.equal(insert.source.position, insert.source.lsn);
      assert.equal(typeof insert.source.xid, 'number');
      assert.ok(insert.sourceTimeMs !== null && Math.abs(insert.sourceTimeMs - Date.now()) < 60_000);
      // Each change's commit LSN is later than the snapshot's position.
      assert.ok(lsnOf(insert) > lsnOf(reads[0]!));
      assert.deepEqual(source.progress(), { done: 25, total: 25, unit: 'rows' });
    } finally {
      await source.close();
    }
  });
  test('exact values: 19-digit integers, 26.30, jsonb with big integers, bytea, microseconds, arrays', async (t) => {
    const { database, config } = await setUp(
      t,
      [
        `CREATE TABLE exact (id bigint PRIMARY KEY, small int, amount numeric, doc jsonb, raw bytea, at timestamptz,
           at_ms timestamptz, day date, flag boolean, ratio float8, tags text[], amounts numeric[], ids bigint[])`,
        `INSERT INTO exact VALUES (9007199254740993, 7, 26.30, '{"big": 12345678901234567890, "price": 26.30}', '\\xdeadbeef',
           '2024-05-01 10:00:00.123456+00', '2024-05-01 10:00:00.5+02', '2024-05-01', true, 0.1,
           '{a,"b c",NULL}', '{1.10,2}', '{9223372036854775807,1}')`,
      ],
      ['exact'],
    );
    const source = new PostgresCdcSource(config, 'orders_cdc');
    await source.connect(sourceContext(memoryCheckpoints()));
    try {
      await database.pool.query(
        `INSERT INTO exact SELECT id + 1, small, amount, doc, raw, at, at_ms, day, flag, ratio, tags, amounts, ids FROM exact`,
      );
      const { records } = await readRecords(source, 2);
      const expected = (id: bigint) => ({
        id,
        small: 7,
        amount: new Decimal('26.30'),
        doc: { big: 12345678901234567890n, price: new Decimal('26.30') },
        raw: new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
        at: '2024-05-01T10:00:00.123456Z',
        at_ms: new Date('2024-05-01T08:00:00.500Z'),
        day: '2024-05-01',
        flag: true,
        ratio: 0.1,
        tags: ['a', 'b c', null],
        amounts: [new Decimal('1.10'), new Decimal('2')],
        ids: [9223372036854775807n, 1],
      });
      // The snapshot and the stream decode the same way.
      assert.deepEqual(records[0]!.after, expected(9007199254740993n));
      assert.deepEqual(records[1]!.after, expected(9007199254740994n));
      assert.equal(records[1]!.op, 'insert');
    } finally {
      await source.close();
    }
  });

  test('an added column appears in later records; unchanged TOAST values are left out, never nulled', async (t) => {
    const { database, config } = await setUp(
      t,
      ['CREATE TABLE docs (id int PRIMARY KEY, title text, body text)'],
      ['public.docs'],
      { snapshot: 'never' },
    );
    const body = Array.from({ length: 4000 }, (_, index) => `line ${index} ${Math.sin(index)}`).join('\n');
    const source = new PostgresCdcSource(config, 'orders_cdc');
    await source.connect(sourceContext(memoryCheckpoints()));
    try {
      await database.pool.query('INSERT INTO docs VALUES (1, $1, $2)', ['first', body]);
      await database.pool.query(`UPDATE docs SET title = 'renamed' WHERE id = 1`);
      await database.pool.query('ALTER TABLE docs ADD COLUMN pages int');
      await database.pool.query('UPDATE docs SET pages = 12 WHERE id = 1');
      await database.pool.query(`INSERT INTO docs VALUES (2, 'second', 'short', 3)`);
      const { records } = await readRecords(source, 4);
      assert.deepEqual(records[0]!.after, { id: 1, title: 'first', body });
      // The body was stored out of line and not touched: pgoutput does not send it, and the record leaves it out.
      assert.deepEqual(records[1]!.after, { id: 1, title: 'renamed' });
      assert.deepEqual(records[2]!.after, { id: 1, title: 'renamed', pages: 12 });
      assert.deepEqual(records[3]!.after, { id: 2, title: 'second', body: 'short', pages: 3 });
    } finally {
      await source.close();
    }
  });

  test('REPLICA IDENTITY FULL gives before images; a key change is a delete then an insert; TRUNCATE goes to the DLQ', async (t) => {
    const { database, config } = await setUp(
      t,
      ['CREATE TABLE items (sku text PRIMARY KEY, qty int)', 'ALTER TABLE items REPLICA IDENTITY FULL', `INSERT INTO items VALUES ('a', 1)`],
      ['items'],
      { snapshot: 'never' },
    );
    const source = new PostgresCdcSource(config, 'orders_cdc');
    await source.connect(sourceContext(memoryCheckpoints()));
    try {
      await database.pool.query(`UPDATE items SET qty = 2 WHERE sku = 'a'`);
      await database.pool.query(`UPDATE items SET sku = 'b' WHERE sku = 'a'`);
      await database.pool.query(`DELETE FROM items WHERE sku = 'b'`);
      await database.pool.query(`INSERT INTO items VALUES ('c', 5)`);
      await database.pool.query('TRUNCATE items');
      await database.pool.query(`INSERT INTO items VALUES ('d', 6)`);
      const { records, batches } = await readRecords(source, 6);
      assert.deepEqual(
        records.map((record) => [record.op, record.key, record.before, record.after]),
        [
          ['update', { sku: 'a' }, { sku: 'a', qty: 1 }, { sku: 'a', qty: 2 }],
          ['delete', { sku: 'a' }, { sku: 'a', qty: 2 }, null],
          ['insert', { sku: 'b' }, null, { sku: 'b', qty: 2 }],
          ['delete', { sku: 'b' }, { sku: 'b', qty: 2 }, null],
          ['insert', { sku: 'c' }, null, { sku: 'c', qty: 5 }],
          ['insert', { sku: 'd' }, null, { sku: 'd', qty: 6 }],
        ],
      );
      const letters = batches.flatMap((batch) => batch.rejected ?? []);
      assert.equal(letters.length, 1);
      assert.match(letters[0]!.reason, /TRUNCATE of public\.items is not replicated/);
      assert.equal(letters[0]!.record?.source.truncate, true);
    } finally {
      await source.close();
    }
  });

  test('a key change keeps unchanged TOAST values from the old row (REPLICA IDENTITY FULL); without it the move goes to the DLQ whole', async (t) => {
    const { database, config } = await setUp(
      t,
      [
        'CREATE TABLE docs_full (id int PRIMARY KEY, title text, body text)',
        'ALTER TABLE docs_full REPLICA IDENTITY FULL',
        'CREATE TABLE docs_key (id int PRIMARY KEY, title text, body text)',
      ],
      ['docs_full', 'docs_key'],
      { snapshot: 'never' },
    );
    const body = Array.from({ length: 4000 }, (_, index) => `line ${index} ${Math.sin(index)}`).join('\n');
    const source = new PostgresCdcSource(config, 'orders_cdc');
    await source.connect(sourceContext(memoryCheckpoints()));
    try {
      await database.pool.query(`INSERT INTO docs_full VALUES (1, 'full', $1)`, [body]);
      await database.pool.query(`INSERT INTO docs_key VALUES (1, 'key', $1)`, [body]);
      await database.pool.query('UPDATE docs_full SET id = 3 WHERE id = 1');
      await database.pool.query('UPDATE docs_key SET id = 3 WHERE id = 1');
      await database.pool.query(`INSERT INTO docs_key VALUES (4, 'after', 'short')`);
      const { records, batches } = await readRecords(source, 5);
      assert.deepEqual(
        records.map((record) => [record.source.table, record.op, record.key, record.after]),
        [
          ['public.docs_full', 'insert', { id: 1 }, { id: 1, title: 'full', body }],
          ['public.docs_key', 'insert', { id: 1 }, { id: 1, title: 'key', body }],
          ['public.docs_full', 'delete', { id: 1 }, null],
          // The body was not touched by the move: pgoutput leaves it out of the new row, the old row holds it.
          ['public.docs_full', 'insert', { id: 3 }, { id: 3, title: 'full', body }],
          ['public.docs_key', 'insert', { id: 4 }, { id: 4, title: 'after', body: 'short' }],
        ],
      );
      const letters = batches.flatMap((batch) => batch.rejected ?? []);
      assert.equal(letters.length, 1);
      assert.match(letters[0]!.reason, /moved a row of public\.docs_key from key \{"id":1\} to \{"id":3\}.*body.*REPLICA IDENTITY FULL/);
      const moved = letters[0]!.record!;
      assert.deepEqual([moved.op, moved.key, moved.before, moved.after], ['update', { id: 3 }, { id: 1 }, { id: 3, title: 'key' }]);
    } finally {
      await source.close();
    }
  });

  test('while only tables it does not capture are written, the heartbeat still moves the slot to the WAL end', async (t) => {
    const { database, config, slot } = await setUp(
      t,
      ['CREATE TABLE events (id int PRIMARY KEY)', 'CREATE TABLE noise (id int PRIMARY KEY, filler text)'],
      ['events'],
      { snapshot: 'never' },
    );
    const controller = new AbortController();
    const source = new PostgresCdcSource(config, 'orders_cdc');
    await source.connect(sourceContext(memoryCheckpoints(), controller.signal));
    // The engine always has a read waiting; the stream starts with the first.
    const reading = source.read();
    try {
      const start = lsnValue(await confirmedFlush(database, slot));
      await database.pool.query(`INSERT INTO noise SELECT g, repeat('x', 200) FROM generate_series(1, 5000) AS g`);
      const { rows } = await database.pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      const written = lsnValue(rows[0]!.lsn);
      assert.ok(written > start);
      await eventually(
        async () => lsnValue(await confirmedFlush(database, slot)) >= written,
        'the slot to confirm past WAL it had nothing to send for',
      );
    } finally {
      controller.abort();
      await reading.catch(() => undefined);
      await source.close();
    }
  });

  test('a restart resumes after the acknowledged prefix: the slot confirms no more than what was acknowledged', async (t) => {
    const { database, config, slot } = await setUp(t, ['CREATE TABLE events (id int PRIMARY KEY)'], ['events'], {
      snapshot: 'never',
      batch_records: 1,
    });
    const checkpoints = memoryCheckpoints();
    const first = new PostgresCdcSource(config, 'orders_cdc');
    await first.connect(sourceContext(checkpoints));
    const start = lsnValue(await confirmedFlush(database, slot));
    for (let id = 1; id <= 6; id++) await database.pool.query('INSERT INTO events VALUES ($1)', [id]);
    const { records, batches } = await readRecords(first, 6, { ack: false });
    assert.deepEqual(records.map((record) => record.key), [1, 2, 3, 4, 5, 6].map((id) => ({ id })));
    // Acknowledge 1, 2 and 4: only the prefix 1–2 may be confirmed.
    batches[0]!.ack();
    batches[1]!.ack();
    batches[3]!.ack();
    await eventually(async () => lsnValue(await confirmedFlush(database, slot)) > start, 'the slot to confirm the prefix');
    await first.close();
    const confirmed = lsnValue(await confirmedFlush(database, slot));
    assert.ok(confirmed >= lsnOf(records[1]!), 'the second transaction is confirmed');
    assert.ok(confirmed < lsnOf(records[2]!), 'the third transaction is not confirmed');

    const second = new PostgresCdcSource(config, 'orders_cdc');
    await second.connect(sourceContext(checkpoints));
    try {
      await database.pool.query('INSERT INTO events VALUES (7)');
      const again = await readRecords(second, 5);
      assert.deepEqual(again.records.map((record) => record.key), [3, 4, 5, 6, 7].map((id) => ({ id })));
      // Everything acknowledged now: the heartbeat confirms up to the last transaction.
      await eventually(
        async () => lsnValue(await confirmedFlush(database, slot)) >= lsnOf(again.records[4]!),
        'the slot to confirm every acknowledged change',
      );
    } finally {
      await second.close();
    }
  });

  test('a restart in the middle of the initial snapshot takes a fresh one and replays the slot: deletes in between arrive', async (t) => {
    const { database, config, slot } = await setUp(
      t,
      ['CREATE TABLE big (id int PRIMARY KEY, v text)', `INSERT INTO big SELECT g, 'v' || g FROM generate_series(1, 40) AS g`, 'ANALYZE big'],
      ['big'],
      { snapshot_chunk_rows: 10, batch_records: 10 },
    );
    const checkpoints = memoryCheckpoints();
    const first = new PostgresCdcSource(config, 'orders_cdc');
    await first.connect(sourceContext(checkpoints));
    const partial = await readRecords(first, 20);
    assert.deepEqual(first.progress(), { done: 20, total: 40, unit: 'rows' });
    await first.close();
    // Row 5 went to the target with the first 20; only the slot's stream can say it is gone.
    await database.pool.query(`UPDATE big SET v = 'changed' WHERE id = 35`);
    await database.pool.query(`DELETE FROM big WHERE id = 5`);

    const second = new PostgresCdcSource(config, 'orders_cdc');
    await second.connect(sourceContext(checkpoints));
    try {
      await database.pool.query(`INSERT INTO big VALUES (41, 'late')`);
      const { records } = await readRecords(second, 42);
      assert.equal(partial.records.length, 20);
      assert.ok(partial.records.some((record) => record.key?.id === 5));
      const reads = records.slice(0, 39);
      assert.ok(reads.every((record) => record.op === 'read'));
      assert.ok(!reads.some((record) => record.key?.id === 5));
      assert.deepEqual(reads[33]!.after, { id: 35, v: 'changed' });
      // The replay since the slot's consistent point: older than the fresh snapshot, so newer-wins keeps the snapshot's rows.
      assert.deepEqual([records[39]!.op, records[39]!.after], ['update', { id: 35, v: 'changed' }]);
      assert.deepEqual([records[40]!.op, records[40]!.key], ['delete', { id: 5 }]);
      assert.ok(lsnOf(records[40]!) < lsnOf(reads[0]!));
      assert.deepEqual([records[41]!.op, records[41]!.after], ['insert', { id: 41, v: 'late' }]);
      await eventually(async () => checkpoints.values.get('snapshot') !== undefined && (checkpoints.values.get('snapshot') as { done: boolean }).done, 'the snapshot marker');
      // The insert's commit may arrive after its record was read; the heartbeat confirms it then.
      await eventually(async () => lsnValue(await confirmedFlush(database, slot)) > lsnOf(records[41]!), 'the slot to confirm the late insert');
    } finally {
      await second.close();
    }
    // A third start streams only: the snapshot completed.
    const third = new PostgresCdcSource(config, 'orders_cdc');
    await third.connect(sourceContext(checkpoints));
    try {
      await database.pool.query(`DELETE FROM big WHERE id = 1`);
      const { records } = await readRecords(third, 1);
      assert.deepEqual([records[0]!.op, records[0]!.key], ['delete', { id: 1 }]);
    } finally {
      await third.close();
    }
  });
  test('a fresh snapshot of an existing slot misses no transaction that committed while it began', async (t) => {
    const { database, config } = await setUp(
      t,
      ['CREATE TABLE accounts (id int PRIMARY KEY, v text)', `INSERT INTO accounts SELECT g, 'v' || g FROM generate_series(1, 5) AS g`],
      ['accounts'],
      { snapshot: 'always' },
    );
    const first = new PostgresCdcSource(config, 'orders_cdc');
    await first.connect(sourceContext(memoryCheckpoints()));
    await readRecords(first, 5);
    await first.close();

    // A commit whose WAL record is written but which is not yet visible: with a synchronous standby named that
    // never connects, the committing session waits after writing its commit record until it is cancelled.
    const admin = postgres.admin;
    const setStandby = async (names: string | null): Promise<void> => {
      await admin.query(names === null ? 'ALTER SYSTEM RESET synchronous_standby_names' : `ALTER SYSTEM SET synchronous_standby_names = '${names}'`);
      await admin.query('SELECT pg_reload_conf()');
    };
    t.after(() => setStandby(null));
    await setStandby('sluice_test_absent_standby');
    const writer = new pg.Client({ connectionString: database.url });
    await writer.connect();
    t.after(() => writer.end());
    const writerPid = (await writer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const waitEvent = async (): Promise<string | null> =>
      (await admin.query<{ wait_event: string | null }>('SELECT wait_event FROM pg_stat_activity WHERE pid = $1', [writerPid])).rows[0]?.wait_event ?? null;
    // The reload reaches the server's processes a moment later: until a commit waits, try again with a new value.
    let committing: Promise<unknown> | undefined;
    for (let attempt = 1; committing === undefined; attempt++) {
      assert.ok(attempt <= 50, 'expected a commit to wait for the synchronous standby');
      const update = writer.query(`UPDATE accounts SET v = 'committed while the snapshot began ${attempt}' WHERE id = 1`);
      const waits = await Promise.race([
        update.then(() => false),
        eventually(async () => (await waitEvent()) === 'SyncRep', 'the commit to wait', 200).then(() => true, () => false),
      ]);
      if (waits) committing = update.catch(() => undefined);
      else await update;
    }

    const second = new PostgresCdcSource(config, 'orders_cdc');
    const connected = second.connect(sourceContext(memoryCheckpoints()));
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await admin.query('SELECT pg_cancel_backend($1)', [writerPid]);
      await committing;
      await setStandby(null);
      await connected;
      const { records } = await readRecords(second, 6);
      const expected = await database.pool.query<{ id: number; v: string }>('SELECT id, v FROM accounts ORDER BY id');
      const landed = newerWins(records);
      assert.deepEqual(
        [...landed.keys()].sort().map((id) => landed.get(id)!.after),
        expected.rows.map((row) => ({ id: row.id, v: row.v })),
      );
    } finally {
      await connected.catch(() => undefined);
      await second.close();
    }
  });
  test('a fresh snapshot of an existing slot with no replication slot free for it fails with a clear error', async (t) => {
    const { database, config } = await setUp(t, ['CREATE TABLE accounts (id int PRIMARY KEY, v text)'], ['accounts'], { snapshot: 'always' });
    const first = new PostgresCdcSource(config, 'orders_cdc');
    await first.connect(sourceContext(memoryCheckpoints()));
    await first.close();
    const { rows } = await database.pool.query<{ free: number }>(
      `SELECT current_setting('max_replication_slots')::int - count(*)::int AS free FROM pg_replication_slots`,
    );
    const fillers = Array.from({ length: rows[0]!.free }, () => uniqueName('filler'));
    for (const slot of fillers) await database.pool.query('SELECT pg_create_physical_replication_slot($1)', [slot]);
    try {
      const second = new PostgresCdcSource(config, 'orders_cdc');
      const error = await second.connect(sourceContext(memoryCheckpoints())).then(
        () => assert.fail('expected the connect to fail'),
        (failure: unknown) => failure as { code: string; message: string },
      );
      assert.equal(error.code, 'PG_NO_FREE_REPLICATION_SLOT');
      assert.match(error.message, new RegExp(`fresh snapshot of "${config.slot}".*max_replication_slots`));
    } finally {
      for (const slot of fillers) await database.pool.query('SELECT pg_drop_replication_slot($1)', [slot]);
    }
  });
});
