import pg from 'pg';
import { startEmbeddedPostgres, type RunningPostgres } from '../../cli/embedded-postgres.js';

/** A benchmark's own Postgres: an embedded server with one fresh database, and a pool on that database. */
export interface BenchPostgres {
  /** URL of the benchmark's database. */
  readonly url: string;
  /** A small pool on the benchmark's database, for set-up, the ceilings and the final checks. */
  readonly pool: pg.Pool;
  readonly server: RunningPostgres;
  /** Ends the pool and stops the server (removing its data). */
  stop(): Promise<void>;
}

/**
 * Starts an embedded Postgres (before any timing: this takes seconds) with a database named `database`, and
 * runs `setup` (DDL) in it. Every system of a Postgres scenario starts its own, so no run sees another's data or
 * its WAL and caches.
 */
export async function startBenchPostgres(database: string, setup: string): Promise<BenchPostgres> {
  const server = await startEmbeddedPostgres();
  try {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const url = server.urlFor(database);
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    // An idle client whose server goes away reports it here; queries in progress still reject.
    pool.on('error', () => undefined);
    await pool.query(setup);
    return {
      url,
      pool,
      server,
      async stop() {
        await pool.end();
        await server.stop();
      },
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}
