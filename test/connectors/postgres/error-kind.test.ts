import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { freePort } from '../../../cli/embedded-postgres.js';
import { errorKind } from '../../../connectors/postgres/error-kind.js';
import { lockWaits, usePostgres, type TestDatabase } from '../../support/postgres.js';

const postgres = usePostgres();

/** The error `run` rejects with (it must reject). */
async function failure(run: () => Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await run();
  } catch (error) {
    return error as Error & { code?: string };
  }
  assert.fail('expected the call to fail');
}

/** Two sessions of their own on `db` (the caller ends them). */
async function twoSessions(db: TestDatabase): Promise<[pg.Client, pg.Client]> {
  const sessions = [new pg.Client({ connectionString: db.url }), new pg.Client({ connectionString: db.url })];
  await Promise.all(sessions.map((session) => session.connect()));
  return sessions as [pg.Client, pg.Client];
}

/** Waits until some session of the database waits for a lock. */
async function someoneWaits(db: TestDatabase): Promise<void> {
  for (let tries = 0; tries < 500; tries++) {
    if ((await lockWaits(db.pool)) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail('no session came to wait for a lock');
}

describe('postgres error kinds, from errors a real server raises', () => {
  test('a serialization failure and a deadlock are transient: the write is retried', async () => {
    const db = await postgres.database();
    await db.pool.query('CREATE TABLE t (id int PRIMARY KEY, n int)');
    await db.pool.query('INSERT INTO t VALUES (1, 0), (2, 0)');
    const [a, b] = await twoSessions(db);
    try {
      await a.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      await b.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      await a.query('SELECT sum(n) FROM t');
      await b.query('SELECT sum(n) FROM t');
      await a.query('UPDATE t SET n = 1 WHERE id = 1');
      await b.query('UPDATE t SET n = 1 WHERE id = 2');
      await a.query('COMMIT');
      const serialization = await failure(() => b.query('COMMIT'));
      assert.equal(serialization.code, '40001');
      assert.equal(errorKind(serialization), 'unavailable');

      await a.query('BEGIN');
      await b.query('BEGIN');
      await a.query('UPDATE t SET n = 2 WHERE id = 1');
      await b.query('UPDATE t SET n = 2 WHERE id = 2');
      const waiting = a.query('UPDATE t SET n = 3 WHERE id = 2').then(
        () => undefined,
        (error: unknown) => error as Error & { code?: string },
      );
      await someoneWaits(db);
      const second = await b.query('UPDATE t SET n = 3 WHERE id = 1').then(
        () => undefined,
        (error: unknown) => error as Error & { code?: string },
      );
      const deadlock = second ?? (await waiting);
      assert.equal(deadlock?.code, '40P01');
      assert.equal(errorKind(deadlock), 'unavailable');
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  test('too many connections and a refused connection are transient; a missing table is fatal', async () => {
    const db = await postgres.database();
    await db.pool.query(`CREATE ROLE one_session LOGIN PASSWORD 'secret' CONNECTION LIMIT 1`);
    const url = new URL(db.url);
    url.username = 'one_session';
    url.password = 'secret';
    const first = new pg.Client({ connectionString: url.toString() });
    await first.connect();
    try {
      const crowded = await failure(() => new pg.Client({ connectionString: url.toString() }).connect());
      assert.equal(crowded.code, '53300');
      assert.equal(errorKind(crowded), 'unavailable');
    } finally {
      await first.end();
    }
    const closedPort = await freePort();
    const refused = await failure(() =>
      new pg.Client({ connectionString: `postgres://x:y@127.0.0.1:${closedPort}/db` }).connect(),
    );
    assert.equal(refused.code, 'ECONNREFUSED');
    assert.equal(errorKind(refused), 'unavailable');
    const missing = await failure(() => db.pool.query('SELECT * FROM no_such_table'));
    assert.equal(missing.code, '42P01');
    assert.equal(errorKind(missing), 'fatal');
  });

  test('a constraint violation, a value too long and bad text are about records: the batch is split', async () => {
    const db = await postgres.database();
    await db.pool.query('CREATE TABLE r (id int PRIMARY KEY, code varchar(3), n int CHECK (n >= 0))');
    await db.pool.query(`INSERT INTO r VALUES (1, 'a', 1)`);
    for (const [sql, code] of [
      [`INSERT INTO r VALUES (1, 'b', 1)`, '23505'],
      [`INSERT INTO r VALUES (2, 'b', -1)`, '23514'],
      [`INSERT INTO r VALUES (3, 'long', 1)`, '22001'],
      [`INSERT INTO r VALUES (4, 'b', 'x'::int)`, '22P02'],
    ] as const) {
      const error = await failure(() => db.pool.query(sql));
      assert.equal(error.code, code, sql);
      assert.equal(errorKind(error), 'record', sql);
    }
  });
});
