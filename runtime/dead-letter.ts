import type { ChangeRecord, Row, Value } from './record.js';

/**
 * A record (or undecodable input) that Sluice set aside instead of writing, with the reason. Dead letters go to the
 * pipeline's dead-letter queue; a record counts as handled (and its source position may be committed) once its
 * dead letter is written.
 */
export interface DeadLetter {
  /** The pipeline node that rejected it (a source that could not decode it, an operator, a sink). */
  readonly node: string;
  /** Why, in words: what was expected and what came. */
  readonly reason: string;
  /** The data-quality rule that failed, when a rule did. */
  readonly rule?: string;
  /** The field the rule or error concerns, when one does. */
  readonly field?: string;
  /** The offending value, when there is one. */
  readonly value?: Value;
  /** The source and position the input came from. */
  readonly source: { readonly name: string; readonly position: string };
  /** The record as decoded, when decoding succeeded. */
  readonly record?: ChangeRecord;
  /** The raw input, when it could not be decoded. */
  readonly raw?: string | Uint8Array;
}

/**
 * The row a dead letter becomes in a DLQ sink (a file, a table, a topic): one flat row whose columns are
 * the dead letter's fields, the original record kept whole under `record`.
 */
export function deadLetterRow(letter: DeadLetter, atMs: number): Row {
  const row: Row = {
    node: letter.node,
    reason: letter.reason,
    rule: letter.rule ?? null,
    field: letter.field ?? null,
    value: letter.value ?? null,
    source_name: letter.source.name,
    source_position: letter.source.position,
    dead_lettered_at: new Date(atMs),
    record: letter.record ? recordRow(letter.record) : null,
    raw: letter.raw ?? null,
  };
  return row;
}

/** A change record as a plain row (for DLQ entries and replay). */
export function recordRow(record: ChangeRecord): Row {
  const source: Row = {};
  for (const field of Object.keys(record.source)) {
    const value = record.source[field];
    if (value !== undefined) source[field] = value;
  }
  return {
    op: record.op,
    key: record.key,
    before: record.before,
    after: record.after,
    source,
    source_time_ms: record.sourceTimeMs,
    ingest_time_ms: record.ingestTimeMs,
    headers: { ...record.headers },
  };
}
