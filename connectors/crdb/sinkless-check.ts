import pg from 'pg';
import type { ConfigIssue } from '../../runtime/component.js';
import { messageOf } from '../../runtime/errors.js';
import { quoteTableName } from './sinkless-table-name.js';
import { sinklessTarget } from './sinkless-target.js';

/** What {@link checkCrdbSinkless} needs: the source's connection URL and tables. */
export interface CrdbSinklessCheckOptions {
  readonly url: string;
  readonly tables: readonly string[];
  /** Longest the connection may take to open, in milliseconds (default 10 s). */
  readonly connectTimeoutMs?: number;
}

/**
 * For `sluice validate --connect`: connects with the source's URL and reports, as config issues (paths relative
 * to the source's options), what would stop the changefeed: no connection, `kv.rangefeed.enabled` off (changefeeds
 * need rangefeeds), a table that does not exist or cannot be read.
 */
export async function checkCrdbSinkless(options: CrdbSinklessCheckOptions): Promise<ConfigIssue[]> {
  const target = sinklessTarget(options.url);
  const client = new pg.Client({
    connectionString: options.url,
    application_name: 'sluice/validate',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    return [{ path: ['url'], message: `cannot connect to ${target}: ${messageOf(error)}` }];
  }
  const issues: ConfigIssue[] = [];
  try {
    const setting = await client.query<Record<string, unknown>>('SHOW CLUSTER SETTING kv.rangefeed.enabled');
    const enabled = Object.values(setting.rows[0] ?? {})[0];
    if (enabled !== true && enabled !== 'true') {
      issues.push({
        path: ['url'],
        message: `expected the cluster setting kv.rangefeed.enabled to be true at ${target}, got ${String(enabled)}: run SET CLUSTER SETTING kv.rangefeed.enabled = true`,
      });
    }
  } catch (error) {
    issues.push({
      path: ['url'],
      message: `cannot read the cluster setting kv.rangefeed.enabled at ${target}: ${messageOf(error)}`,
    });
  }
  for (const [index, table] of options.tables.entries()) {
    try {
      await client.query(`SELECT * FROM ${quoteTableName(table)} LIMIT 0`);
    } catch (error) {
      issues.push({
        path: ['tables', index],
        message: `cannot read table ${table} at ${target}: ${messageOf(error)}`,
      });
    }
  }
  await client.end().catch(() => undefined);
  return issues;
}
