import type { Value } from '../../runtime/record.js';
import type { ChangefeedEnvelope } from './changefeed-envelope.js';
import { Hlc } from './hlc.js';
import { isRow } from './json-shapes.js';

/** The top-level fields a wrapped value may carry, and the type each must have. */
const WRAPPED_FIELDS: Readonly<Record<string, (value: Value) => boolean>> = {
  after: rowOrNull,
  before: rowOrNull,
  key: Array.isArray,
  topic: isString,
  updated: isString,
  mvcc_timestamp: isString,
};

/** The top-level fields an enriched value (or its `payload`) may carry, and the type each must have. */
const ENRICHED_FIELDS: Readonly<Record<string, (value: Value) => boolean>> = {
  after: rowOrNull,
  before: rowOrNull,
  op: (value) => value === 'c' || value === 'u' || value === 'd',
  ts_ns: (value) => typeof value === 'bigint' || Number.isInteger(value),
  source: isRow,
  key: isRow,
};

/**
 * Tells a changefeed value's envelope from its shape, for `envelope: auto`. Resolved messages are recognised
 * before this is asked. The rules, in order:
 * 1. an empty or `null` value is a `row` tombstone (a delete); `key_only` messages look the same, so a
 *    `key_only` feed must say so;
 * 2. exactly `payload` (an object) and `schema` (an object): `enriched` with schema;
 * 3. `op` (`c`/`u`/`d`) and `after`, and nothing but the enriched fields with their types: `enriched`;
 * 4. `after` (object or null), and nothing but the wrapped fields (`before`, `key`, `topic`, `updated`,
 *    `mvcc_timestamp`) with their types: `wrapped`; also with other fields (one a later CockroachDB adds) when
 *    `updated` or `mvcc_timestamp` is an HLC text and the wrapped fields present have their types;
 * 5. a `__crdb__` object: `bare`;
 * 6. anything else: `row`.
 *
 * Ambiguous on purpose: a row-envelope table whose columns are only `after` (an object or null) and wrapped
 * field names reads as wrapped; one whose columns also include `op` reads as enriched; one with a `__crdb__`
 * column reads as bare; a bare delete (only `__crdb__`) reads as row. Set the envelope explicitly for such tables.
 */
export function detectEnvelope(value: Value | undefined): Exclude<ChangefeedEnvelope, 'auto' | 'key_only'> {
  if (!isRow(value)) return 'row';
  const fields = Object.keys(value);
  if (fields.length === 2 && isRow(value.payload) && isRow(value.schema)) return 'enriched';
  if ('after' in value && 'op' in value && fits(value, fields, ENRICHED_FIELDS)) return 'enriched';
  if ('after' in value && fits(value, fields, WRAPPED_FIELDS)) return 'wrapped';
  if (
    'after' in value &&
    (Hlc.isText(value.updated) || Hlc.isText(value.mvcc_timestamp)) &&
    fits(value, fields.filter((field) => Object.hasOwn(WRAPPED_FIELDS, field)), WRAPPED_FIELDS)
  )
    return 'wrapped';
  if (isRow(value.__crdb__)) return 'bare';
  return 'row';
}

function fits(
  value: Record<string, Value>,
  fields: string[],
  allowed: Readonly<Record<string, (value: Value) => boolean>>,
): boolean {
  return fields.every((field) => Object.hasOwn(allowed, field) && allowed[field]!(value[field]!));
}

function rowOrNull(value: Value): boolean {
  return value === null || isRow(value);
}

function isString(value: Value): boolean {
  return typeof value === 'string';
}
