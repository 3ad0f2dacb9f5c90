import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres } from '../embedded-postgres.js';
import { EXIT } from '../exit-codes.js';
import { runCommand } from './run.js';

/** Options of `sluice quickstart`. */
export interface QuickstartOptions {
  /** Records to generate. */
  readonly records: number;
  /** Keep the embedded Postgres running after the run, until Ctrl-C, to look at the data with psql. */
  readonly keep?: boolean;
}

/** examples/quickstart.yaml, found from this file whether it runs from source or from dist/. */
function quickstartConfig(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!dir.endsWith('cli')) dir = dirname(dir);
  const root = dirname(dir);
  return join(root.endsWith('dist') ? dirname(root) : root, 'examples', 'quickstart.yaml');
}

/**
 * `sluice quickstart`: the demo on embedded defaults. Starts a real Postgres from the embedded-postgres package
 * (in a temporary directory, removed when it stops), runs examples/quickstart.yaml into it from a fresh checkpoint,
 * prints the summary, shows what landed and how to look at it.
 */
export async function quickstartCommand(options: QuickstartOptions): Promise<number> {
  const dir = resolve('.sluice', 'quickstart');
  await rm(join(dir, 'state'), { recursive: true, force: true });
  await rm(join(dir, 'dlq.jsonl'), { force: true });
  console.log('starting an embedded Postgres (no server to install) ...');
  // A fresh cluster in a temporary directory: the server runs as an unprivileged user, which may not be able to
  // reach a directory under the current one (a root user's home is private).
  const postgres = await startEmbeddedPostgres();
  try {
    const code = await runCommand(quickstartConfig(), {
      env: {
        ...process.env,
        QUICKSTART_PG_URL: postgres.url,
        QUICKSTART_RECORDS: String(options.records),
        QUICKSTART_DIR: dir,
      },
    });
    if (code !== EXIT.ok) return code;
    const client = new pg.Client(postgres.url);
    await client.connect();
    try {
      const { rows } = await client.query<{ rows: string; paid: string; total: string }>(
        `SELECT count(*) AS rows, count(*) FILTER (WHERE status = 'paid') AS paid, sum(amount) AS total FROM public.orders`,
      );
      const summary = rows[0]!;
      console.log(
        `\nlanded in Postgres: public.orders holds ${summary.rows} orders (${summary.paid} paid, total amount ${summary.total});` +
          `\nrejected records with their reasons: ${join(dir, 'dlq.jsonl')}`,
      );
    } finally {
      await client.end();
    }
    if (options.keep) {
      console.log(`\nPostgres stays up until Ctrl-C. Look at the data with:\n  psql ${postgres.url} -c 'SELECT * FROM public.orders LIMIT 10'`);
      await new Promise<void>((resolveWait) => process.once('SIGINT', () => resolveWait()));
    } else {
      console.log(`to look at the data with psql, run: npm run sluice -- quickstart --keep`);
    }
    return EXIT.ok;
  } finally {
    await postgres.stop();
  }
}
