import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPostgresTarget } from '../../../connectors/postgres/check-target.js';
import { freePort } from '../../../cli/embedded-postgres.js';
import { usePostgres } from '../../support/postgres.js';

const pg = usePostgres();

test('a table that fits the config has no issues', async () => {
  const db = await pg.database();
  await db.pool.query('CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric(12,2), _version numeric)');
  const issues = await checkPostgresTarget({
    config: {
      url: db.url,
      table: 'public.orders',
      key: ['id'],
      version_column: '_version',
      version_from: 'source.lsn',
    },
    expected: { id: 'bigint', amount: 'numeric' },
  });
  assert.deepEqual(issues, []);
});

test('reports missing columns, a key without unique index, incompatible types, NOT NULL extras and privileges', async () => {
  const db = await pg.database();
  await db.pool.query(`CREATE TABLE orders (id bigint, amount text, created_by text NOT NULL);
    CREATE ROLE ${db.name}_reader LOGIN PASSWORD 'reader'; GRANT SELECT ON orders TO ${db.name}_reader`);
  const readerUrl = new URL(db.url);
  readerUrl.username = `${db.name}_reader`;
  readerUrl.password = 'reader';
  const url = readerUrl.toString();
  const issues = await checkPostgresTarget({
    config: {
      url,
      table: 'orders',
      key: ['id'],
      version_column: '_version',
      version_from: 'source.lsn',
      deletes: 'soft',
    },
    expected: { id: 'bigint', amount: 'numeric', note: 'text' },
  });
  assert.deepEqual(
    issues.map((issue) => [issue.path.join('.'), issue.message]),
    [
      ['version_column', 'version column "_version" is missing from public.orders'],
      ['soft_delete.flag', 'soft-delete flag column "is_deleted" is missing from public.orders'],
      ['soft_delete.at', 'soft-delete time column "deleted_at" is missing from public.orders'],
      ['key', 'public.orders has no primary key or unique index on exactly (id): upserts need one'],
      [
        'columns.amount',
        'column "amount" of public.orders is text, which cannot take values of type numeric',
      ],
      ['columns.note', 'column "note" is missing from public.orders (schema_drift: fail)'],
      [
        'table',
        'column "created_by" of public.orders is NOT NULL without a default, and records do not carry it',
      ],
      ['table', 'the user lacks the INSERT privilege on public.orders'],
      ['table', 'the user lacks the UPDATE privilege on public.orders'],
      [
        'tombstones',
        'public.sluice_tombstones (the versions of deleted rows) does not exist and the user may not create it in schema public; create it, grant CREATE on the schema, or set tombstones: false',
      ],
    ],
  );
});

test('tombstones: an existing tombstone table needs SELECT, INSERT, UPDATE and DELETE; none is checked when off', async () => {
  const db = await pg.database();
  await db.pool.query(`CREATE TABLE orders (id bigint PRIMARY KEY, _version numeric);
    CREATE TABLE sluice_tombstones (table_name text, row_key text, version numeric, deleted_at timestamptz);
    CREATE ROLE ${db.name}_writer LOGIN PASSWORD 'writer';
    GRANT SELECT, INSERT, UPDATE, DELETE ON orders TO ${db.name}_writer;
    GRANT SELECT, INSERT ON sluice_tombstones TO ${db.name}_writer`);
  const writerUrl = new URL(db.url);
  writerUrl.username = `${db.name}_writer`;
  writerUrl.password = 'writer';
  const config = {
    url: writerUrl.toString(),
    table: 'orders',
    key: ['id'],
    version_column: '_version',
    version_from: 'source.lsn',
  };
  assert.deepEqual(
    (await checkPostgresTarget({ config })).map((issue) => [issue.path.join('.'), issue.message]),
    [
      [
        'tombstones',
        'the user lacks the UPDATE privilege on public.sluice_tombstones (the versions of deleted rows)',
      ],
      [
        'tombstones',
        'the user lacks the DELETE privilege on public.sluice_tombstones (the versions of deleted rows)',
      ],
    ],
  );
  assert.deepEqual(await checkPostgresTarget({ config: { ...config, tombstones: false } }), []);
});

test('a missing table is an issue unless create_table; no server is an issue on url', async () => {
  const db = await pg.database();
  assert.deepEqual(
    (await checkPostgresTarget({ config: { url: db.url, table: 'nowhere' } })).map((issue) => issue.path),
    [['table']],
  );
  assert.deepEqual(
    await checkPostgresTarget({ config: { url: db.url, table: 'nowhere', create_table: true } }),
    [],
  );
  const port = await freePort();
  const issues = await checkPostgresTarget({
    config: { url: `postgres://u:secret@127.0.0.1:${port}/x`, table: 't' },
  });
  assert.equal(issues.length, 1);
  assert.deepEqual(issues[0]!.path, ['url']);
  assert.match(issues[0]!.message, new RegExp(`cannot connect to postgres://u@127.0.0.1:${port}/x`));
  assert.doesNotMatch(issues[0]!.message, /secret/);
});
