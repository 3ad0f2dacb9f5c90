import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { inspect } from 'node:util';
import type { Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import {
  BinaryCopyUnfitError,
  binaryCopyWriters,
  encodeBinaryCopy,
} from '../../../connectors/postgres/binary-copy.js';
import { encodeValue, type ColumnTypeInfo } from '../../../connectors/postgres/value-encoding.js';
import { Decimal } from '../../../runtime/decimal.js';
import type { Value } from '../../../runtime/record.js';
import { usePostgres } from '../../support/postgres.js';
import { change, connectedSink } from './sink-helpers.js';

const pg = usePostgres();

/** Every column type with a binary writer, as the sink sees it. */
const COLUMNS: readonly (ColumnTypeInfo & { readonly name: string; readonly ddl: string })[] = [
  { name: 'c_bigint', ddl: 'bigint', type: 'bigint', category: 'N', elementType: null },
  { name: 'c_integer', ddl: 'integer', type: 'integer', category: 'N', elementType: null },
  { name: 'c_smallint', ddl: 'smallint', type: 'smallint', category: 'N', elementType: null },
  { name: 'c_double', ddl: 'double precision', type: 'double precision', category: 'N', elementType: null },
  { name: 'c_numeric', ddl: 'numeric', type: 'numeric', category: 'N', elementType: null },
  { name: 'c_money', ddl: 'numeric(12,2)', type: 'numeric', category: 'N', elementType: null },
  { name: 'c_text', ddl: 'text', type: 'text', category: 'S', elementType: null },
  { name: 'c_varchar', ddl: 'varchar(80)', type: 'character varying', category: 'S', elementType: null },
  { name: 'c_char', ddl: 'character(5)', type: 'character', category: 'S', elementType: null },
  { name: 'c_tstz', ddl: 'timestamptz', type: 'timestamp with time zone', category: 'D', elementType: null },
  { name: 'c_ts', ddl: 'timestamp', type: 'timestamp without time zone', category: 'D', elementType: null },
  { name: 'c_bool', ddl: 'boolean', type: 'boolean', category: 'B', elementType: null },
  { name: 'c_jsonb', ddl: 'jsonb', type: 'jsonb', category: 'U', elementType: null },
  { name: 'c_json', ddl: 'json', type: 'json', category: 'U', elementType: null },
  { name: 'c_bytea', ddl: 'bytea', type: 'bytea', category: 'U', elementType: null },
  { name: 'c_uuid', ddl: 'uuid', type: 'uuid', category: 'U', elementType: null },
  { name: 'c_lsn', ddl: 'pg_lsn', type: 'pg_lsn', category: 'U', elementType: null },
];

/** Rows of values at the edges of each type, column by column (null for SQL NULL). */
const ROWS: readonly (readonly Value[])[] = [
  [
    0,
    0,
    0,
    0,
    new Decimal('0'),
    new Decimal('0.00'),
    '',
    '',
    '',
    new Date(0),
    new Date(0),
    false,
    {},
    [],
    new Uint8Array(0),
    '00000000-0000-0000-0000-000000000000',
    '0/0',
  ],
  [
    9_007_199_254_740_993n,
    2 ** 31 - 1,
    2 ** 15 - 1,
    0.1,
    new Decimal('99999999999999999999.99999999999999999999'),
    new Decimal('26.305'),
    'plain text',
    'ünïcödé ✓ 🚀',
    'abc',
    new Date('2024-02-29T23:59:59.999Z'),
    new Date('2024-02-29T23:59:59.999Z'),
    true,
    { a: [1, 'two', null, { b: new Decimal('3.10') }], é: '🚀' },
    { plain: 'json', n: 1 },
    new Uint8Array([0, 1, 127, 128, 255]),
    'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
    'FFFFFFFF/FFFFFFFF',
  ],
  [
    -(2n ** 63n),
    -(2 ** 31),
    -(2 ** 15),
    -0,
    new Decimal('-0.00001'),
    new Decimal('-1.5'),
    'x'.repeat(70) + 'ü'.repeat(70),
    'tab\there, newline\nthere, back\\slash',
    'ab',
    new Date('1970-01-01T00:00:00.001Z'),
    new Date('1999-12-31T23:59:59.999Z'),
    false,
    'a string',
    [1, 2, 3],
    new Uint8Array(300).fill(7),
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    '16/B374D848',
  ],
  [
    2n ** 63n - 1n,
    12_345,
    1,
    1e300,
    12_345_678.9,
    new Decimal('100000000'),
    'quote " and \' and ,',
    'x"; DROP TABLE t; --',
    'full5',
    new Date('1800-06-15T12:00:00.000Z'),
    new Date('2200-01-01T00:00:00.000Z'),
    true,
    null,
    null,
    null,
    null,
    null,
  ],
  [
    Number.MAX_SAFE_INTEGER,
    -1,
    -1,
    Number.NaN,
    7n * 10n ** 30n,
    3,
    null,
    null,
    null,
    1_700_000_000_123,
    1_700_000_000_123.9,
    null,
    42,
    true,
    null,
    null,
    '1/1',
  ],
  [
    -Number.MAX_SAFE_INTEGER,
    0,
    0,
    Number.POSITIVE_INFINITY,
    new Decimal('0.0001'),
    0.5,
    'café',
    'b',
    'c',
    null,
    null,
    null,
    new Decimal('1.50'),
    'json string',
    null,
    null,
    null,
  ],
];

/** Each column of `table` as its text output, row by row in id order. */
async function contents(pool: Pool, table: string): Promise<string[][]> {
  const { rows } = await pool.query<{ values: (string | null)[] }>(
    `SELECT ARRAY[${COLUMNS.map((column) => `${column.name}::text`).join(', ')}] AS values FROM ${table} ORDER BY id`,
  );
  return rows.map((row) => row.values.map((value) => value ?? 'NULL'));
}

describe('binary COPY', () => {
  test('every type lands exactly as the same values sent as text and cast by Postgres', async () => {
    const db = await pg.database();
    const ddl = COLUMNS.map((column) => `${column.name} ${column.ddl}`).join(', ');
    await db.pool.query(`CREATE TABLE by_text (id int, ${ddl}); CREATE TABLE by_binary (id int, ${ddl})`);
    const types: ColumnTypeInfo[] = [{ type: 'integer', category: 'N', elementType: null }, ...COLUMNS];
    const writers = binaryCopyWriters(types);
    assert.ok(writers, 'every column type has a binary writer');
    const chunks = encodeBinaryCopy(writers, ROWS.length, (row, column) =>
      column === 0 ? row : ROWS[row]![column - 1]!,
    );
    assert.ok(chunks, 'every value has a binary form');
    const client = await db.pool.connect();
    try {
      await pipeline(
        Readable.from(chunks),
        client.query(
          copyFrom(
            `COPY by_binary (id, ${COLUMNS.map((c) => c.name).join(', ')}) FROM STDIN (FORMAT binary)`,
          ),
        ),
      );
    } finally {
      client.release();
    }
    for (const [id, row] of ROWS.entries()) {
      await db.pool.query(
        `INSERT INTO by_text VALUES ($1, ${COLUMNS.map((column, index) => `$${index + 2}::${column.ddl}`).join(', ')})`,
        [id, ...row.map((value, index) => encodeValue(value, COLUMNS[index]!))],
      );
    }
    const byText = await contents(db.pool, 'by_text');
    assert.equal(byText.length, ROWS.length);
    assert.deepEqual(await contents(db.pool, 'by_binary'), byText);
    // Spot checks that the comparison is about the values the user sent.
    assert.equal(byText[1]![0], '9007199254740993');
    assert.equal(byText[1]![4], '99999999999999999999.99999999999999999999');
    assert.equal(byText[1]![5], '26.31');
    assert.equal(byText[2]![0], '-9223372036854775808');
    assert.equal(byText[2]![7], 'tab\there, newline\nthere, back\\slash');
  });

  test('ISO 8601 texts land in timestamp columns as Postgres reads them, whatever the session time zone', async () => {
    const db = await pg.database();
    const texts = [
      '2024-02-29T23:59:59.999999Z',
      '2024-02-29 23:59:59.5Z',
      '2019-01-02T03:04:05',
      '2025-04-30T20:02:35.40316',
      '2025-05-09T21:20:29.203923+05:30',
      '2025-05-09T21:20:29-09:45',
      '1999-12-31T23:59:59.000001-00:00',
      '2000-01-01T00:00:00Z',
      '1970-01-01T00:00:00.000000+15:59',
      '2200-12-31T00:00:00-15:59',
    ];
    const columns: ColumnTypeInfo[] = [
      { type: 'integer', category: 'N', elementType: null },
      { type: 'timestamp without time zone', category: 'D', elementType: null },
      { type: 'timestamp with time zone', category: 'D', elementType: null },
    ];
    // A zone-less text into timestamptz is read in the session's zone: that one is left to the text path.
    const zoned = (text: string) => (/(Z|[+-]\d\d:\d\d)$/.test(text) ? text : null);
    const chunks = encodeBinaryCopy(binaryCopyWriters(columns)!, texts.length, (row, column) =>
      column === 0 ? row : column === 1 ? texts[row]! : zoned(texts[row]!),
    );
    assert.ok(chunks, 'every text has a binary form');
    const client = await db.pool.connect();
    try {
      await client.query("SET TimeZone = 'America/New_York'");
      await client.query('CREATE TABLE by_text (id int, ts timestamp, tstz timestamptz)');
      await client.query('CREATE TABLE by_binary (id int, ts timestamp, tstz timestamptz)');
      await pipeline(
        Readable.from(chunks),
        client.query(copyFrom('COPY by_binary FROM STDIN (FORMAT binary)')),
      );
      for (const [id, text] of texts.entries())
        await client.query('INSERT INTO by_text VALUES ($1, $2::timestamp, $3::timestamptz)', [
          id,
          text,
          zoned(text),
        ]);
      const read = async (table: string) =>
        (await client.query<{ row: string }>(`SELECT (ts, tstz)::text AS row FROM ${table} ORDER BY id`))
          .rows;
      const byText = await read('by_text');
      assert.deepEqual(await read('by_binary'), byText);
      assert.equal(byText[4]!.row, '("2025-05-09 21:20:29.203923","2025-05-09 11:50:29.203923-04")');
    } finally {
      client.release();
    }
    for (const [type, text] of [
      ['timestamp with time zone', '2019-01-02T03:04:05'],
      ['timestamp with time zone', '2024-02-30T00:00:00Z'],
      ['timestamp without time zone', '2023-02-29T00:00:00'],
      ['timestamp without time zone', '2024-01-01T24:00:00'],
      ['timestamp without time zone', '2024-01-01T00:00:60'],
      ['timestamp without time zone', '2024-01-01T00:00:00.1234567'],
      ['timestamp without time zone', '0999-01-01T00:00:00'],
      ['timestamp without time zone', '1600-01-01T00:00:00'],
      ['timestamp with time zone', '2024-01-01T00:00:00+16:00'],
      ['timestamp with time zone', '2024-01-01T00:00:00 PST'],
      ['timestamp with time zone', 'now'],
    ] as const) {
      const writers = binaryCopyWriters([{ type, category: 'D', elementType: null }])!;
      assert.equal(
        encodeBinaryCopy(writers, 1, () => text),
        undefined,
        `${type} ${text}`,
      );
    }
  });

  test('a value with no binary form makes the whole group go as text', () => {
    const column = (type: string, category = 'N'): ColumnTypeInfo => ({ type, category, elementType: null });
    const cases: [ColumnTypeInfo, Value][] = [
      [column('bigint'), ' 12'],
      [column('bigint'), 1.5],
      [column('bigint'), 2n ** 63n],
      [column('integer'), 2 ** 31],
      [column('smallint'), '1e3'],
      [column('numeric'), new Decimal('1.5e-7')],
      [column('numeric'), Number.NaN],
      [column('numeric'), 1e21],
      [column('double precision'), 'NaN'],
      [column('timestamp with time zone', 'D'), '2024-01-01 00:00:00+00'],
      [column('timestamp with time zone', 'D'), new Date('+010000-01-01T00:00:00Z')],
      [column('boolean', 'B'), 't'],
      [column('bytea', 'U'), '\\x00'],
      [column('uuid', 'U'), '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'],
      [column('pg_lsn', 'U'), 16],
    ];
    for (const [type, value] of cases) {
      const writers = binaryCopyWriters([type]);
      assert.ok(writers, type.type);
      assert.equal(
        encodeBinaryCopy(writers, 2, (row) => (row === 0 ? null : value)),
        undefined,
        `${type.type} ${inspect(value)}`,
      );
    }
    for (const type of ['text[]', 'inet', 'real', 'date', 'interval'])
      assert.equal(binaryCopyWriters([column(type)]), undefined, type);
  });

  test('a value with no binary form after the first slice stops the stream with BinaryCopyUnfitError', () => {
    const writers = binaryCopyWriters([{ type: 'bigint', category: 'N', elementType: null }])!;
    const chunks = encodeBinaryCopy(writers, 1_500, (row) => (row === 1_200 ? ' 7 ' : row));
    assert.ok(chunks, 'the first rows have a binary form: the stream starts');
    assert.throws(
      () => [...chunks],
      (error: unknown) => error instanceof BinaryCopyUnfitError && error.message.includes('row 1200'),
    );
  });

  test('through the sink, a value with no binary form far into a COPY: the write is rolled back and done as text, nothing lost, and the next writes go as text at once', async () => {
    const db = await pg.database();
    await db.pool.query(`CREATE TABLE orders (id bigint PRIMARY KEY, quantity integer, note text);
      CREATE TABLE events (id bigint, quantity integer, note text)`);
    const upserts = await connectedSink({ url: db.url, table: 'orders', key: ['id'] });
    const appends = await connectedSink({ url: db.url, table: 'events', mode: 'append' });
    try {
      const records = Array.from({ length: 1_500 }, (_, index) =>
        change(
          'insert',
          { id: index + 1 },
          { id: index + 1, quantity: index === 1_200 ? ' 7 ' : index, note: `n${index}` },
        ),
      );
      for (const sink of [upserts, appends]) {
        assert.deepEqual((await sink.write(records)).rejected, []);
        assert.equal(sink.stats().textRetries, 1);
      }
      // The next writes go as text at once: a stream of such values pays for one retry, not one per write.
      const more = records.map((record) => ({ ...record, after: { ...record.after, note: 'again' } }));
      assert.deepEqual((await upserts.write(more)).rejected, []);
      assert.equal(upserts.stats().textRetries, 1);
      for (const table of ['orders', 'events']) {
        const { rows } = await db.pool.query<{ n: number; sum: string; seven: number }>(
          `SELECT count(*)::int AS n, sum(quantity)::text AS sum,
                  (SELECT quantity FROM ${table} WHERE id = 1201) AS seven FROM ${table}`,
        );
        // Every quantity is its index but row 1201's, which is 7.
        assert.deepEqual(
          rows[0],
          { n: 1_500, sum: String((1_499 * 1_500) / 2 - 1_200 + 7), seven: 7 },
          table,
        );
      }
      const { rows } = await db.pool.query<{ again: number }>(
        `SELECT count(*)::int AS again FROM orders WHERE note = 'again'`,
      );
      assert.deepEqual(rows[0], { again: 1_500 });
    } finally {
      await upserts.close();
      await appends.close();
    }
  });

  test('through the sink, a COPY group with a value that has no binary form lands as Postgres reads its text', async () => {
    const db = await pg.database();
    await db.pool.query('CREATE TABLE orders (id bigint PRIMARY KEY, quantity integer, note text)');
    const sink = await connectedSink({ url: db.url, table: 'orders', key: ['id'] });
    try {
      const records = Array.from({ length: 300 }, (_, index) =>
        // Postgres reads ' 7 ' as 7 in text; it has no binary form here.
        change(
          'insert',
          { id: index + 1 },
          { id: index + 1, quantity: index === 150 ? ' 7 ' : index, note: `n${index}` },
        ),
      );
      const result = await sink.write(records);
      assert.deepEqual(result.rejected, []);
      const { rows } = await db.pool.query<{ n: number; seven: number; note: string }>(
        `SELECT count(*)::int AS n, (SELECT quantity FROM orders WHERE id = 151) AS seven,
                (SELECT note FROM orders WHERE id = 300) AS note FROM orders`,
      );
      assert.deepEqual(rows[0], { n: 300, seven: 7, note: 'n299' });
    } finally {
      await sink.close();
    }
  });
});
