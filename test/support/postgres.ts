import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import pg from 'pg';
import { startEmbeddedPostgres, type RunningPostgres } from '../../cli/embedded-postgres.js';

/** One real Postgres server shared by the tests of one file, with a fresh database per test. */
export interface TestPostgres {
  /** The running server (for `pause`/`resume` in outage tests). Set once the `before` hook ran. */
  readonly server: RunningPostgres;
  /** A pool on the server's `postgres` database, for administration (terminate backends, ...). */
  readonly admin: pg.Pool;
  /**
   * Creates a database with a unique name for one test and returns its URL and a pool on it. The pool is closed
   * when the file's tests end; the database goes with the server's temporary data directory.
   */
  database(prefix?: string): Promise<TestDatabase>;
}

/** A database of its own for one test. */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** A pool on this database for the test's own checks. */
  readonly pool: pg.Pool;
}

/** A table `dead_letters` holding DLQ rows (`deadLetterRow`), for tests whose `dlq:` is a Postgres table. */
export const DEAD_LETTER_TABLE_DDL =
  'CREATE TABLE dead_letters (node text, reason text, rule text, field text, value text, source_name text, ' +
  'source_position text, dead_lettered_at timestamptz, record jsonb, raw bytea)';

/** A name no other test uses: `prefix_` followed by random hex. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/**
 * Starts one embedded Postgres server for the calling test file (in a `before` hook) and stops it, with every
 * pool handed out, in an `after` hook, so the process exits. Call at the top level of a test file.
 */
export function usePostgres(): TestPostgres {
  let server: RunningPostgres | undefined;
  let admin: pg.Pool | undefined;
  const pools: pg.Pool[] = [];

  before(async () => {
    server = await startEmbeddedPostgres();
    admin = new pg.Pool({ connectionString: server.url, max: 2 });
    admin.on('error', () => undefined);
  });

  after(async () => {
    for (const pool of pools) await pool.end().catch(() => undefined);
    await admin?.end().catch(() => undefined);
    await server?.stop();
  });

  return {
    get server() {
      if (!server) throw new Error('usePostgres: the server is not started yet (use it inside a test)');
      return server;
    },
    get admin() {
      if (!admin) throw new Error('usePostgres: the server is not started yet (use it inside a test)');
      return admin;
    },
    async database(prefix = 'test') {
      if (!server || !admin)
        throw new Error('usePostgres: the server is not started yet (use it inside a test)');
      const name = uniqueName(prefix.toLowerCase());
      await admin.query(`CREATE DATABASE "${name}"`);
      const url = server.urlFor(name);
      const pool = new pg.Pool({ connectionString: url, max: 3 });
      // Outage tests stop the server under open pools: idle clients then report errors that are expected.
      pool.on('error', () => undefined);
      pools.push(pool);
      return { name, url, pool };
    },
  };
}

/** How many sessions of `pool`'s database are waiting for a lock now. */
export async function lockWaits(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
  );
  return rows[0]!.n;
}
