import type pg from 'pg';
import type { ConfigIssue } from '../../runtime/component.js';
import type { PostgresConnectionConfig } from './sink-config.js';

/** Connections a pool opens at most when the config says nothing. */
const DEFAULT_POOL_MAX = 4;
/** How long opening a connection may take, in milliseconds, when the config says nothing. */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * `pg.Pool` settings from connection options: `url` first, then the separate fields override its parts.
 * `applicationName` shows in `pg_stat_activity`, so an operator can see which pipeline node holds a connection.
 */
export function poolConfig(options: PostgresConnectionConfig, applicationName: string): pg.PoolConfig {
  return {
    ...(options.url === undefined ? {} : { connectionString: options.url }),
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.user === undefined ? {} : { user: options.user }),
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(options.database === undefined ? {} : { database: options.database }),
    ...(options.ssl ? { ssl: { rejectUnauthorized: true } } : {}),
    max: options.pool?.max ?? DEFAULT_POOL_MAX,
    connectionTimeoutMillis: options.pool?.connect_timeout_ms ?? DEFAULT_CONNECT_TIMEOUT_MS,
    application_name: applicationName.slice(0, 63),
  };
}

/** Where the options point, without the password: `postgres://user@host:port/database`. */
export function describeTarget(options: PostgresConnectionConfig): string {
  let user = options.user;
  let host = options.host;
  let port = options.port === undefined ? undefined : String(options.port);
  let database = options.database;
  if (options.url !== undefined) {
    try {
      const url = new URL(options.url);
      user ??= decodeURIComponent(url.username);
      host ??= url.hostname;
      port ??= url.port;
      database ??= decodeURIComponent(url.pathname.slice(1));
    } catch {
      return 'postgres://(unparsable url)';
    }
  }
  return `postgres://${user ?? ''}${user ? '@' : ''}${host ?? 'localhost'}:${port || '5432'}/${database ?? ''}`;
}

/** Config issues of connection options the schema cannot see: no connection named, a URL of another scheme. */
export function connectionIssues(options: PostgresConnectionConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (options.url === undefined && options.host === undefined) {
    issues.push({ path: [], message: 'expected a connection: url, or host (with user, password, database)' });
  }
  if (options.url !== undefined && !/^postgres(ql)?:\/\//.test(options.url)) {
    issues.push({ path: ['url'], message: 'expected a URL starting with postgres:// or postgresql://' });
  }
  return issues;
}
