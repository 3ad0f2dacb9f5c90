import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import pino from 'pino';
import { Decimal } from '../../../runtime/decimal.js';
import { deadLetterRow } from '../../../runtime/dead-letter.js';
import { REMOVED_AFTER_ROWS } from '../../../connectors/postgres/column-removal-watch.js';
import { DIRECT_COPY_THRESHOLD } from '../../../connectors/postgres/table-writer.js';
import type { SluiceError } from '../../../runtime/errors.js';
import { usePostgres } from '../../support/postgres.js';
import { change, connectedSink } from './sink-helpers.js';

const pg = usePostgres();

describe('postgres sink: append and upsert', () => {
  test('append inserts every record, including repeated keys', async () => {
    const db = await pg.database();
    const sink = await connectedSink({
      url: db.url,
      table: 'public.events',
      mode: 'append',
      create_table: true,
    });
    try {
      await sink.write([
        change('insert', null, { id: 1, what: 'a' }),
        change('insert', null, { id: 1, what: 'b' }),
      ]);
      await sink.write([change('update', null, { id: 2, what: 'c' })]);
      const { rows } = await db.pool.query('SELECT id::text, what FROM events ORDER BY what');
      assert.deepEqual(rows, [
        { id: '1', what: 'a' },
        { id: '1', what: 'b' },
        { id: '2', what: 'c' },
      ]);
    } finally {
      await sink.close();
    }
  });

  test('upsert inserts then updates by key, and repeating a batch changes nothing', async () => {
    const db = await pg.database();
    const sink = await connectedSink({ url: db.url, table: 'orders', create_table: true });
    try {
      const batch = [
        change('insert', { id: 1 }, { id: 1, status: 'new' }),
        change('insert', { id: 2 }, { id: 2, status: 'new' }),
      ];
      await sink.write(batch);
      await sink.write([change('update', { id: 1 }, { id: 1, status: 'paid' })]);
      await sink.write([change('update', { id: 1 }, { id: 1, status: 'paid' })]);
      const { rows } = await db.pool.query('SELECT id::int, status FROM orders ORDER BY id');
      assert.deepEqual(rows, [
        { id: 1, status: 'paid' },
        { id: 2, status: 'new' },
      ]);
    } finally {
      await sink.close();
    }
  });

  test('the last change per key in a batch wins, deletes included', async () => {
    const db = await pg.database();
    const sink = await connectedSink({ url: db.url, table: 'orders', create_table: true });
    try {
      await sink.write([
        change('insert', { id: 1 }, { id: 1, status: 'new' }),
        change('update', { id: 1 }, { id: 1, status: 'paid' }),
        change('insert', { id: 2 }, { id: 2, status: 'new' }),
        change('delete', { id: 2 }, null),
        change('delete', { id: 3 }, null),
        change('insert', { id: 3 }, { id: 3, status: 'back' }),
      ]);
      const { rows } = await db.pool.query('SELECT id::int, status FROM orders ORDER BY id');
      assert.deepEqual(rows, [
        { id: 1, status: 'paid' },
        { id: 3, status: 'back' },
      ]);
      assert.equal(sink.stats().changes, 3);
    } finally {
      await sink.close();
    }
  });

  test('an update that leaves out columns (an unchanged TOAST value) keeps what an earlier change in its batch wrote', async () => {
    const db = await pg.database();
    const sink = await connectedSink({ url: db.url, table: 'docs', create_table: true });
    const body = 'x'.repeat(5_000);
    try {
      await sink.write([change('insert', { id: 9 }, { id: 9, title: 'kept', body: 'old' })]);
      await sink.write([
        change('insert', { id: 1 }, { id: 1, title: 'draft', body }),
        change('update', { id: 1 }, { id: 1, title: 'final' }),
        change('update', { id: 9 }, { id: 9, title: 'renamed', body: 'new' }),
        change('update', { id: 9 }, { id: 9, title: 'again' }),
        change('insert', { id: 2 }, { id: 2, title: 'gone', body }),
        change('delete', { id: 2 }, null),
        change('insert', { id: 2 }, { id: 2, title: 'back' }),
      ]);
      const { rows } = await db.pool.query('SELECT id::int, title, length(body) AS body FROM docs ORDER BY id');
      assert.deepEqual(rows, [
        { id: 1, title: 'final', body: 5_000 },
        { id: 2, title: 'back', body: null },
        { id: 9, title: 'again', body: 3 },
      ]);
    } finally {
      await sink.close();
    }
  });

  test('upserts need a unique key on exactly the key columns: without one nothing is written, with any such index they run', async () => {
    const db = await pg.database();
    await db.pool.query('CREATE TABLE plain (id int, part int, title text)');
    await db.pool.query('CREATE TABLE partial (id int, part int, title text)');
    await db.pool.query('CREATE UNIQUE INDEX ON partial (id, part) WHERE id > 0');
    await db.pool.query('CREATE TABLE covered (id int, part int, title text)');
    await db.pool.query('CREATE UNIQUE INDEX ON covered (part, id) INCLUDE (title)');
    const rows = (count: number) =>
      Array.from({ length: count }, (_, index) =>
        change('insert', { id: index, part: 1 }, { id: index, part: 1, title: `t${index}` }),
      );
    for (const table of ['plain', 'partial']) {
      const sink = await connectedSink({ url: db.url, table });
      try {
        // A batch big enough for a plain COPY of new rows, which would not notice a duplicate key.
        for (let attempt = 0; attempt < 2; attempt++)
          await assert.rejects(
            sink.write(rows(DIRECT_COPY_THRESHOLD + 10)),
            (error: SluiceError) =>
              error.code === 'UPSERT_KEY_NOT_UNIQUE' &&
              !error.retriable &&
              error.message.includes(`table public.${table} has no primary key or unique index on exactly (id, part)`) &&
              error.message.includes(`CREATE UNIQUE INDEX ON "public"."${table}" ("id", "part")`),
          );
        const { rows: counted } = await db.pool.query(`SELECT count(*)::int AS n FROM ${table}`);
        assert.deepEqual(counted, [{ n: 0 }]);
      } finally {
        await sink.close();
      }
    }
    const sink = await connectedSink({ url: db.url, table: 'covered' });
    try {
      await sink.write(rows(DIRECT_COPY_THRESHOLD + 10));
      await sink.write(rows(3).map((record) => ({ ...record, after: { ...record.after!, title: 'again' } })));
      const { rows: counted } = await db.pool.query(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE title = 'again')::int AS again FROM covered`,
      );
      assert.deepEqual(counted, [{ n: DIRECT_COPY_THRESHOLD + 10, again: 3 }]);
    } finally {
      await sink.close();
    }
  });

  test('a COPY-sized batch gives the same result as unnest', async () => {
    const db = await pg.database();
    const sink = await connectedSink(
      { url: db.url, table: 'orders', create_table: true },
      { copyThreshold: 10 },
    );
    try {
      const records = Array.from({ length: 50 }, (_, index) =>
        change('insert', { id: index % 25 }, { id: index % 25, note: `tab\there\nline "${index}" \\` }),
      );
      await sink.write(records);
      const { rows } = await db.pool.query('SELECT id::int, note FROM orders ORDER BY id');
      assert.equal(rows.length, 25);
      assert.deepEqual(rows[3], { id: 3, note: 'tab\there\nline "28" \\' });
    } finally {
      await sink.close();
    }
  });
});

describe('postgres sink: deletes', () => {
  test('hard deletes remove rows; deleting a row never seen is fine', async () => {
    const db = await pg.database();
    const sink = await connectedSink({ url: db.url, table: 'orders', create_table: true });
    try {
      await sink.write([
        change('insert', { id: 1 }, { id: 1, v: 'a' }),
        change('insert', { id: 2 }, { id: 2, v: 'b' }),
      ]);
      await sink.write([change('delete', { id: 1 }, null), change('delete', { id: 99 }, null)]);
      const { rows } = await db.pool.query('SELECT id::int FROM orders');
      assert.deepEqual(rows, [{ id: 2 }]);
    } finally {
      await sink.close();
    }
  });

  test('soft deletes set the flag and time, and a later upsert revives the row', async () => {
    const db = await pg.database();
    const sink = await connectedSink({
      url: db.url,
      table: 'orders',
      create_table: true,
      deletes: 'soft',
      soft_delete: { flag: 'gone', at: 'gone_at' },
    });
    try {
      await sink.write([
        change('insert', { id: 1 }, { id: 1, v: 'a' }),
        change('insert', { id: 2 }, { id: 2, v: 'b' }),
      ]);
      await sink.write([change('delete', { id: 1 }, null)]);
      let { rows } = await db.pool.query('SELECT id::int, v, gone, gone_at FROM orders ORDER BY id');
      assert.deepEqual(rows, [
        { id: 1, v: 'a', gone: true, gone_at: new Date(1_747_243_394_200) },
        { id: 2, v: 'b', gone: false, gone_at: null },
      ]);
      await sink.write([change('insert', { id: 1 }, { id: 1, v: 'again' })]);
      ({ rows } = await db.pool.query('SELECT v, gone, gone_at FROM orders WHERE id = 1'));
      assert.deepEqual(rows, [{ v: 'again', gone: false, gone_at: null }]);
    } finally {
      await sink.close();
    }
  });

  test('deletes: ignore keeps the row and counts the delete', async () => {
    const db = await pg.database();
    const sink = await connectedSink({ url: db.url, table: 'orders', create_table: true, deletes: 'ignore' });
    try {
      await sink.write([change('insert', { id: 1 }, { id: 1 }), change('delete', { id: 1 }, null)]);
      const { rows } = await db.pool.query('SELECT id::int FROM orders');
      assert.deepEqual(rows, [{ id: 1 }]);
      assert.equal(sink.stats().skippedDeletes, 1);
    } finally {
      await sink.close();
    }
  });

  test('a skipped delete counts once, when its write commits, however often the batch is written', async () => {
    const db = await pg.database();
    await db.pool.query('CREATE TABLE orders (id bigint PRIMARY KEY)');
    const sink = await connectedSink({
      url: db.url,
      table: 'orders',
      deletes: 'ignore',
      schema_drift: 'fail',
    });
    try {
      const batch = [change('delete', { id: 1 }, null), change('insert', { id: 2 }, { id: 2, note: 'x' })];
      await assert.rejects(sink.write(batch), (error: SluiceError) => error.code === 'SCHEMA_DRIFT');
      assert.equal(sink.stats().skippedDeletes, 0);
      await db.pool.query('ALTER TABLE orders ADD COLUMN note text');
      await sink.write(batch);
      assert.equal(sink.stats().skippedDeletes, 1);
      const { rows } = await db.pool.query('SELECT id::int, note FROM orders');
      assert.deepEqual(rows, [{ id: 2, note: 'x' }]);
    } finally {
      await sink.close();
    }
  });
});

describe('postgres sink: newer wins', () => {
  test('bigint versions: out-of-order replays never move a row back, deletes only remove older rows', async () => {
    const db = await pg.database();
    const sink = await connectedSink({
      url: db.url,
      table: 'orders',
      create_table: true,
      version_column: '_version',
      version_from: 'source.lsn',
    });
    try {
      await sink.write([change('insert', { id: 1 }, { id: 1, status: 'v5' }, { lsn: 5n })]);
      await sink.write([change('update', { id: 1 }, { id: 1, status: 'v3' }, { lsn: 3 })]);
      await sink.write([change('update', { id: 1 }, { id: 1, status: 'v5-again' }, { lsn: 5 })]);
      await sink.write([change('delete', { id: 1 }, null, { lsn: 4 })]);
      let { rows } = await db.pool.query('SELECT status, _version::text FROM orders');
      assert.deepEqual(rows, [{ status: 'v5', _version: '5' }]);
      // Within one batch the newest version wins even when an older replay comes later.
      await sink.write([
        change('update', { id: 1 }, { id: 1, status: 'v9' }, { lsn: 9 }),
        change('update', { id: 1 }, { id: 1, status: 'v7' }, { lsn: 7 }),
      ]);
      ({ rows } = await db.pool.query('SELECT status, _version::text FROM orders'));
      assert.deepEqual(rows, [{ status: 'v9', _version: '9' }]);
      await sink.write([change('delete', { id: 1 }, null, { lsn: 10 })]);
      ({ rows } = await db.pool.query('SELECT count(*)::int AS n FROM orders'));
      assert.deepEqual(rows, [{ n: 0 }]);
    } finally {
      await sink.close();
    }
  });

  test('HLC versions compare exactly, beyond double precision', async () => {
    const db = await pg.database();
    const sink = await connectedSink({
      url: db.url,
      table: 'accounts',
      create_table: true,
      version_column: 'hlc',
      version_from: 'source.hlc',
      deletes: 'soft',
    });
    try {
      const newer = '1747243394200039000.0000000002';
      const older = '1747243394200039000.0000000001';
      await sink.write([change('update', { id: 7 }, { id: 7, balance: 'newer' }, { hlc: newer })]);
      await sink.write([change('update', { id: 7 }, { id: 7, balance: 'older' }, { hlc: older })]);
      await sink.write([change('delete', { id: 7 }, null, { hlc: older })]);
      const { rows } = await db.pool.query('SELECT balance, is_deleted, hlc::text FROM accounts');
      assert.deepEqual(rows, [{ balance: 'newer', is_deleted: false, hlc: newer }]);
      const type = await db.pool.query(
        `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'hlc'`,
      );
      assert.equal(type.rows[0].t, 'numeric');
    } finally {
      await sink.close();
    }
  });

  test('LSN text versions work with a pg_lsn version column', async () => {
    const db = await pg.database();
    await db.pool.query('CREATE TABLE t (id int PRIMARY KEY, v text, lsn pg_lsn)');
    const sink = await connectedSink({
      url: db.url,
      table: 't',
      version_column: 'lsn',
      version_from: 'source.lsn',
    });
    try {
      await sink.write([change('update', { id: 1 }, { id: 1, v: 'new' }, { lsn: '1/A0' })]);
      await sink.write([change('update', { id: 1 }, { id: 1, v: 'old' }, { lsn: '0/FFFFFFFF' })]);
      const { rows } = await db.pool.query('SELECT v, lsn::text FROM t');
      assert.deepEqual(rows, [{ v: 'new', lsn: '1/A0' }]);
    } finally {
      await sink.close();
    }
  });

  test('a record without a version is rejected, the rest is written', async () => {
    const db = await pg.database();
    const sink = await connectedSink({
      url: db.url,
      table: 't',
      create_table: true,
      version_column: 'v',
      version_from: 'after.updated',
    });
    try {
      const result = await sink.write([
        change('insert', { id: 1 }, { id: 1, updated: 3 }),
        change('insert', { id: 2 }, { id: 2 }),
      ]);
      assert.equal(result.rejected.length, 1);
      assert.match(result.rejected[0]!.reason, /expected a version .* at after\.updated, got nothing/);
      const { rows } = await db.pool.query('SELECT id::int, v::text FROM t');
      assert.deepEqual(rows, [{ id: 1, v: '3' }]);
    } finally {
      await sink.close();
    }
  });
});

describe('postgres sink: types', () => {
  test('every value type round-trips exactly', async () => {
    const db = await pg.database();
    const sink = await connectedSink({
      url: db.url,
      table: 'typed',
      create_table: true,
      columns: { amount: 'numeric(12,2)' },
    });
    try {
      const row = {
        id: 9_007_199_254_740_993n,
        amount: new Decimal('26.30'),
        price: new Decimal('0.000000012345678901234567890'),
        huge: 123_456_789_012_345_678_901_234_567_890n,
        ratio: 0.1,
        count: 42,
        flag: true,
        name: "Zoë \u{1F600} 'quoted'",
        at: new Date('2025-05-14T17:23:14.200Z'),
        doc: {
          nested: { big: 12_345_678_901_234_567_890n, exact: new Decimal('1.10') },
          list: [1, 'two', null],
        },
        tags: ['a', 'b"c', 'd\\e', null],
        scores: [1, 2, 3],
        blob: new Uint8Array([0, 1, 2, 253, 254, 255]),
        missing: null,
      };
      await sink.write([change('insert', { id: row.id }, row)]);
      const types = await db.pool.query(
        `SELECT attname, format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'typed'::regclass AND attnum > 0 ORDER BY attname`,
      );
      assert.deepEqual(Object.fromEntries(types.rows.map((r) => [r.attname, r.t])), {
        amount: 'numeric(12,2)',
        at: 'timestamp with time zone',
        blob: 'bytea',
        count: 'bigint',
        doc: 'jsonb',
        flag: 'boolean',
        huge: 'numeric',
        id: 'bigint',
        missing: 'text',
        name: 'text',
        price: 'numeric',
        ratio: 'double precision',
        scores: 'bigint[]',
        tags: 'text[]',
      });
      const { rows } = await db.pool.query(
        `SELECT id::text, amount::text, price::text, huge::text, ratio, count::int, flag, name, at, doc::text, tags, scores::text, encode(blob, 'hex') AS blob, missing FROM typed`,
      );
      assert.deepEqual(rows, [
        {
          id: '9007199254740993',
          amount: '26.30',
          price: '0.000000012345678901234567890',
          huge: '123456789012345678901234567890',
          ratio: 0.1,
          count: 42,
          flag: true,
          name: "Zoë \u{1F600} 'quoted'",
          at: new Date('2025-05-14T17:23:14.200Z'),
          doc: '{"list": [1, "two", null], "nested": {"big": 12345678901234567890, "exact": 1.10}}',
          tags: ['a', 'b"c', 'd\\e', null],
          scores: '{1,2,3}',
          blob: '000102fdfeff',
          missing: null,
        },
      ]);
    } finally {
      await sink.close();
    }
  });

  test('a new column for timestamps with microseconds (exact UTC text, as Postgres CDC sends them) is timestamptz', async () => {
    const db = await pg.database();
    const sink = await connectedSink({ url: db.url, table: 'events', create_table: true, schema_drift: 'auto' });
    try {
      await sink.write([
        change('insert', { id: 1 }, { id: 1, at: '2024-05-01T10:00:00.123456Z', label: 'x' }),
        change('insert', { id: 2 }, { id: 2, at: new Date('2024-05-01T10:00:00.500Z'), label: 'y' }),
      ]);
      await sink.write([
        change('insert', { id: 3 }, { id: 3, at: '1999-12-31T23:59:59.999999Z', seen: '2024-05-01T10:00:00.000001Z' }),
        change('insert', { id: 4 }, { id: 4, at: null, seen: 'not a time' }),
      ]);
      const types = await db.pool.query(
        `SELECT attname, format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'events'::regclass AND attnum > 0 ORDER BY attname`,
      );
      assert.deepEqual(Object.fromEntries(types.rows.map((r) => [r.attname, r.t])), {
        at: 'timestamp with time zone',
        id: 'bigint',
        label: 'text',
        // Mixed with other text in its batch: text, which holds both exactly.
        seen: 'text',
      });
      const { rows } = await db.pool.query(
        `SELECT id::int, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, seen FROM events ORDER BY id`,
      );
      assert.deepEqual(rows, [
        { id: 1, at: '2024-05-01T10:00:00.123456Z', seen: null },
        { id: 2, at: '2024-05-01T10:00:00.500000Z', seen: null },
        { id: 3, at: '1999-12-31T23:59:59.999999Z', seen: '2024-05-01T10:00:00.000001Z' },
        { id: 4, at: null, seen: 'not a time' },
      ]);
    } finally {
      await sink.close();
    }
  });

  test('hostile identifiers and values are just strange names and text', async () => {
    const db = await pg.database();
    const hostileTable = 'evil"; DROP TABLE victims; --';
    const hostileColumn = 'x"; DROP TABLE victims; --';
    await db.pool.query('CREATE TABLE victims (id int)');
    const sink = await connectedSink({
      url: db.url,
      table: `public.{table}`,
      create_table: true,
      schema_drift: 'auto',
    });
    try {
      const value = "'); DROP TABLE victims; --";
      const record = {
        ...change('insert', { [hostileColumn]: value }, { [hostileColumn]: value, 'Mixed Case': 1 }),
        source: { name: 's', position: '1', table: `public.${hostileTable}` },
      };
      await sink.write([record]);
      await sink.write([
        {
          ...record,
          op: 'update' as const,
          after: { [hostileColumn]: value, 'Mixed Case': 2, 'new"col': 'n' },
        },
      ]);
      const { rows } = await db.pool.query(`SELECT * FROM public."evil""; DROP TABLE victims; --"`);
      assert.deepEqual(rows, [{ [hostileColumn]: value, 'Mixed Case': '2', 'new"col': 'n' }]);
      const victims = await db.pool.query(`SELECT to_regclass('victims') IS NOT NULL AS present`);
      assert.equal(victims.rows[0].present, true);
    } finally {
      await sink.close();
    }
  });
});

describe('postgres sink: schema drift', () => {
  test('a column the stream stops sending goes through the policy: fail stops before writing, warn logs once and goes on', async () => {
    const db = await pg.database();
    await db.pool.query('CREATE TABLE feed (id int PRIMARY KEY, a text, b text)');
    const rows = (from: number, count: number, withB: boolean) =>
      Array.from({ length: count }, (_, index) => {
        const id = from + index;
        return change('insert', { id }, withB ? { id, a: 'x', b: 'y' } : { id, a: 'x' });
      });
    // Updates that leave b out (unchanged TOAST values do) never count toward a removal.
    const updates = Array.from({ length: REMOVED_AFTER_ROWS }, (_, index) =>
      change('update', { id: 0 }, { id: 0, a: `v${index}` }),
    );
    const failing = await connectedSink({ url: db.url, table: 'feed' });
    try {
      await failing.write([...rows(0, 2, true), ...updates]);
      await failing.write(rows(2, REMOVED_AFTER_ROWS - 1, false));
      await assert.rejects(
        failing.write(rows(REMOVED_AFTER_ROWS + 1, 1, false)),
        (error: SluiceError) =>
          error.code === 'SCHEMA_DRIFT' &&
          !error.retriable &&
          error.message.includes(
            `column(s) b of table public.feed no longer arrive: the last ${REMOVED_AFTER_ROWS} inserted rows lacked them`,
          ),
      );
      const { rows: counted } = await db.pool.query('SELECT count(*)::int AS n FROM feed');
      assert.deepEqual(counted, [{ n: REMOVED_AFTER_ROWS + 1 }], 'the batch that showed it was not written');
    } finally {
      await failing.close();
    }
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const warning = await connectedSink({ url: db.url, table: 'feed', schema_drift: 'warn' }, { logger });
    try {
      await warning.write(rows(10_000, 1, true));
      await warning.write(rows(10_001, REMOVED_AFTER_ROWS + 5, false));
      await warning.write(rows(20_000, 10, false));
      const warned = lines.filter((line) => line.includes('no longer arrive'));
      assert.equal(warned.length, 1);
      assert.match(warned[0]!, /"level":40.*column\(s\) b of table public\.feed/);
      const { rows: counted } = await db.pool.query(`SELECT count(*)::int AS n FROM feed WHERE id >= 10000`);
      assert.deepEqual(counted, [{ n: REMOVED_AFTER_ROWS + 16 }]);
    } finally {
      await warning.close();
    }
  });

  test('auto adds new fields as nullable columns and widens integer columns', async () => {
    const db = await pg.database();
    await db.pool.query('CREATE TABLE items (id int PRIMARY KEY, qty int, weight real)');
    const sink = await connectedSink({ url: db.url, table: 'items', schema_drift: 'auto' });
    try {
      await sink.write([change('insert', { id: 1 }, { id: 1, qty: 5, weight: 1.5 })]);
      await sink.write([
        change(
          'insert',
          { id: 2 },
          { id: 2, qty: 3_000_000_000, weight: 0.1, color: 'red', price: new Decimal('9.99') },
        ),
      ]);
      await sink.write([change('insert', { id: 3 }, { id: 3, qty: new Decimal('2.5') })]);
      const types = await db.pool.query<{ attname: string; t: string; attnotnull: boolean }>(
        `SELECT attname, format_type(atttypid, atttypmod) AS t, attnotnull FROM pg_attribute WHERE attrelid = 'items'::regclass AND attnum > 0 ORDER BY attnum`,
      );
      assert.deepEqual(
        types.rows.map((r) => [r.attname, r.t, r.attnotnull]),
        [
          ['id', 'integer', true],
          ['qty', 'numeric', false],
          ['weight', 'double precision', false],
          ['color', 'text', false],
          ['price', 'numeric', false],
        ],
      );
      const { rows } = await db.pool.query(
        'SELECT id, qty::text, weight, color, price::text FROM items ORDER BY id',
      );
      assert.deepEqual(rows, [
        { id: 1, qty: '5', weight: 1.5, color: null, price: null },
        { id: 2, qty: '3000000000', weight: 0.1, color: 'red', price: '9.99' },
        { id: 3, qty: '2.5', weight: null, color: null, price: null },
      ]);
    } finally {
      await sink.close();
    }
  });

  test('auto sees a column added by someone else without altering again', async () => {
    const db = await pg.database();
    await db.pool.query('CREATE TABLE items (id bigint PRIMARY KEY)');
    const sink = await connectedSink({ url: db.url, table: 'items', schema_drift: 'fail' });
    try {
      await sink.write([change('insert', { id: 1 }, { id: 1 })]);
      await db.pool.query('ALTER TABLE items ADD COLUMN note text');
      await sink.write([change('insert', { id: 2 }, { id: 2, note: 'seen' })]);
      const { rows } = await db.pool.query('SELECT note FROM items WHERE id = 2');
      assert.deepEqual(rows, [{ note: 'seen' }]);
    } finally {
      await sink.close();
    }
  });

  test('fail rejects a batch with an unknown field, non-retriable SCHEMA_DRIFT', async () => {
    const db = await pg.database();
    await db.pool.query('CREATE TABLE items (id bigint PRIMARY KEY)');
    const sink = await connectedSink({ url: db.url, table: 'items', schema_drift: 'fail' });
    try {
      await assert.rejects(
        sink.write([change('insert', { id: 1 }, { id: 1, surprise: 'x' }, {}, 'orders:7')]),
        (error: SluiceError) => {
          assert.equal(error.code, 'SCHEMA_DRIFT');
          assert.equal(error.retriable, false);
          assert.match(error.message, /no column\(s\) surprise.*test-source at orders:7/);
          return true;
        },
      );
      const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM items');
      assert.equal(rows[0].n, 0);
    } finally {
      await sink.close();
    }
  });

  test('warn logs once per column and drops the field; ignore drops silently and counts', async () => {
    const db = await pg.database();
    await db.pool.query('CREATE TABLE a (id bigint PRIMARY KEY); CREATE TABLE b (id bigint PRIMARY KEY)');
    const lines: string[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) }),
    );
    const warn = await connectedSink({ url: db.url, table: 'a', schema_drift: 'warn' }, { logger });
    const ignore = await connectedSink({ url: db.url, table: 'b', schema_drift: 'ignore' }, { logger });
    try {
      for (const sink of [warn, ignore]) {
        await sink.write([change('insert', { id: 1 }, { id: 1, extra: 'x' })]);
        await sink.write([change('insert', { id: 2 }, { id: 2, extra: 'y' })]);
        assert.equal(sink.stats().droppedFields, 2);
      }
      assert.equal(lines.length, 1);
      assert.match(lines[0]!, /has no column \\"extra\\"/);
      const { rows } = await db.pool.query(
        'SELECT (SELECT count(*) FROM a)::int AS a, (SELECT count(*) FROM b)::int AS b',
      );
      assert.deepEqual(rows, [{ a: 2, b: 2 }]);
    } finally {
      await warn.close();
      await ignore.close();
    }
  });

  test('a missing table without create_table is a non-retriable error', async () => {
    const db = await pg.database();
    const sink = await connectedSink({ url: db.url, table: 'nowhere' });
    try {
      await assert.rejects(sink.write([change('insert', { id: 1 }, { id: 1 })]), {
        code: 'TABLE_MISSING',
        retriable: false,
      });
    } finally {
      await sink.close();
    }
  });
});

describe('postgres sink: failures', () => {
  test('records Postgres refuses are isolated by bisection; the rest is written', async () => {
    const db = await pg.database();
    await db.pool.query(
      'CREATE TABLE people (id int PRIMARY KEY, name varchar(5) NOT NULL, age int CHECK (age >= 0))',
    );
    const sink = await connectedSink({ url: db.url, table: 'people' });
    try {
      const records = Array.from({ length: 20 }, (_, index) =>
        change('insert', { id: index }, { id: index, name: `p${index}`, age: index }, {}, `people:${index}`),
      );
      records[3] = change('insert', { id: 3 }, { id: 3, name: 'far too long', age: 3 }, {}, 'people:3');
      records[11] = change('insert', { id: 11 }, { id: 11, name: 'p11', age: -1 }, {}, 'people:11');
      records[17] = change(
        'insert',
        { id: 17 },
        { id: 17, name: 'p17', age: 'old' as unknown as number },
        {},
        'people:17',
      );
      const result = await sink.write(records);
      assert.deepEqual(
        result.rejected.map((letter) => letter.source.position),
        ['people:3', 'people:11', 'people:17'],
      );
      assert.match(
        result.rejected[0]!.reason,
        /value too long for type character varying\(5\).*SQLSTATE 22001/,
      );
      assert.match(result.rejected[1]!.reason, /violates check constraint.*SQLSTATE 23514/);
      assert.match(result.rejected[2]!.reason, /invalid input syntax for type integer.*SQLSTATE 22P02/);
      assert.equal(result.rejected[0]!.record, records[3]);
      const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM people');
      assert.equal(rows[0].n, 17);
      assert.equal(sink.stats().rejected, 3);
    } finally {
      await sink.close();
    }
  });

  test('a backend terminated mid-write fails the write as retriable; the retry succeeds', async () => {
    const db = await pg.database();
    await db.pool.query('CREATE TABLE t (id int PRIMARY KEY, v text)');
    const sink = await connectedSink({ url: db.url, table: 't' });
    const locker = await db.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE t IN ACCESS EXCLUSIVE MODE');
      const write = sink.write([change('insert', { id: 1 }, { id: 1, v: 'x' })]);
      const settled = write.then(
        () => undefined,
        (error: unknown) => error,
      );
      let terminated = 0;
      for (let attempt = 0; attempt < 100 && terminated === 0; attempt++) {
        const result = await pg.admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'sluice/test/warehouse' AND wait_event_type = 'Lock'`,
          [db.name],
        );
        terminated = result.rowCount ?? 0;
        if (terminated === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(terminated, 1);
      const error = (await settled) as SluiceError;
      assert.equal(error.code, 'SINK_UNAVAILABLE');
      assert.equal(error.retriable, true);
      await locker.query('ROLLBACK');
      await sink.write([change('insert', { id: 1 }, { id: 1, v: 'x' })]);
      const { rows } = await db.pool.query('SELECT v FROM t');
      assert.deepEqual(rows, [{ v: 'x' }]);
      assert.deepEqual(sink.health(), { ok: true });
    } finally {
      locker.release();
      await sink.close();
    }
  });

  test('a stopped server fails writes as retriable, opens the circuit, and a probe closes it after restart', async () => {
    const db = await pg.database();
    await db.pool.query('CREATE TABLE t (id int PRIMARY KEY)');
    const sink = await connectedSink({
      url: db.url,
      table: 't',
      circuit_breaker: { failures: 2, cool_down_ms: 300 },
    });
    try {
      await pg.server.pause();
      for (let attempt = 0; attempt < 2; attempt++) {
        await assert.rejects(sink.write([change('insert', { id: 1 }, { id: 1 })]), (error: SluiceError) => {
          assert.equal(error.code, 'SINK_UNAVAILABLE');
          assert.equal(error.retriable, true);
          assert.match(error.message, /unavailable while writing 1 records/);
          assert.equal(error.message.includes(new URL(pg.server.url).password), false);
          return true;
        });
      }
      assert.equal(sink.health().ok, false);
      await assert.rejects(
        sink.write([change('insert', { id: 1 }, { id: 1 })]),
        /circuit is open after 2 consecutive failures/,
      );
      await pg.server.resume();
      await new Promise((resolve) => setTimeout(resolve, 350));
      await sink.write([change('insert', { id: 1 }, { id: 1 })]);
      assert.deepEqual(sink.health(), { ok: true });
      const { rows } = await db.pool.query('SELECT id FROM t');
      assert.deepEqual(rows, [{ id: 1 }]);
    } finally {
      await pg.server.resume();
      await sink.close();
    }
  });

  test('a DLQ table is this sink in append mode with create_table', async () => {
    const db = await pg.database();
    const dlq = await connectedSink({
      url: db.url,
      table: 'sluice_dlq',
      mode: 'append',
      create_table: true,
      schema_drift: 'auto',
    });
    try {
      const bad = change(
        'insert',
        { id: 5 },
        { id: 5, amount: new Decimal('26.30') },
        { topic: 'orders' },
        'orders/0@41',
      );
      const letter = {
        node: 'checks',
        reason: 'amount must be positive',
        rule: 'positive',
        field: 'amount',
        value: new Decimal('26.30'),
        source: { name: 'kafka', position: 'orders/0@41' },
        record: bad,
      };
      const raw = {
        node: 'kafka',
        reason: 'not JSON',
        source: { name: 'kafka', position: 'orders/0@42' },
        raw: new Uint8Array([123, 0]),
      };
      await dlq.write(
        [deadLetterRow(letter, 1_747_243_394_500), deadLetterRow(raw, 1_747_243_394_600)].map((row, index) =>
          change('insert', null, row, {}, `dlq:${index}`),
        ),
      );
      const { rows } = await db.pool.query(
        `SELECT node, reason, rule, field, value::text, source_position, dead_lettered_at, record->'after'->>'id' AS id, record->'after'->'amount' AS amount_json, raw FROM sluice_dlq ORDER BY source_position`,
      );
      assert.equal(rows.length, 2);
      assert.deepEqual(rows[0], {
        node: 'checks',
        reason: 'amount must be positive',
        rule: 'positive',
        field: 'amount',
        value: '26.30',
        source_position: 'orders/0@41',
        dead_lettered_at: new Date(1_747_243_394_500),
        id: '5',
        amount_json: 26.3,
        raw: null,
      });
      const exact = await db.pool.query(
        `SELECT (record->'after'->'amount')::text AS amount FROM sluice_dlq WHERE source_position = 'orders/0@41'`,
      );
      assert.equal(exact.rows[0].amount, '26.30');
      assert.equal(rows[1].node, 'kafka');
      assert.deepEqual([...rows[1].raw], [123, 0]);
    } finally {
      await dlq.close();
    }
  });
});
