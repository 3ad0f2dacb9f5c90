import pg from 'pg';
import { AckTracker } from '../../runtime/ack-tracker.js';
import { parseDuration } from '../../runtime/config/duration.js';
import { messageOf, NotConnectedError, SluiceError } from '../../runtime/errors.js';
import { DEFAULTS } from '../../runtime/limits.js';
import type { ChangeRecord, Row } from '../../runtime/record.js';
import type { Source, SourceBatch, SourceContext } from '../../runtime/source.js';
import { cdcClientConfig } from './cdc-client-config.js';
import { decodeTextValue } from './cdc-text-value.js';
import { describeTarget } from './connection.js';
import { errorKind } from './error-kind.js';
import { quoteIdentifier } from './quote-identifier.js';
import type { PostgresPollConfig } from './source-poll-config.js';
import { TableName } from './table-name.js';

/** The checkpoint: the cursor and key values (as text) of the last row handled. */
interface Watermark {
  readonly cursor: string;
  readonly key: readonly string[];
}

/** The checkpoint key of the {@link Watermark}. */
const WATERMARK_KEY = 'watermark';

/**
 * The `postgres_poll` source: reads a table without replication by polling
 * `SELECT * ... WHERE (cursor, key) > ($1, $2) ORDER BY cursor, key LIMIT n`, the watermark (the cursor column,
 * typically `updated_at`, with the key as tie-breaker) kept in the pipeline's checkpoint store once the rows up to
 * it are handled. Every row comes as a `read` record holding the row's current state.
 *
 * What polling cannot see, by design: deletes (the row is gone), intermediate states between two polls, rows
 * whose cursor is NULL, and rows committed later with a cursor value below the watermark (a long transaction
 * that set `updated_at = now()` early). Use `postgres_cdc` where these matter.
 */
export class PostgresPollSource implements Source {
  readonly bounded = false;
  readonly #config: PostgresPollConfig;
  readonly #node: string;
  readonly #table: TableName;
  readonly #cursor: string;
  readonly #batchRecords: number;
  readonly #intervalMs: number;
  readonly #where: string;
  #client: pg.Client | undefined;
  #context: SourceContext | undefined;
  #key: readonly string[] = [];
  #after: Watermark | null = null;
  #tracker = new AckTracker<Watermark | null>();
  #saves: Promise<void> = Promise.resolve();

  constructor(config: PostgresPollConfig, node: string) {
    this.#config = config;
    this.#node = node;
    this.#table = TableName.parse(config.table);
    this.#cursor = config.cursor ?? 'updated_at';
    this.#batchRecords = config.batch_records ?? DEFAULTS.sourceBatchRecords;
    this.#intervalMs = parseDuration(config.interval ?? '5s');
    this.#where = describeTarget(config);
  }

  async connect(context: SourceContext): Promise<void> {
    this.#context = context;
    try {
      this.#client = new pg.Client(cdcClientConfig(this.#config, `sluice:${context.pipeline}:${context.name}`));
      this.#client.on('error', () => undefined);
      await this.#client.connect();
      this.#key = await this.#inspect(this.#client);
      this.#after = ((await context.checkpoints.load(WATERMARK_KEY)) as Watermark | undefined) ?? null;
      this.#tracker = new AckTracker<Watermark | null>(this.#after);
      this.#saves = Promise.resolve();
    } catch (error) {
      await this.close();
      if (error instanceof SluiceError) throw error;
      const retriable = errorKind(error) === 'unavailable';
      throw new SluiceError(retriable ? 'PG_SOURCE_UNAVAILABLE' : 'PG_SOURCE_FAILED', `connecting to ${this.#where} failed: ${messageOf(error)}`, {
        retriable,
        cause: error,
      });
    }
  }

  /** Checks the table and its columns; returns the key columns (configured, else the primary key). */
  async #inspect(client: pg.Client): Promise<readonly string[]> {
    const result = await client.query<{ name: string; primary: string }>(
      `SELECT a.attname AS name, coalesce(i.indisprimary, false)::text AS primary
         FROM pg_attribute a
         LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary AND a.attnum = ANY (i.indkey)
        WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY array_position(i.indkey::int2[], a.attnum)`,
      [this.#table.sql],
    );
    if (result.rows.length === 0) {
      throw new SluiceError('PG_TABLE_NOT_FOUND', `expected table ${String(this.#table)} to exist on ${this.#where}, got no such table`);
    }
    const columns = new Set(result.rows.map((row) => row.name));
    const key = this.#config.key ?? result.rows.filter((row) => row.primary === 'true').map((row) => row.name);
    if (key.length === 0) {
      throw new SluiceError('PG_POLL_KEY_MISSING', `expected table ${String(this.#table)} on ${this.#where} to have a primary key, got none: set key to columns that identify a row`);
    }
    for (const column of [this.#cursor, ...key]) {
      if (!columns.has(column)) {
        throw new SluiceError('PG_POLL_COLUMN_NOT_FOUND', `expected column "${column}" in table ${String(this.#table)} on ${this.#where}, got columns ${[...columns].join(', ')}`);
      }
    }
    return key;
  }

  async read(): Promise<SourceBatch | null> {
    const client = this.#client;
    const context = this.#context;
    if (client === undefined || context === undefined) throw new NotConnectedError(`postgres_poll source "${this.#node}"`);
    const { signal } = context;
    for (;;) {
      if (signal.aborted) return null;
      const batch = await this.#poll(client, context.name);
      if (batch !== null) return batch;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, this.#intervalMs);
        signal.addEventListener('abort', done);
      });
    }
  }

  async #poll(client: pg.Client, sourceName: string): Promise<SourceBatch | null> {
    const order = [this.#cursor, ...this.#key].map(quoteIdentifier).join(', ');
    const after = this.#after;
    const where = after === null ? '' : ` AND (${order}) > (${[after.cursor, ...after.key].map((_, index) => `$${index + 1}`).join(', ')})`;
    let result: pg.QueryResult<Record<string, string | null>>;
    try {
      result = await client.query<Record<string, string | null>>(
        `SELECT * FROM ${this.#table.sql} WHERE ${quoteIdentifier(this.#cursor)} IS NOT NULL${where} ORDER BY ${order} LIMIT ${this.#batchRecords}`,
        after === null ? [] : [after.cursor, ...after.key],
      );
    } catch (error) {
      const retriable = errorKind(error) === 'unavailable';
      throw new SluiceError(retriable ? 'PG_SOURCE_UNAVAILABLE' : 'PG_SOURCE_FAILED', `polling ${String(this.#table)} on ${this.#where} failed: ${messageOf(error)}`, {
        retriable,
        cause: error,
      });
    }
    const last = result.rows.at(-1);
    if (last === undefined) return null;
    const watermark: Watermark = { cursor: last[this.#cursor]!, key: this.#key.map((column) => last[column] ?? '') };
    this.#after = watermark;
    const types = new Map(result.fields.map((field) => [field.name, field.dataTypeID]));
    const table = String(this.#table);
    const ingestTimeMs = Date.now();
    const records = result.rows.map((raw): ChangeRecord => {
      const row: Row = {};
      for (const [column, text] of Object.entries(raw)) row[column] = text === null ? null : decodeTextValue(types.get(column) ?? 25, text);
      const key: Row = {};
      for (const column of this.#key) key[column] = row[column] ?? null;
      const cursor = raw[this.#cursor]!;
      return {
        op: 'read',
        key,
        before: null,
        after: row,
        source: { name: sourceName, position: `${cursor}|${this.#key.map((column) => raw[column] ?? '').join('|')}`, table, cursor },
        sourceTimeMs: null,
        ingestTimeMs,
        headers: {},
      };
    });
    const previous = records.length > 0 ? this.#tracker.committable : null;
    const id = this.#tracker.track(watermark);
    return {
      records,
      bytes: records.length * 128,
      watermark: records[records.length - 1]!.source.position,
      ack: (count?: number) => {
        let position: Watermark | null | undefined;
        if (count === undefined || count >= records.length) position = this.#tracker.ack(id);
        else {
          const handled = result.rows[count - 1];
          const partial = handled === undefined ? (previous ?? null) : { cursor: handled[this.#cursor]!, key: this.#key.map((column) => handled[column] ?? '') };
          position = this.#tracker.ack(id, partial);
        }
        if (position !== undefined && position !== null) this.#save(position);
      },
    };
  }

  #save(watermark: Watermark): void {
    const checkpoints = this.#context!.checkpoints;
    this.#saves = this.#saves.then(() =>
      checkpoints.save(WATERMARK_KEY, watermark).catch((error: unknown) => {
        this.#context?.logger.warn({ err: error }, 'could not save the poll watermark; it will be saved with the next one');
      }),
    );
  }

  async close(): Promise<void> {
    await this.#saves;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }
}
