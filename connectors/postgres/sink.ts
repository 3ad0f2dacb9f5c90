import pg from 'pg';
import { parseDuration } from '../../runtime/config/index.js';
import type { DeadLetter } from '../../runtime/dead-letter.js';
import { NotConnectedError, SluiceError, messageOf } from '../../runtime/errors.js';
import { stringifyJson } from '../../runtime/json.js';
import type { ChangeRecord, Row, Value } from '../../runtime/record.js';
import type { Sink, SinkContext, WriteResult } from '../../runtime/sink.js';
import type { Change, EncodedChange } from './change.js';
import { BinaryCopyUnfitError } from './binary-copy.js';
import { CircuitBreaker, type Health } from './circuit-breaker.js';
import { collapseChanges } from './collapse.js';
import { describeTarget, poolConfig } from './connection.js';
import { errorKind } from './error-kind.js';
import { SchemaManager } from './schema-manager.js';
import { DEFAULT_TOMBSTONE_RETENTION, keepsTombstones, type PostgresSinkConfig } from './sink-config.js';
import type { TableName } from './table-name.js';
import { TableTemplate } from './table-template.js';
import { TableWriter, type CopyFirstState, type TablePlan } from './table-writer.js';
import { readPath, versionOf } from './version.js';

/** Consecutive failed writes that open the circuit, when the config says nothing. */
const DEFAULT_BREAKER_FAILURES = 5;
/** How long an open circuit refuses writes, in milliseconds, when the config says nothing. */
const DEFAULT_BREAKER_COOL_DOWN_MS = 10_000;
/** Writes that use COPY text only after one had to be done again as text (so a stream of such values pays once). */
const TEXT_COPY_WRITES_AFTER_RETRY = 64;
/** Longest time between two prunings of a table's old tombstones, in milliseconds. */
const TOMBSTONE_PRUNE_INTERVAL_MS = 3_600_000;
/** SQLSTATEs saying the cached table layout is stale: undefined column, undefined table, datatype mismatch. */
const STALE_SCHEMA_STATES = new Set(['42703', '42P01', '42804']);

/** What a Postgres sink has done so far. */
export interface PostgresSinkStats {
  /** Batches committed. */
  readonly batches: number;
  /** Row changes applied (after collapsing each batch to one change per row). */
  readonly changes: number;
  /** Records returned as rejected (refused by Postgres, or unusable: no key, no version, no table). */
  readonly rejected: number;
  /** Deletes skipped (`deletes: ignore`, or append mode) in writes that committed. */
  readonly skippedDeletes: number;
  /** Field values left out because their column does not exist (`schema_drift: warn | ignore`). */
  readonly droppedFields: number;
  /** Writes rolled back and done again as COPY text because a binary COPY met a value with no binary form. */
  readonly textRetries: number;
}

/**
 * The `postgres` sink: writes micro-batches of change records into Postgres tables, one transaction per batch.
 *
 * - `append` inserts every record's `after` row; `upsert` inserts or updates by key, and applies deletes as the
 *   `deletes` option says (hard `delete`, `soft` flag and time, or `ignore`).
 * - Within a batch one change per row survives: the last in source order, or with `version_column` the newest.
 * - With `version_column`, a change applies only when its version is greater than the row's, so replays and
 *   out-of-order duplicates never move a row back (see `versionOf` for the version forms).
 * - Tables are created and altered as `create_table` and `schema_drift` allow.
 * - Records Postgres refuses (constraint violations, values too long or invalid) are isolated by bisection and
 *   returned as rejected; connection-level failures reject the write as retriable, and after repeated failures
 *   a circuit breaker refuses writes for a cool-down (see {@link PostgresSink.health}).
 *
 * Writes are safe to repeat: upserts and deletes converge, and a repeated append batch is the caller's
 * at-least-once duplicate.
 */
export class PostgresSink implements Sink {
  readonly #config: PostgresSinkConfig;
  readonly #template: TableTemplate;
  readonly #breaker: CircuitBreaker;
  readonly #copyThreshold: number | undefined;
  /** `version_from` split at its dots. */
  readonly #versionPath: readonly string[];
  /** Per table (`schema.table`): whether large upsert groups try a plain COPY first. */
  readonly #copyFirst = new Map<string, CopyFirstState>();
  /** How long tombstones are kept, in milliseconds. */
  readonly #tombstoneRetentionMs: number;
  /** Per table: when its old tombstones were last pruned (`performance.now()`). */
  readonly #prunedAt = new Map<string, number>();
  #pool: pg.Pool | undefined;
  #schema: SchemaManager | undefined;
  #context: SinkContext | undefined;
  #batches = 0;
  #changes = 0;
  #rejected = 0;
  #skippedDeletes = 0;
  #textRetries = 0;
  /** Writes still to do with COPY text only (see {@link TEXT_COPY_WRITES_AFTER_RETRY}). */
  #textCopyWrites = 0;

  /**
   * @param copyThreshold rows per statement from which COPY is used instead of `unnest` (default: the measured
   *   `COPY_THRESHOLD`); benchmarks pass their own to compare the two.
   */
  constructor(config: PostgresSinkConfig, options: { copyThreshold?: number } = {}) {
    this.#config = config;
    this.#template = new TableTemplate(config.table);
    this.#copyThreshold = options.copyThreshold;
    this.#versionPath = (config.version_from ?? '').split('.');
    this.#tombstoneRetentionMs = parseDuration(config.tombstone_retention ?? DEFAULT_TOMBSTONE_RETENTION);
    this.#breaker = new CircuitBreaker({
      failureThreshold: config.circuit_breaker?.failures ?? DEFAULT_BREAKER_FAILURES,
      coolDownMs: config.circuit_breaker?.cool_down_ms ?? DEFAULT_BREAKER_COOL_DOWN_MS,
    });
  }

  /**
   * Opens the pool, checks that Postgres answers and reads a fixed table's columns. Rejects with retriable
   * `SINK_UNAVAILABLE` when Postgres does not answer.
   */
  async connect(context: SinkContext): Promise<void> {
    this.#context = context;
    const pool = new pg.Pool(poolConfig(this.#config, `sluice/${context.pipeline}/${context.name}`));
    // An idle connection that breaks is removed by the pool; without a listener the error would crash the process.
    pool.on('error', (error) =>
      context.logger.warn({ target: this.#target }, `idle Postgres connection failed: ${error.message}`),
    );
    const schema = new SchemaManager(pool, this.#schemaPolicy(), context.logger);
    try {
      // A fixed table's columns are read now, which also proves that Postgres answers.
      const fixed = this.#template.fixed;
      if (fixed) await schema.preload(fixed);
      else await pool.query('SELECT 1');
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw this.#classify(error, 'connecting');
    }
    this.#pool = pool;
    this.#schema = schema;
    context.logger.info(
      { target: this.#target, table: this.#config.table, mode: this.#mode },
      'Postgres sink connected',
    );
  }

  /** Writes one batch in one transaction; see the class comment. */
  async write(records: readonly ChangeRecord[]): Promise<WriteResult> {
    const pool = this.#pool;
    const schema = this.#schema;
    if (!pool || !schema) throw new NotConnectedError(`Postgres sink ${this.#context?.name ?? ''}`.trim());
    this.#breaker.admit(`write of ${records.length} records to ${this.#target}`);
    const probe = this.#breaker.state === 'half-open';
    if (this.#textCopyWrites > 0) {
      this.#textCopyWrites--;
      return (await this.#transaction(records, pool, schema, probe, false))!;
    }
    const written = await this.#transaction(records, pool, schema, probe, true);
    if (written !== undefined) return written;
    // A binary COPY met a value with no binary form after it started streaming and was rolled back: all as text.
    this.#textRetries++;
    this.#textCopyWrites = TEXT_COPY_WRITES_AFTER_RETRY;
    return (await this.#transaction(records, pool, schema, probe, false))!;
  }

  /**
   * The write's transaction; resolves undefined, having rolled back, when a binary COPY met a value with no binary
   * form after it started (`binaryCopy` true only).
   */
  async #transaction(
    records: readonly ChangeRecord[],
    pool: pg.Pool,
    schema: SchemaManager,
    probe: boolean,
    binaryCopy: boolean,
  ): Promise<WriteResult | undefined> {
    const rejected: DeadLetter[] = [];
    const { groups: byTable, skippedDeletes } = this.#prepare(records, rejected);
    let client: pg.PoolClient | undefined;
    let failure: unknown;
    // A checked-out connection that breaks also emits 'error'; without a listener that would crash the process.
    const onClientError = (error: Error) => (failure ??= error);
    try {
      const writers: { writer: TableWriter; changes: EncodedChange[] }[] = [];
      for (const { table, changes, keyColumns } of byTable) {
        let copyFirst = this.#copyFirst.get(table.toString());
        if (!copyFirst) this.#copyFirst.set(table.toString(), (copyFirst = { skip: 0, backoff: 0 }));
        const writer = new TableWriter(
          await schema.plan(table, changes, keyColumns),
          this.#copyThreshold,
          copyFirst,
          binaryCopy,
        );
        const encoded = changes.map((change, index) => writer.encode(change, index));
        writers.push({
          writer,
          changes:
            this.#mode === 'append'
              ? encoded
              : collapseChanges(encoded, this.#config.version_column !== undefined, (merged) =>
                  writer.encode(merged, 0),
                ),
        });
      }
      for (const { writer } of writers) await this.#pruneTombstones(pool, writer.plan);
      client = await pool.connect();
      client.on('error', onClientError);
      const opening = `BEGIN; ${tombstoneLocks(writers)}`;
      if (writers.length === 0) await client.query(opening);
      let applied = 0;
      for (const [index, { writer, changes }] of writers.entries()) {
        const refused = await writer.write(client, changes, index === 0 ? opening : '');
        applied += changes.length - refused.length;
        for (const { change, error } of refused)
          rejected.push(
            this.#deadLetter(
              change.record,
              `Postgres refused the change to ${writer.plan.table.toString()}: ${describePgError(error)}`,
            ),
          );
      }
      await client.query('COMMIT');
      this.#batches++;
      this.#changes += applied;
      this.#skippedDeletes += skippedDeletes;
      this.#rejected += rejected.length;
      this.#breaker.succeeded();
      if (probe)
        this.#context?.logger.info(
          { target: this.#target },
          'circuit breaker closed: the half-open probe write succeeded',
        );
      return { rejected };
    } catch (error) {
      failure = error;
      if (client && errorKind(error) !== 'unavailable') await client.query('ROLLBACK').catch(() => undefined);
      if (error instanceof BinaryCopyUnfitError && binaryCopy) return undefined;
      const classified = this.#classify(error, `writing ${records.length} records`);
      if (classified.retriable && errorKind(error) === 'unavailable') {
        const closed = this.#breaker.state === 'closed';
        this.#breaker.failed(error);
        if (this.#breaker.state === 'open' && (closed || probe))
          this.#context?.logger.warn(
            { target: this.#target },
            `circuit breaker opened${probe ? ' again: the half-open probe write failed' : ''}; writes are refused for ${this.#coolDownMs} ms: ${messageOf(error)}`,
          );
      } else this.#breaker.succeeded();
      throw classified;
    } finally {
      client?.off('error', onClientError);
      // A connection that failed is destroyed rather than returned to the pool.
      client?.release(
        failure !== undefined && errorKind(failure) === 'unavailable' ? asError(failure) : undefined,
      );
    }
  }

  /**
   * Removes a table's tombstones older than `tombstone_retention`, at its first write and then at most once per
   * retention or per hour, whichever is shorter.
   */
  async #pruneTombstones(pool: pg.Pool, plan: TablePlan): Promise<void> {
    const { tombstones } = plan;
    if (tombstones === null) return;
    const now = performance.now();
    const last = this.#prunedAt.get(tombstones.target);
    const interval = Math.min(TOMBSTONE_PRUNE_INTERVAL_MS, this.#tombstoneRetentionMs);
    if (last !== undefined && now - last < interval) return;
    await tombstones.prune(pool, this.#tombstoneRetentionMs);
    this.#prunedAt.set(tombstones.target, now);
  }

  /** Ends the pool. Idempotent. */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    this.#schema = undefined;
    await pool?.end();
  }

  /** For readiness checks: not ok while the circuit breaker is open (Postgres failed repeatedly) or probing. */
  health(): Health {
    if (!this.#pool) return { ok: false, reason: 'not connected' };
    return this.#breaker.health();
  }

  /** Counters since construction. */
  stats(): PostgresSinkStats {
    return {
      batches: this.#batches,
      changes: this.#changes,
      rejected: this.#rejected,
      skippedDeletes: this.#skippedDeletes,
      droppedFields: this.#schema?.droppedFields ?? 0,
      textRetries: this.#textRetries,
    };
  }

  get #coolDownMs(): number {
    return this.#config.circuit_breaker?.cool_down_ms ?? DEFAULT_BREAKER_COOL_DOWN_MS;
  }

  get #mode(): 'append' | 'upsert' {
    return this.#config.mode ?? 'upsert';
  }

  get #target(): string {
    return describeTarget(this.#config);
  }

  #schemaPolicy() {
    const config = this.#config;
    const deletes = config.deletes ?? 'delete';
    return {
      mode: this.#mode,
      versionColumn: config.version_column ?? null,
      softDelete:
        deletes === 'soft'
          ? { flag: config.soft_delete?.flag ?? 'is_deleted', at: config.soft_delete?.at ?? 'deleted_at' }
          : null,
      createTable: config.create_table ?? false,
      drift: config.schema_drift ?? 'fail',
      columnTypes: config.columns ?? {},
      tombstones: keepsTombstones(config),
    };
  }

  /**
   * Groups the batch's records by table as changes, in source order; unusable records become dead letters. Also
   * says how many deletes it skipped, which the write counts once it commits (a retried write prepares again).
   */
  #prepare(records: readonly ChangeRecord[], rejected: DeadLetter[]) {
    const groups = new Map<string, { table: TableName; changes: Change[]; keyColumns: readonly string[] }>();
    let skippedDeletes = 0;
    for (const record of records) if (!this.#addChange(record, groups, rejected)) skippedDeletes++;
    return { groups: [...groups.values()].filter((group) => group.changes.length > 0), skippedDeletes };
  }

  /**
   * Adds the record's change to its table's group, or its dead letter to `rejected` when it cannot be written.
   * Returns false for a delete the sink skips.
   */
  #addChange(
    record: ChangeRecord,
    groups: Map<string, { table: TableName; changes: Change[]; keyColumns: readonly string[] }>,
    rejected: DeadLetter[],
  ): boolean {
    const config = this.#config;
    const mode = this.#mode;
    if (record.op === 'delete' && (mode === 'append' || (config.deletes ?? 'delete') === 'ignore'))
      return false;
    let table: TableName;
    try {
      table = this.#template.resolve(record);
    } catch (error) {
      rejected.push(this.#deadLetter(record, messageOf(error)));
      return true;
    }
    let group = groups.get(table.toString());
    if (!group) {
      const keyColumns = config.key ?? (mode === 'upsert' ? Object.keys(record.key ?? {}) : []);
      group = { table, changes: [], keyColumns };
      groups.set(table.toString(), group);
    }
    const kind = mode === 'append' ? 'append' : record.op === 'delete' ? 'delete' : 'upsert';
    if (kind !== 'delete' && record.after === null) {
      rejected.push(this.#deadLetter(record, `expected an after row for a ${record.op} record, got null`));
      return true;
    }
    // The record's own row when it already holds the key values; a copy only when a key value must be added.
    let fields: Row = kind === 'delete' ? {} : record.after!;
    let copied = kind === 'delete';
    if (mode === 'upsert') {
      if (group.keyColumns.length === 0) {
        rejected.push(
          this.#deadLetter(
            record,
            `upsert into ${table.toString()} needs a key: set key in the sink config or send records with a key`,
          ),
        );
        return true;
      }
      for (const name of group.keyColumns) {
        const value = record.key?.[name] ?? record.after?.[name] ?? record.before?.[name];
        if (value === undefined || value === null) {
          rejected.push(
            this.#deadLetter(
              record,
              `expected key column ${JSON.stringify(name)} in the record's key, after or before row; it has none`,
              name,
            ),
          );
          return true;
        }
        if (fields[name] === value) continue;
        if (!copied) {
          fields = { ...fields };
          copied = true;
        }
        fields[name] = value;
      }
    }
    let version: string | undefined;
    if (config.version_column !== undefined) {
      const path = config.version_from ?? '';
      const raw = readPath(record, this.#versionPath);
      version = versionOf(raw);
      if (version === undefined) {
        rejected.push(
          this.#deadLetter(
            record,
            `expected a version (number, decimal, HLC, LSN or timestamp) at ${path}, got ${raw === undefined ? 'nothing' : describeValue(raw)}`,
            path,
          ),
        );
        return true;
      }
    }
    const deletedAt =
      kind === 'delete' ? new Date(record.sourceTimeMs ?? record.ingestTimeMs).toISOString() : undefined;
    // Every change has the same fields (undefined when absent): one object shape for the whole batch.
    group.changes.push({ kind, record, fields, version, deletedAt });
    return true;
  }

  #deadLetter(record: ChangeRecord, reason: string, field?: string): DeadLetter {
    return {
      node: this.#context?.name ?? 'postgres',
      reason,
      ...(field === undefined ? {} : { field }),
      source: { name: record.source.name, position: record.source.position },
      record,
    };
  }

  /** Turns any failure into a SluiceError: retriable `SINK_UNAVAILABLE`, or non-retriable `SINK_WRITE_FAILED`. */
  #classify(error: unknown, doing: string): SluiceError {
    if (error instanceof SluiceError) return error;
    const kind = errorKind(error);
    const code = sqlState(error);
    if (code !== undefined && STALE_SCHEMA_STATES.has(code)) {
      // Someone changed the table under us: read its columns again on the retry.
      this.#schema?.invalidate();
      return new SluiceError(
        'SINK_SCHEMA_CHANGED',
        `Postgres at ${this.#target} refused ${doing}: ${describePgError(error)}; the table layout will be read again`,
        { retriable: true, cause: error },
      );
    }
    if (kind === 'unavailable') {
      return new SluiceError(
        'SINK_UNAVAILABLE',
        `Postgres at ${this.#target} was unavailable while ${doing}: ${describePgError(error)}`,
        { retriable: true, cause: error },
      );
    }
    return new SluiceError(
      'SINK_WRITE_FAILED',
      `Postgres at ${this.#target} failed ${doing} to ${this.#config.table}: ${describePgError(error)}`,
      { cause: error },
    );
  }
}

/** The SQLSTATE of a pg error, when it has one. */
function sqlState(error: unknown): string | undefined {
  return error instanceof pg.DatabaseError ? error.code : undefined;
}

/** The database's message with its SQLSTATE and detail: what a DLQ entry or a log line should show. */
function describePgError(error: unknown): string {
  if (error instanceof pg.DatabaseError) {
    return `${error.message}${error.detail ? ` (${error.detail})` : ''} [SQLSTATE ${error.code ?? '?'}]`;
  }
  return messageOf(error);
}

/** A short text for a value in a message. */
function describeValue(value: Value): string {
  return value === null ? 'null' : stringifyJson(value).slice(0, 80);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * The tombstone locks a write takes right after `BEGIN` (see `TombstoneTable.lockStatement`): one per table that
 * keeps tombstones and gets changes, exclusive where they include a delete, in lock-key order so that two writes
 * of the same tables never wait for each other in a circle.
 */
function tombstoneLocks(writers: readonly { writer: TableWriter; changes: readonly EncodedChange[] }[]): string {
  return writers
    .flatMap(({ writer, changes }) => {
      const { tombstones } = writer.plan;
      if (tombstones === null || changes.length === 0) return [];
      return [{ tombstones, deletes: changes.some((change) => change.change.kind === 'delete') }];
    })
    .sort((a, b) => a.tombstones.lockKey - b.tombstones.lockKey)
    .map(({ tombstones, deletes }) => tombstones.lockStatement(deletes))
    .join(' ');
}
