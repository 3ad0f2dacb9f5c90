import type { Socket } from 'node:net';
import pg from 'pg';
import { SluiceError } from '../../runtime/errors.js';
import { cdcClientConfig } from './cdc-client-config.js';
import { Lsn } from './cdc-lsn.js';
import { quoteIdentifier } from './quote-identifier.js';
import type { PostgresConnectionConfig } from './sink-config.js';

/** The part of pg's internal wire connection the copy-both stream needs: pg has no public API for it. */
interface WireConnection {
  on(event: 'copyData', listener: (message: { chunk: Buffer }) => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  readonly stream: Socket;
}

/** What the stream delivers, in server order. */
export interface ReplicationHandlers {
  /** An XLogData message: one pgoutput message starting at WAL position `walStart`. */
  onData(walStart: bigint, payload: Buffer): void;
  /** A primary keepalive: the server has sent everything before `walEnd`. Replied to already when requested. */
  onKeepalive(walEnd: bigint): void;
  /** The stream failed or ended; no more calls follow. */
  onEnd(error: Error): void;
}

/** A snapshot a new slot exported, and the LSN it stands for: it sees exactly the commits before that point. */
export interface ExportedSnapshot {
  readonly consistentPoint: bigint;
  /** The name `SET TRANSACTION SNAPSHOT` imports. */
  readonly snapshotName: string;
}

/** How long `close` waits for the server to end the stream cleanly, in milliseconds. */
const STOP_TIMEOUT_MS = 5_000;

/** Milliseconds between the Unix epoch and the Postgres epoch (2000-01-01). */
const POSTGRES_EPOCH_MS = 946_684_800_000n;

/**
 * A walsender connection (`replication=database`) speaking the logical replication protocol: creates a slot
 * with an exported snapshot, streams pgoutput from a slot over copy-both, and sends standby status updates that
 * confirm a flushed position. Only the caller decides which position is flushed.
 */
export class ReplicationConnection {
  readonly #client: pg.Client;
  readonly #wire: WireConnection;
  #flushed = 0n;
  #streaming = false;
  #closed = false;
  #stopped: Promise<unknown> = Promise.resolve();

  private constructor(client: pg.Client) {
    this.#client = client;
    this.#wire = (client as unknown as { connection: WireConnection }).connection;
  }

  /** Opens the connection. Rejects with the `pg` error (the caller classifies it). */
  static async open(options: PostgresConnectionConfig, applicationName: string): Promise<ReplicationConnection> {
    const client = new pg.Client(cdcClientConfig(options, applicationName, true));
    const connection = new ReplicationConnection(client);
    client.on('error', () => undefined);
    await client.connect();
    return connection;
  }

  /**
   * Creates a logical pgoutput slot and exports a snapshot of the moment the slot became consistent: it sees
   * exactly the transactions that committed before the consistent point. The snapshot can be imported
   * (`SET TRANSACTION SNAPSHOT`) until this connection runs its next command. A `temporary` slot is dropped when
   * this connection closes.
   */
  async createSlot(slot: string, options: { temporary?: boolean } = {}): Promise<ExportedSnapshot> {
    const temporary = options.temporary === true ? ' TEMPORARY' : '';
    const result = await this.#client.query<{ consistent_point: string; snapshot_name: string }>(
      `CREATE_REPLICATION_SLOT ${quoteIdentifier(slot)}${temporary} LOGICAL pgoutput EXPORT_SNAPSHOT`,
    );
    const row = result.rows[0]!;
    return { consistentPoint: Lsn.parse(row.consistent_point), snapshotName: row.snapshot_name };
  }

  /**
   * Starts streaming the slot from `startLsn` (the server skips what the slot confirmed already) with pgoutput
   * protocol version 1. Resolves once the server accepted the command; data then flows to `handlers`.
   */
  async start(slot: string, startLsn: bigint, publication: string, handlers: ReplicationHandlers): Promise<void> {
    const publicationName = quoteIdentifier(publication).replaceAll("'", "''");
    const command = `START_REPLICATION SLOT ${quoteIdentifier(slot)} LOGICAL ${Lsn.format(startLsn)} (proto_version '1', publication_names '${publicationName}')`;
    this.#flushed = startLsn;
    let ended = false;
    const end = (error: Error): void => {
      if (ended) return;
      ended = true;
      handlers.onEnd(error);
    };
    this.#wire.on('copyData', ({ chunk }) => {
      if (ended) return;
      try {
        if (chunk[0] === 0x77) handlers.onData(chunk.readBigUInt64BE(1), chunk.subarray(25));
        else if (chunk[0] === 0x6b) {
          if (chunk[17] === 1) this.sendStatus(this.#flushed);
          handlers.onKeepalive(chunk.readBigUInt64BE(1));
        }
      } catch (error) {
        end(error instanceof Error ? error : new Error(String(error)));
      }
    });
    this.#client.on('error', (error) => end(error));
    this.#client.on('end', () => end(new SluiceError('PG_REPLICATION_ENDED', 'the replication connection closed', { retriable: true })));
    const started = new Promise<void>((resolve, reject) => {
      (this.#wire as unknown as { once(event: 'replicationStart', listener: () => void): void }).once('replicationStart', resolve);
      const query = this.#client.query(command);
      this.#stopped = query.catch(() => undefined);
      query.then(
        () => {
          reject(new SluiceError('PG_REPLICATION_ENDED', 'the server ended the replication stream', { retriable: true }));
          end(new SluiceError('PG_REPLICATION_ENDED', 'the server ended the replication stream', { retriable: true }));
        },
        (error: unknown) => {
          const failure = error instanceof Error ? error : new Error(String(error));
          reject(failure);
          end(failure);
        },
      );
    });
    await started;
    this.#streaming = true;
  }

  /**
   * Sends a standby status update confirming `flushed` as written, flushed and applied: the server may then
   * recycle the WAL before it and will resume the slot from there. Never moves backwards. No-op once closed.
   */
  sendStatus(flushed: bigint): void {
    if (this.#closed) return;
    if (flushed > this.#flushed) this.#flushed = flushed;
    const message = Buffer.alloc(34);
    message[0] = 0x72;
    message.writeBigUInt64BE(this.#flushed, 1);
    message.writeBigUInt64BE(this.#flushed, 9);
    message.writeBigUInt64BE(this.#flushed, 17);
    message.writeBigInt64BE((BigInt(Date.now()) - POSTGRES_EPOCH_MS) * 1000n, 25);
    message[33] = 0;
    this.#wire.sendCopyFromChunk(message);
  }

  /** True between a successful `start` and `close`. */
  get streaming(): boolean {
    return this.#streaming && !this.#closed;
  }

  /** Stops reading from the socket (the server then waits): the caller's buffer is full. */
  pause(): void {
    this.#wire.stream.pause();
  }

  /** Reads from the socket again. */
  resume(): void {
    this.#wire.stream.resume();
  }

  /**
   * Ends the connection. When streaming, first confirms the last flushed position and ends the copy-both stream,
   * waiting (a few seconds at most) for the server to acknowledge: the server has then recorded the position and
   * released the slot. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#streaming) {
      this.sendStatus(this.#flushed);
      this.#wire.endCopyFrom();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#stopped, new Promise((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS)))]);
      clearTimeout(timer);
    }
    this.#closed = true;
    await this.#client.end().catch(() => undefined);
  }
}
