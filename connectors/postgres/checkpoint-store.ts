import { createHash } from 'node:crypto';
import pg from 'pg';
import type { CheckpointStore } from '../../runtime/checkpoint-store.js';
import { SluiceError } from '../../runtime/errors.js';
import { parseJson, stringifyJson } from '../../runtime/json.js';
import type { Value } from '../../runtime/record.js';
import { describeTarget, poolConfig } from './connection.js';
import { errorKind } from './error-kind.js';
import type { PostgresConnectionConfig } from './sink-config.js';
import { TableName } from './table-name.js';

/** The table checkpoints go to when the options name none (schema `public`). */
export const DEFAULT_CHECKPOINT_TABLE = 'sluice_checkpoints';

/** Options of {@link PostgresCheckpointStore}. */
export interface PostgresCheckpointStoreOptions extends PostgresConnectionConfig {
  /** The table, created when absent. Default {@link DEFAULT_CHECKPOINT_TABLE}. */
  readonly table?: string;
}

/**
 * A {@link CheckpointStore} in a Postgres table
 * `(pipeline_key text primary key, checkpoint jsonb, sha256 text, saved_at timestamptz)`.
 *
 * Each save is one upsert statement (atomic). The checksum is the hex SHA-256 of the checkpoint's canonical text,
 * which is the text Postgres prints for the stored `jsonb` (keys sorted, spacing fixed): the server computes it
 * on save from the value it stores, and `load` recomputes it from the same text. A row whose checksum does not
 * match (edited by hand, damaged) rejects with code `CHECKPOINT_CORRUPT`; it is never reset silently.
 * Numbers keep their exact digits (bigints, `26.30`) both ways.
 */
export class PostgresCheckpointStore implements CheckpointStore {
  readonly #pool: pg.Pool;
  readonly #table: TableName;
  readonly #target: string;
  #ready: Promise<void> | undefined;
  #closed = false;

  constructor(options: PostgresCheckpointStoreOptions) {
    this.#table = TableName.parse(options.table ?? DEFAULT_CHECKPOINT_TABLE);
    this.#target = describeTarget(options);
    this.#pool = new pg.Pool(
      poolConfig(
        { ...options, pool: { max: options.pool?.max ?? 2, ...options.pool } },
        'sluice/checkpoints',
      ),
    );
    this.#pool.on('error', () => undefined);
  }

  /** Reads a key's checkpoint, or undefined when none was saved. */
  async load(key: string): Promise<unknown> {
    await this.#ensureTable();
    const result = await this.#query<{ checkpoint: string; sha256: string }>(
      `SELECT checkpoint::text AS checkpoint, sha256 FROM ${this.#table.sql} WHERE pipeline_key = $1`,
      [key],
      `loading checkpoint ${JSON.stringify(key)}`,
    );
    const row = result.rows[0];
    if (!row) return undefined;
    const actual = createHash('sha256').update(row.checkpoint, 'utf8').digest('hex');
    if (actual !== row.sha256) {
      throw new SluiceError(
        'CHECKPOINT_CORRUPT',
        `checkpoint ${JSON.stringify(key)} in ${this.#table.toString()} at ${this.#target} fails its checksum: expected sha256 ${row.sha256}, the stored value hashes to ${actual}; fix or delete the row to start over`,
      );
    }
    return parseJson(row.checkpoint);
  }

  /** Saves a key's checkpoint in one statement. */
  async save(key: string, checkpoint: unknown): Promise<void> {
    await this.#ensureTable();
    let text: string;
    try {
      text = stringifyJson(checkpoint as Value);
    } catch (cause) {
      throw new SluiceError(
        'CHECKPOINT_INVALID',
        `checkpoint ${JSON.stringify(key)} is not JSON-serialisable: ${String(cause)}`,
        { cause },
      );
    }
    if (text === undefined)
      throw new SluiceError(
        'CHECKPOINT_INVALID',
        `checkpoint ${JSON.stringify(key)} is not JSON-serialisable: got ${typeof checkpoint}`,
      );
    await this.#query(
      `INSERT INTO ${this.#table.sql} AS stored (pipeline_key, checkpoint, sha256, saved_at)
       SELECT $1, value, encode(sha256(convert_to(value::text, 'UTF8')), 'hex'), now() FROM (SELECT $2::jsonb AS value) AS incoming
       ON CONFLICT (pipeline_key) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, sha256 = EXCLUDED.sha256, saved_at = EXCLUDED.saved_at`,
      [key, text],
      `saving checkpoint ${JSON.stringify(key)}`,
    );
  }

  /** Ends the pool. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  #ensureTable(): Promise<void> {
    this.#ready ??= this.#query(
      `CREATE TABLE IF NOT EXISTS ${this.#table.sql} (pipeline_key text PRIMARY KEY, checkpoint jsonb NOT NULL, sha256 text NOT NULL, saved_at timestamptz NOT NULL)`,
      [],
      'creating the checkpoint table',
    ).then(
      () => undefined,
      (error: unknown) => {
        this.#ready = undefined;
        throw error;
      },
    );
    return this.#ready;
  }

  async #query<R extends pg.QueryResultRow>(
    text: string,
    values: unknown[],
    doing: string,
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(text, values);
    } catch (cause) {
      throw new SluiceError(
        'CHECKPOINT_STORE_FAILED',
        `${doing} in ${this.#table.toString()} at ${this.#target} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
        {
          retriable: errorKind(cause) === 'unavailable',
          cause,
        },
      );
    }
  }
}
