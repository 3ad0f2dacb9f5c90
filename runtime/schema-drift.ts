import { Decimal } from './decimal.js';
import type { ChangeRecord, Row, Value } from './record.js';

/**
 * What a sink or the engine does when a stream's shape changes:
 * - `auto`: adapt (add the column to the target table, widen its type);
 * - `warn`: keep going and log the change once;
 * - `fail`: stop the pipeline before writing the record that changed it (`PipelineFailure`, code `SCHEMA_DRIFT`);
 * - `ignore`: keep going silently.
 */
export type SchemaDriftPolicy = 'auto' | 'warn' | 'fail' | 'ignore';

/** Every drift policy, for schemas and messages. */
export const SCHEMA_DRIFT_POLICIES: readonly SchemaDriftPolicy[] = ['auto', 'warn', 'fail', 'ignore'];

/**
 * The kind of a column value. Numbers are `integer` (whole `number`s and `bigint`s) or `decimal` (any other
 * number or `Decimal`): a column that held integers and then holds `2.5` has widened; the reverse has not.
 */
export type ValueKind =
  'null' | 'boolean' | 'integer' | 'decimal' | 'string' | 'timestamp' | 'bytes' | 'array' | 'object';

/** One change in a stream's shape, reported once by {@link SchemaTracker.observe}. */
export interface SchemaChange {
  readonly kind: 'column_added' | 'column_removed' | 'type_changed';
  /** The stream: the record's `source.table`, or the source's name when it has no table. */
  readonly stream: string;
  readonly column: string;
  /** The column's kind before the change (`type_changed`, `column_removed`). */
  readonly from?: ValueKind;
  /** The column's kind after it (`type_changed`, `column_added`; `null` when added with only null values). */
  readonly to?: ValueKind;
}

/** Bounds and sensitivity of a {@link SchemaTracker}. */
export interface SchemaTrackerOptions {
  /**
   * Consecutive records of a stream that must lack a column before it counts as removed (default 1000;
   * `Infinity`: never). A column that is present with a null value is not missing.
   */
  readonly removedAfter?: number;
  /** Most columns remembered per stream (default 10 000); columns beyond are not tracked (see `stats`). */
  readonly maxColumns?: number;
  /** Most streams remembered (default 10 000); streams beyond are not tracked (see `stats`). */
  readonly maxStreams?: number;
}

/** What a tracker knows about one column. */
interface ColumnState {
  /** The latest kind reported (or learned: the first non-null kind replaces `null` silently). */
  kind: ValueKind;
  /** Every non-null kind seen, so that each change is reported once even when values alternate. */
  readonly seen: Set<ValueKind>;
  /** The stream's record number when the column was last present. */
  lastSeen: number;
  removed: boolean;
}

interface StreamState {
  readonly columns: Map<string, ColumnState>;
  /** Records observed. */
  records: number;
  /** Columns tracked and not removed. */
  active: number;
}

const NO_CHANGES: readonly SchemaChange[] = Object.freeze([]);

/** The {@link ValueKind} of a value. */
export function valueKind(value: Value): ValueKind {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isInteger(value) ? 'integer' : 'decimal';
    case 'bigint':
      return 'integer';
    case 'string':
      return 'string';
    default:
      if (value instanceof Decimal) return 'decimal';
      if (value instanceof Date) return 'timestamp';
      if (value instanceof Uint8Array) return 'bytes';
      return Array.isArray(value) ? 'array' : 'object';
  }
}

/** True when a column already holding `seen` kinds takes a `kind` value without changing type. */
function fits(seen: Set<ValueKind>, kind: ValueKind): boolean {
  return kind === 'null' || seen.has(kind) || (kind === 'integer' && seen.has('decimal'));
}

/**
 * Tracks each stream's columns (top-level fields of `after`, or of `before` for deletes) and the kinds of their
 * values, and reports changes in shape, each once: a new column, a column missing for `removedAfter` consecutive
 * records, a value of a kind the column has not held before (nulls never change a kind; integers fit a decimal
 * column). The first record of a stream sets its baseline and reports nothing (`columns()` shows it). A removed
 * column that comes back is reported as added again.
 *
 * Sparse JSON, where a record may leave out fields, is why a column is removed only after `removedAfter`
 * consecutive records without it: one record lacking it is normal there. Memory is bounded by `maxStreams` ×
 * `maxColumns` column entries; the common case (every tracked column present) costs O(fields of the record).
 */
export class SchemaTracker {
  private readonly removedAfter: number;
  private readonly maxColumns: number;
  private readonly maxStreams: number;
  private readonly streams = new Map<string, StreamState>();
  private untrackedColumns = 0;
  private untrackedStreams = 0;

  constructor(options: SchemaTrackerOptions = {}) {
    this.removedAfter = options.removedAfter ?? 1000;
    this.maxColumns = options.maxColumns ?? 10_000;
    this.maxStreams = options.maxStreams ?? 10_000;
    if (!(this.removedAfter >= 1))
      throw new RangeError(`expected removedAfter >= 1, got ${this.removedAfter}`);
  }

  /** The stream a record belongs to: its `source.table`, or its source's name. */
  static streamOf(record: ChangeRecord): string {
    return record.source.table ?? record.source.name;
  }

  /** A change in words, for logs and failures: `orders: column amount changed from integer to decimal`. */
  static describe(change: SchemaChange): string {
    switch (change.kind) {
      case 'column_added':
        return `${change.stream}: column ${change.column} added (${change.to ?? 'null'})`;
      case 'column_removed':
        return `${change.stream}: column ${change.column} removed (was ${change.from ?? 'null'})`;
      case 'type_changed':
        return `${change.stream}: column ${change.column} changed from ${change.from ?? 'null'} to ${change.to ?? 'null'}`;
    }
  }

  /**
   * Notes a record's shape and returns the changes it shows, in column order (added and changed first, then
   * removed). A delete without a `before` image shows no shape and changes nothing.
   */
  observe(record: ChangeRecord): readonly SchemaChange[] {
    const row: Row | null = record.after ?? record.before;
    if (row === null) return NO_CHANGES;
    const name = SchemaTracker.streamOf(record);
    let stream = this.streams.get(name);
    if (stream === undefined) {
      if (this.streams.size >= this.maxStreams) {
        this.untrackedStreams++;
        return NO_CHANGES;
      }
      stream = { columns: new Map(), records: 0, active: 0 };
      this.streams.set(name, stream);
      this.learn(stream, row);
      return NO_CHANGES;
    }
    stream.records++;
    let changes: SchemaChange[] | undefined;
    let present = 0;
    for (const column of Object.keys(row)) {
      const kind = valueKind(row[column]!);
      const state = stream.columns.get(column);
      if (state === undefined) {
        if (stream.columns.size >= this.maxColumns) {
          this.untrackedColumns++;
          continue;
        }
        stream.columns.set(column, this.column(kind, stream.records));
        stream.active++;
        present++;
        (changes ??= []).push({ kind: 'column_added', stream: name, column, to: kind });
        continue;
      }
      state.lastSeen = stream.records;
      if (state.removed) {
        state.removed = false;
        stream.active++;
        if (kind !== 'null') state.seen.add(kind);
        state.kind = kind === 'null' ? state.kind : kind;
        (changes ??= []).push({ kind: 'column_added', stream: name, column, to: kind });
      } else if (!fits(state.seen, kind)) {
        state.seen.add(kind);
        if (state.kind === 'null') state.kind = kind;
        else {
          (changes ??= []).push({ kind: 'type_changed', stream: name, column, from: state.kind, to: kind });
          state.kind = kind;
        }
      }
      present++;
    }
    if (present < stream.active) this.sweep(stream, name, (changes ??= []));
    return changes ?? NO_CHANGES;
  }

  /** The columns of a stream and their latest kinds (removed columns left out), or undefined for an unknown stream. */
  columns(stream: string): ReadonlyMap<string, ValueKind> | undefined {
    const state = this.streams.get(stream);
    if (state === undefined) return undefined;
    const columns = new Map<string, ValueKind>();
    for (const [column, { kind, removed }] of state.columns) if (!removed) columns.set(column, kind);
    return columns;
  }

  /** Streams tracked, and fields and streams seen but not tracked because a bound was reached. */
  stats(): { streams: number; untrackedColumns: number; untrackedStreams: number } {
    return {
      streams: this.streams.size,
      untrackedColumns: this.untrackedColumns,
      untrackedStreams: this.untrackedStreams,
    };
  }

  private column(kind: ValueKind, recordNumber: number): ColumnState {
    return { kind, seen: new Set(kind === 'null' ? [] : [kind]), lastSeen: recordNumber, removed: false };
  }

  private learn(stream: StreamState, row: Row): void {
    for (const column of Object.keys(row)) {
      if (stream.columns.size >= this.maxColumns) {
        this.untrackedColumns++;
        continue;
      }
      stream.columns.set(column, this.column(valueKind(row[column]!), 0));
      stream.active++;
    }
  }

  /** Marks the columns missing for `removedAfter` records as removed. */
  private sweep(stream: StreamState, name: string, changes: SchemaChange[]): void {
    for (const [column, state] of stream.columns) {
      if (state.removed || stream.records - state.lastSeen < this.removedAfter) continue;
      state.removed = true;
      stream.active--;
      changes.push({ kind: 'column_removed', stream: name, column, from: state.kind });
    }
  }
}
