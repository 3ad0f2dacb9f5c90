import type { Decimal } from './decimal.js';

/**
 * What happened to a row: a new row, a changed row, a removed row, or a row read by a snapshot (initial scan,
 * backfill) rather than by a change.
 */
export type Operation = 'insert' | 'update' | 'delete' | 'read';

/** Every operation, in a fixed order (for schemas and messages). */
export const OPERATIONS: readonly Operation[] = ['insert', 'update', 'delete', 'read'];

/**
 * A value that flows through Sluice without loss.
 * - integers beyond 2^53 are `bigint`, exact decimals are {@link Decimal}; other numbers are `number`;
 * - timestamps are `Date` (millisecond precision) or, where the source sends more, the source's own string;
 * - binary data is `Uint8Array`; JSON objects and arrays nest.
 */
export type Value = null | boolean | number | bigint | string | Decimal | Date | Uint8Array | Value[] | Row;

/** A row, a key, or any JSON-like object: column name to value. */
export interface Row {
  [column: string]: Value;
}

/**
 * Where a record came from. `name` is the source node in the pipeline; `position` is an opaque, human-readable
 * place in that source (`orders.jsonl:42`, `orders/3@1187`, `0/16B3748`) used in checkpoints, DLQ entries and
 * error messages. Connectors add their own fields (`topic`, `partition`, `offset`, `lsn`, `hlc`, ...).
 */
export interface SourceInfo {
  /** The source node's name in the pipeline config. */
  readonly name: string;
  /** The record's place in that source, as text. */
  readonly position: string;
  /** The table (or topic, or file) the change belongs to, when the source knows it: `schema.table` or `table`. */
  readonly table?: string;
  /** Connector-specific facts: Kafka `topic`/`partition`/`offset`, Postgres `lsn`, CockroachDB `hlc` and `cluster_id`, ... */
  readonly [field: string]: Value | undefined;
}

/**
 * The one record type that flows everywhere in Sluice. Connectors translate wire formats into it at the edge;
 * operators and the runtime see nothing else.
 */
export interface ChangeRecord {
  /** What happened. */
  op: Operation;
  /** The primary key (column name to value), or null when the source has none. */
  key: Row | null;
  /** The row before the change, when the source sends it (updates and deletes with a diff), else null. */
  before: Row | null;
  /** The row after the change; null for deletes. */
  after: Row | null;
  /** Where the record came from. */
  source: SourceInfo;
  /** When the change was committed at the source (milliseconds since the epoch), or null when unknown. */
  sourceTimeMs: number | null;
  /** When Sluice read the record (milliseconds since the epoch). */
  ingestTimeMs: number;
  /** Message headers (Kafka headers, HTTP headers kept by a webhook source, `traceparent`, ...). */
  headers: Record<string, string>;
}
