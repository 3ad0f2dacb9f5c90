import type pg from 'pg';
import { poolConfig } from './connection.js';
import type { PostgresConnectionConfig } from './sink-config.js';

/** Returns every value as the text Postgres sent, for `decodeTextValue`. */
const textTypes: pg.CustomTypesConfig = { getTypeParser: () => (text: string) => text };

/**
 * `pg.Client` settings for reading change data: every value arrives as text (decoded by Sluice's own lossless
 * rules), the session uses `DateStyle=ISO` and `TimeZone=UTC`, and `replication: 'database'` opens a walsender
 * connection that accepts replication commands.
 */
export function cdcClientConfig(
  options: PostgresConnectionConfig,
  applicationName: string,
  replication = false,
): pg.ClientConfig & { replication?: string } {
  const { max: _max, ...client } = poolConfig(options, applicationName);
  return {
    ...client,
    types: textTypes,
    options: '-c DateStyle=ISO -c TimeZone=UTC -c extra_float_digits=3',
    ...(replication ? { replication: 'database' } : {}),
  };
}
