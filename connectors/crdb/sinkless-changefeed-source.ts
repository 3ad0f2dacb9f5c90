import pg from 'pg';
import type { DeadLetter } from '../../runtime/dead-letter.js';
import { messageOf, NotConnectedError, SluiceError } from '../../runtime/errors.js';
import type { ChangeRecord } from '../../runtime/record.js';
import type { Source, SourceBatch, SourceContext } from '../../runtime/source.js';
import type { ChangefeedDecodeOptions } from './changefeed-decode-options.js';
import { decodeSinklessRow, type SinklessRow } from './decode-sinkless-row.js';
import type { Hlc } from './hlc.js';
import { ResolvedCheckpoint } from './resolved-checkpoint.js';
import { sinklessStatement, type SinklessStatementOptions } from './sinkless-statement.js';
import { sinklessTarget } from './sinkless-target.js';

/** Everything a {@link CrdbSinklessSource} needs, already validated (see `sinkless-source.ts` for the YAML options). */
export interface CrdbSinklessSourceOptions {
  /** `postgresql://user[:password]@host:26257/database?sslmode=...` (pg reads `sslrootcert`, `sslcert`, `sslkey`). */
  readonly url: string;
  /** The statement's tables, envelope and options; the cursor comes from the checkpoint. */
  readonly feed: Omit<SinklessStatementOptions, 'cursor'>;
  /** Key column names by table (see `ChangefeedDecodeOptions.keyColumns`). */
  readonly keyColumns?: ChangefeedDecodeOptions['keyColumns'];
  /** Most rows in one batch. */
  readonly batchRecords: number;
  /** Rows received and not yet handed out before the connection is paused; it resumes at half. */
  readonly maxBufferedRows: number;
  /** Longest the connection may take to open, in milliseconds. */
  readonly connectTimeoutMs: number;
}

/** SQLSTATE classes of failures that the same statement meets again: bad settings, not a passing fault. */
const PERMANENT_SQLSTATE = /^(0A|22|28|42)/;

/** One open changefeed connection. */
interface Running {
  readonly context: SourceContext;
  readonly client: pg.Client;
  readonly checkpoint: ResolvedCheckpoint;
  readonly onAbort: () => void;
}

/**
 * A CockroachDB core (sinkless) changefeed: a dedicated SQL connection runs `CREATE CHANGEFEED FOR TABLE ... WITH
 * ...` without `INTO`, and the never-ending result (`table`, `key`, `value` rows) is the stream. Rows are decoded
 * as by `decodeSinklessRow`; one that cannot be decoded goes to the DLQ. A resolved row closes its batch and is the
 * batch's `watermark`; once it and every batch before it are acknowledged it becomes the checkpoint, and a restart
 * runs the statement again with `cursor = '<that HLC>'` (changes after it arrive again: at least once).
 *
 * Memory is bounded: when `maxBufferedRows` rows wait to be read, the connection's socket is paused (TCP then holds
 * CockroachDB back) until half of them are handed out.
 */
export class CrdbSinklessSource implements Source {
  readonly bounded = false;
  readonly #options: CrdbSinklessSourceOptions;
  #running: Running | undefined;
  #rows: SinklessRow[] = [];
  #head = 0;
  #paused = false;
  #failure: SluiceError | undefined;
  #waiter: (() => void) | undefined;
  #closed: Promise<void> | undefined;
  /** The last resolved timestamp read and the rows read since, for positions. */
  #lastResolved = 'start';
  #sinceResolved = 0;
  #statement = '';

  constructor(options: CrdbSinklessSourceOptions) {
    this.#options = options;
  }

  /** The statement the last `connect` ran (with its cursor), for logs and tests. */
  get statement(): string {
    return this.#statement;
  }

  async connect(context: SourceContext): Promise<void> {
    const options = this.#options;
    const where = `crdb_sinkless source "${context.name}"`;
    const checkpoint = await ResolvedCheckpoint.load(context.checkpoints, context.logger, where);
    const cursor = checkpoint.committed;
    const statement = sinklessStatement({ ...options.feed, ...(cursor === undefined ? {} : { cursor }) });
    this.#rows = [];
    this.#head = 0;
    this.#paused = false;
    this.#failure = undefined;
    this.#closed = undefined;
    this.#lastResolved = cursor?.toString() ?? 'start';
    this.#sinceResolved = 0;
    this.#statement = statement;
    const client = new pg.Client({
      connectionString: options.url,
      application_name: `sluice/${context.pipeline}/${context.name}`.slice(0, 63),
      connectionTimeoutMillis: options.connectTimeoutMs,
    });
    client.on('error', (error) => this.#fail(error, 'the changefeed connection failed'));
    try {
      await client.connect();
    } catch (cause) {
      await client.end().catch(() => undefined);
      throw new SluiceError(
        'CRDB_CONNECT_FAILED',
        `${where}: could not connect to ${sinklessTarget(options.url)}: ${messageOf(cause)}`,
        {
          retriable: !isPermanent(cause),
          cause,
        },
      );
    }
    const query = new pg.Query<SinklessRow>(statement);
    query.on('row', (row) => this.#push(row));
    query.on('error', (error) => this.#fail(error, 'the changefeed failed'));
    query.on('end', () => this.#fail(undefined, 'the changefeed ended'));
    client.query(query);
    const onAbort = () => this.#wake();
    context.signal.addEventListener('abort', onAbort, { once: true });
    this.#running = { context, client, checkpoint, onAbort };
    context.logger.info(
      { statement, target: sinklessTarget(options.url) },
      `${where} started its changefeed`,
    );
  }

  async read(): Promise<SourceBatch | null> {
    const running = this.#running;
    if (running === undefined || this.#closed !== undefined)
      throw new NotConnectedError('crdb_sinkless source');
    for (;;) {
      if (running.checkpoint.failure) throw running.checkpoint.failure;
      if (this.#head < this.#rows.length) return this.#takeBatch(running);
      if (this.#failure) throw this.#failure;
      if (running.context.signal.aborted) return null;
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
  }

  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  #push(row: SinklessRow): void {
    this.#rows.push({ table: row.table, key: row.key, value: row.value });
    if (!this.#paused && this.#rows.length - this.#head >= this.#options.maxBufferedRows) {
      this.#paused = true;
      this.#running?.client.connection.stream.pause();
    }
    this.#wake();
  }

  #takeBatch(running: Running): SourceBatch {
    const { context, checkpoint } = running;
    const records: ChangeRecord[] = [];
    const rejected: DeadLetter[] = [];
    let resolved: Hlc | undefined;
    let bytes = 0;
    const ingestTimeMs = Date.now();
    while (
      this.#head < this.#rows.length &&
      records.length + rejected.length < this.#options.batchRecords &&
      resolved === undefined
    ) {
      const row = this.#rows[this.#head++]!;
      bytes += (row.table?.length ?? 0) + (row.key?.length ?? 0) + (row.value?.length ?? 0);
      const position = `${this.#lastResolved}+${++this.#sinceResolved}`;
      try {
        const event = decodeSinklessRow(row, {
          sourceName: context.name,
          position,
          envelope: this.#options.feed.envelope,
          ingestTimeMs,
          keyColumns: this.#options.keyColumns,
        });
        if (event.kind === 'change') {
          records.push(event.record);
        } else {
          resolved = event.hlc;
          this.#lastResolved = event.hlc.toString();
          this.#sinceResolved = 0;
        }
      } catch (cause) {
        if (!(cause instanceof SluiceError)) throw cause;
        rejected.push({
          node: context.name,
          reason: cause.message,
          source: { name: context.name, position },
          raw: rawText(row),
        });
      }
    }
    this.#compact();
    const handled = checkpoint.track(resolved);
    let acknowledged = false;
    return {
      records,
      ...(rejected.length > 0 ? { rejected } : {}),
      bytes,
      ...(resolved === undefined ? {} : { watermark: resolved.toString() }),
      ack: (count?: number) => {
        if (acknowledged) return;
        acknowledged = true;
        handled(count === undefined || count >= records.length);
      },
    };
  }

  /** Drops handed-out rows and resumes a paused connection once half the buffer is free. */
  #compact(): void {
    if (this.#head * 2 >= this.#rows.length) {
      this.#rows = this.#rows.slice(this.#head);
      this.#head = 0;
    }
    if (this.#paused && this.#rows.length - this.#head <= this.#options.maxBufferedRows / 2) {
      this.#paused = false;
      this.#running?.client.connection.stream.resume();
    }
  }

  #fail(cause: unknown, what: string): void {
    if (this.#closed !== undefined || this.#failure !== undefined) return;
    const detail = cause === undefined ? 'the server closed the result' : messageOf(cause);
    this.#failure = new SluiceError(
      'CRDB_CHANGEFEED_FAILED',
      `${what} on ${sinklessTarget(this.#options.url)}: ${detail}`,
      {
        retriable: !isPermanent(cause),
        cause,
      },
    );
    this.#wake();
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  async #shutdown(): Promise<void> {
    const running = this.#running;
    if (running === undefined) return;
    this.#running = undefined;
    running.context.signal.removeEventListener('abort', running.onAbort);
    this.#wake();
    // The changefeed never ends by itself: close the socket instead of waiting for the query to finish.
    running.client.connection.stream.destroy();
    await running.client.end().catch(() => undefined);
    await running.checkpoint.flush();
  }
}

function isPermanent(cause: unknown): boolean {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && PERMANENT_SQLSTATE.test(code);
}

function rawText(row: SinklessRow): string {
  const text = (part: Uint8Array | string | null) =>
    part === null ? 'NULL' : typeof part === 'string' ? part : Buffer.from(part).toString('utf8');
  return `table=${row.table ?? 'NULL'} key=${text(row.key)} value=${text(row.value)}`;
}
