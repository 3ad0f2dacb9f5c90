import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';

/** One row of a sinkless changefeed as the peer sends it: `table` STRING, `key` and `value` BYTES (as text). */
export interface PeerRow {
  readonly table: string | null;
  readonly key: string | null;
  readonly value: string | null;
}

const TEXT_OID = 25;
const BYTEA_OID = 17;
const BOOL_OID = 16;
const SSL_REQUEST = 80_877_103;
const PROTOCOL_3 = 196_608;
/** Rows put into one socket write (a real server writes its buffer, not one row at a time). */
const ROWS_PER_WRITE = 16;

/**
 * A test peer speaking the Postgres wire protocol (v3, simple queries) like a CockroachDB gateway serving a sinkless
 * changefeed. It answers `CREATE CHANGEFEED ...` with the `table, key, value` columns and streams the rows given to
 * {@link feed} without ever completing the query, waiting for the socket to drain after each row (so a client that
 * stops reading holds it back, as TCP holds CockroachDB back). It also answers `SHOW CLUSTER SETTING
 * kv.rangefeed.enabled` and `SELECT * FROM <table> LIMIT 0` for the tables it knows. Every query text is kept.
 */
export class CrdbSqlPeer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  /** Rows not yet written, oldest first. */
  #pending: PeerRow[] = [];
  /** The socket currently running a changefeed, if any. */
  #feedSocket: Socket | undefined;
  #pumping = false;
  #changefeedWaiters: { count: number; resolve: (statement: string) => void }[] = [];
  /** Every query text received, in order. */
  readonly queries: string[] = [];
  /** Rows written to a changefeed connection so far. */
  written = 0;
  /** What `SHOW CLUSTER SETTING kv.rangefeed.enabled` answers. */
  rangefeedEnabled = true;
  /** Tables `SELECT * FROM ... LIMIT 0` finds (quoted names as in the query, e.g. `"orders"`). */
  readonly tables = new Set<string>();

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Starts listening on a free port of 127.0.0.1. */
  static async start(): Promise<CrdbSqlPeer> {
    const server = createServer();
    const peer = new CrdbSqlPeer(server);
    server.on('connection', (socket) => peer.#serve(socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return peer;
  }

  /** The port it listens on. */
  get port(): number {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('the peer is not listening');
    return address.port;
  }

  /** A connection URL for it. */
  url(database = 'defaultdb'): string {
    return `postgresql://root:secret@127.0.0.1:${this.port}/${database}`;
  }

  /** The CREATE CHANGEFEED statements received so far. */
  get changefeeds(): string[] {
    return this.queries.filter((query) => /^\s*CREATE CHANGEFEED/i.test(query));
  }

  /** Resolves with the `count`-th CREATE CHANGEFEED statement once it has arrived. */
  waitForChangefeed(count: number): Promise<string> {
    const existing = this.changefeeds[count - 1];
    if (existing !== undefined) return Promise.resolve(existing);
    return new Promise((resolve) => this.#changefeedWaiters.push({ count, resolve }));
  }

  /** Queues rows for the changefeed (the current one, or the next to start). */
  feed(rows: readonly PeerRow[]): void {
    this.#pending.push(...rows);
    void this.#pump();
  }

  /** Rows queued and not yet written. */
  get unsent(): number {
    return this.#pending.length;
  }

  /** Cuts every client connection (a gateway node going away); rows not yet written stay queued. */
  dropConnections(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Cuts connections and stops listening. */
  async stop(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => {
      this.#sockets.delete(socket);
      if (this.#feedSocket === socket) this.#feedSocket = undefined;
    });
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    let started = false;
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (!started) {
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) return;
          const code = buffer.readInt32BE(4);
          buffer = buffer.subarray(length);
          if (code === SSL_REQUEST) {
            socket.write('N');
            continue;
          }
          if (code !== PROTOCOL_3) {
            socket.destroy();
            return;
          }
          started = true;
          socket.write(
            Buffer.concat([
              message('R', int32(0)),
              message('S', cstring('server_version'), cstring('13.0.0')),
              message('S', cstring('client_encoding'), cstring('UTF8')),
              message('S', cstring('standard_conforming_strings'), cstring('on')),
              message('K', int32(4242), int32(1)),
              ready(),
            ]),
          );
          continue;
        }
        if (buffer.length < 5) return;
        const length = buffer.readInt32BE(1);
        if (buffer.length < length + 1) return;
        const type = String.fromCharCode(buffer[0]!);
        const body = buffer.subarray(5, length + 1);
        buffer = buffer.subarray(length + 1);
        if (type === 'X') {
          socket.end();
          return;
        }
        if (type === 'Q') this.#query(socket, body.subarray(0, body.length - 1).toString('utf8'));
        else socket.write(Buffer.concat([errorResponse('0A000', `unsupported message ${type}`), ready()]));
      }
    });
  }

  #query(socket: Socket, text: string): void {
    this.queries.push(text);
    if (/^\s*CREATE CHANGEFEED/i.test(text)) {
      if (/\bINTO\b/i.test(text)) {
        socket.write(
          Buffer.concat([errorResponse('0A000', 'the test peer serves sinkless changefeeds only'), ready()]),
        );
        return;
      }
      socket.write(
        rowDescription([
          ['table', TEXT_OID],
          ['key', BYTEA_OID],
          ['value', BYTEA_OID],
        ]),
      );
      this.#feedSocket = socket;
      const count = this.changefeeds.length;
      this.#changefeedWaiters = this.#changefeedWaiters.filter((waiter) => {
        if (waiter.count > count) return true;
        waiter.resolve(this.changefeeds[waiter.count - 1]!);
        return false;
      });
      void this.#pump();
      return;
    }
    if (/^\s*SHOW CLUSTER SETTING kv\.rangefeed\.enabled\s*$/i.test(text)) {
      socket.write(
        Buffer.concat([
          rowDescription([['kv.rangefeed.enabled', BOOL_OID]]),
          dataRow([this.rangefeedEnabled ? 't' : 'f']),
          message('C', cstring('SHOW 1')),
          ready(),
        ]),
      );
      return;
    }
    const probe = /^SELECT \* FROM (.+) LIMIT 0$/.exec(text);
    if (probe && this.tables.has(probe[1]!)) {
      socket.write(
        Buffer.concat([rowDescription([['id', TEXT_OID]]), message('C', cstring('SELECT 0')), ready()]),
      );
      return;
    }
    const code = probe ? '42P01' : '42601';
    socket.write(
      Buffer.concat([
        errorResponse(
          code,
          probe ? `relation ${probe[1]} does not exist` : `the test peer does not understand: ${text}`,
        ),
        ready(),
      ]),
    );
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (;;) {
        const socket = this.#feedSocket;
        if (socket === undefined || socket.destroyed || this.#pending.length === 0) return;
        const rows = this.#pending.splice(0, ROWS_PER_WRITE);
        const flushed = socket.write(
          Buffer.concat(rows.map((row) => dataRow([row.table, bytea(row.key), bytea(row.value)]))),
        );
        this.written += rows.length;
        if (!flushed) await drained(socket);
      }
    } finally {
      this.#pumping = false;
    }
  }
}

/** Resolves when `socket` drains or closes. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
}

function int16(value: number): Buffer {
  const buffer = Buffer.alloc(2);
  buffer.writeInt16BE(value);
  return buffer;
}

function cstring(text: string): Buffer {
  return Buffer.from(`${text}\u0000`, 'utf8');
}

function message(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(type), int32(body.length + 4), body]);
}

function ready(): Buffer {
  return message('Z', Buffer.from('I'));
}

function rowDescription(columns: readonly [string, number][]): Buffer {
  return message(
    'T',
    int16(columns.length),
    ...columns.map(([name, oid]) =>
      Buffer.concat([cstring(name), int32(0), int16(0), int32(oid), int16(-1), int32(-1), int16(0)]),
    ),
  );
}

function dataRow(values: readonly (string | null)[]): Buffer {
  return message(
    'D',
    int16(values.length),
    ...values.map((value) => {
      if (value === null) return int32(-1);
      const bytes = Buffer.from(value, 'utf8');
      return Buffer.concat([int32(bytes.length), bytes]);
    }),
  );
}

/** BYTES in the text format: `\x` and hex digits. */
function bytea(text: string | null): string | null {
  return text === null ? null : `\\x${Buffer.from(text, 'utf8').toString('hex')}`;
}

function errorResponse(code: string, text: string): Buffer {
  return message(
    'E',
    cstring('SERROR'),
    cstring('VERROR'),
    cstring(`C${code}`),
    cstring(`M${text}`),
    Buffer.from([0]),
  );
}
