import { objectFromFields } from '../../runtime/object-from-fields.js';
import type { ChangeRecord, Operation, Row, SourceInfo, Value } from '../../runtime/record.js';
import { ChangefeedDecodeError } from './changefeed-decode-error.js';
import type { ChangefeedDecodeOptions } from './changefeed-decode-options.js';
import type { ChangefeedEnvelope } from './changefeed-envelope.js';
import type { ChangefeedEvent } from './changefeed-event.js';
import { detectEnvelope } from './detect-envelope.js';
import { Hlc } from './hlc.js';
import { describeValue, isRow } from './json-shapes.js';
import { readResolved } from './read-resolved.js';

/** What a transport knows about a value besides the value itself. */
export interface ChangefeedValueContext {
  readonly options: ChangefeedDecodeOptions;
  /** The value's own position (a webhook body's items each get one). */
  readonly position: string;
  /** The Kafka topic it arrived on. */
  readonly topic?: string;
  /** The table the transport names (the sinkless `table` column). */
  readonly table?: string;
  /** Transport headers to copy into the record. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** What an envelope reader finds in a value; the record is built from it. */
interface ChangeParts {
  readonly op: Operation;
  readonly after: Row | null;
  readonly before: Row | null;
  /** The key carried in the value (`key_in_value`, `__crdb__.key`, enriched `key`). */
  readonly key?: Value;
  /** The topic carried in the value (`topic_in_value`, `__crdb__.topic`). */
  readonly topic?: string;
  /** The change's version as the envelope states it (`updated`, enriched `source.ts_hlc`). */
  readonly updated?: Hlc;
  /** The row's own MVCC timestamp. */
  readonly mvccTimestamp?: Hlc;
  /** The enriched `source` block. */
  readonly sourceBlock?: Row;
  /** Enriched top-level `ts_ns`: when the changefeed processed the row (not the commit time). */
  readonly processedTsNs?: bigint;
}

type EnvelopeReader = (value: Value | undefined, context: ChangefeedValueContext) => ChangeParts;

const JSON_NULL_MARKER = '__crdb_json_null__';
/** Record source fields the decoder sets itself; an enriched source block cannot override them. */
const RESERVED_SOURCE_FIELDS = new Set([
  'name',
  'position',
  'table',
  'topic',
  'envelope',
  'hlc',
  'processed_ts_ns',
]);

/**
 * Decodes one parsed changefeed value (`undefined` for an empty value) with its parsed message key into an event.
 * Shared by every transport; see `decodeChangefeedMessage` for the rules. Throws {@link ChangefeedDecodeError}.
 */
export function decodeChangefeedValue(
  value: Value | undefined,
  messageKey: Value | undefined,
  context: ChangefeedValueContext,
): ChangefeedEvent {
  const requested = context.options.envelope ?? 'wrapped';
  const resolved = readResolved(value, requested, context.position);
  if (resolved) return { kind: 'resolved', hlc: resolved };
  const envelope = requested === 'auto' ? detectEnvelope(value) : requested;
  const parts = READERS[envelope](value, context);
  return { kind: 'change', record: buildRecord(envelope, parts, messageKey, context) };
}

const READERS: Readonly<Record<Exclude<ChangefeedEnvelope, 'auto'>, EnvelopeReader>> = {
  wrapped(value, context) {
    const body = requireObject(value, 'a wrapped value (an object with "after")', context);
    const where = 'wrapped value';
    const after = readRow(body, 'after', where, context, true);
    const before = readRow(body, 'before', where, context, false) ?? null;
    return {
      op: after === null ? 'delete' : before === null ? 'insert' : 'update',
      after,
      before,
      key: body.key,
      topic: readString(body, 'topic', where, context),
      updated: readHlc(body, 'updated', where, context),
      mvccTimestamp: readHlc(body, 'mvcc_timestamp', where, context),
    };
  },

  enriched(value, context) {
    let body = requireObject(
      value,
      'an enriched value (an object with "op" and "after", or "payload" and "schema")',
      context,
    );
    let where = 'enriched value';
    if (!Object.hasOwn(body, 'op') && isRow(body.payload)) {
      body = body.payload;
      where = '"payload" of the enriched value';
    }
    const op = body.op;
    if (op !== 'c' && op !== 'u' && op !== 'd')
      return fail(`"op" of the ${where} to be "c", "u" or "d"`, op, context);
    const after = readRow(body, 'after', where, context, true);
    if ((op === 'd') !== (after === null)) {
      return fail(
        `"after" of the ${where} to be ${op === 'd' ? 'null for op "d"' : `an object for op "${op}"`}`,
        after,
        context,
      );
    }
    const sourceBlock = body.source;
    if (sourceBlock !== undefined && !isRow(sourceBlock))
      return fail(`"source" of the ${where} to be an object`, sourceBlock, context);
    const sourceWhere = `"source" of the ${where}`;
    return {
      op: op === 'c' ? 'insert' : op === 'u' ? 'update' : 'delete',
      after,
      before: readRow(body, 'before', where, context, false) ?? null,
      key: body.key,
      updated: sourceBlock && readHlc(sourceBlock, 'ts_hlc', sourceWhere, context),
      mvccTimestamp: sourceBlock && readHlc(sourceBlock, 'mvcc_timestamp', sourceWhere, context),
      sourceBlock,
      processedTsNs: readInteger(body, 'ts_ns', where, context),
    };
  },

  bare(value, context) {
    if (value === undefined || value === null) return { op: 'delete', after: null, before: null };
    const body = requireObject(value, 'a bare value (the row\'s columns and "__crdb__")', context);
    const meta = body.__crdb__;
    if (meta !== undefined && !isRow(meta))
      return fail('"__crdb__" of the bare value to be an object', meta, context);
    const columns = Object.entries(body).filter(([column]) => column !== '__crdb__');
    const after = columns.length === 0 ? null : Object.fromEntries(columns);
    const where = '"__crdb__" of the bare value';
    return {
      op: after === null ? 'delete' : 'insert',
      after,
      before: null,
      key: meta?.key,
      topic: meta && readString(meta, 'topic', where, context),
      updated: meta && readHlc(meta, 'updated', where, context),
      mvccTimestamp: meta && readHlc(meta, 'mvcc_timestamp', where, context),
    };
  },

  row(value, context) {
    if (value === undefined || value === null) return { op: 'delete', after: null, before: null };
    return {
      op: 'insert',
      after: requireObject(value, 'a row value (an object of columns) or an empty value', context),
      before: null,
    };
  },

  key_only(value, context) {
    if (value !== undefined && value !== null)
      return fail('an empty value in the key_only envelope', value, context);
    return { op: 'insert', after: null, before: null };
  },
};

function buildRecord(
  envelope: string,
  parts: ChangeParts,
  messageKey: Value | undefined,
  context: ChangefeedValueContext,
): ChangeRecord {
  const block = parts.sourceBlock;
  const table = (block && enrichedTable(block)) ?? context.table ?? parts.topic ?? context.topic;
  const names = keyNames(table, parts, context);
  const after = parts.after && withoutJsonNullMarkers(parts.after);
  const before = parts.before && withoutJsonNullMarkers(parts.before);
  const key = keyRow(parts.key ?? messageKey, names, table, context) ?? projectKey(names, after ?? before);
  if (key === null && after === null && before === null) {
    return fail(
      `a key to tell which row a ${envelope} ${parts.op} concerns (a message key or a key in the value)`,
      undefined,
      context,
    );
  }
  const hlc = parts.updated ?? parts.mvccTimestamp;
  const topic = parts.topic ?? context.topic;
  const fields: string[] = ['name', 'position'];
  const values: (Value | undefined)[] = [context.options.sourceName, context.position];
  const add = (name: string, value: Value | undefined) => {
    fields.push(name);
    values.push(value);
  };
  if (table !== undefined) add('table', table);
  if (topic !== undefined) add('topic', topic);
  const transport = context.options.sourceFields;
  if (transport) for (const field in transport) add(field, transport[field]);
  add('envelope', envelope);
  if (hlc) add('hlc', hlc.toString());
  if (parts.mvccTimestamp) add('mvcc_timestamp', parts.mvccTimestamp.toString());
  if (block) copySourceBlock(block, add, context);
  if (parts.processedTsNs !== undefined) add('processed_ts_ns', parts.processedTsNs);
  const source = objectFromFields(fields, values);
  return {
    op: parts.op,
    key,
    before,
    after,
    source: source as SourceInfo,
    sourceTimeMs: hlc ? hlc.wallTimeMs : null,
    ingestTimeMs: context.options.ingestTimeMs ?? Date.now(),
    headers: { ...context.headers },
  };
}

/** `database.schema.table` from an enriched source block, with whichever parts it gives. */
function enrichedTable(block: Row): string | undefined {
  const table = block.table_name;
  if (typeof table !== 'string' || table === '') return undefined;
  const parts = [block.database_name, block.schema_name].filter(
    (part): part is string => typeof part === 'string' && part !== '',
  );
  return [...parts, table].join('.');
}

/**
 * Primary-key column names for array keys: the `keyColumns` option, else enriched `source.primary_keys`. The
 * option is looked up by the table name and each shorter suffix of it (`db.public.t`, `public.t`, `t`), then the
 * same without its last part, for a column family's topic (`t.family`).
 */
function keyNames(
  table: string | undefined,
  parts: ChangeParts,
  context: ChangefeedValueContext,
): readonly string[] | undefined {
  const configured = context.options.keyColumns;
  if (configured && table !== undefined) {
    const withoutFamily = table.includes('.') ? [table.slice(0, table.lastIndexOf('.'))] : [];
    for (const full of [table, ...withoutFamily]) {
      for (let name = full; ; name = name.slice(name.indexOf('.') + 1)) {
        if (Object.hasOwn(configured, name)) return configured[name];
        if (!name.includes('.')) break;
      }
    }
  }
  const primaryKeys = parts.sourceBlock?.primary_keys;
  if (primaryKeys === undefined) return undefined;
  if (Array.isArray(primaryKeys) && primaryKeys.every((name) => typeof name === 'string')) return primaryKeys;
  return fail('"primary_keys" of the enriched source to be an array of column names', primaryKeys, context);
}

/** The key as an object; `undefined` when the message has none. */
function keyRow(
  raw: Value | undefined,
  names: readonly string[] | undefined,
  table: string | undefined,
  context: ChangefeedValueContext,
): Row | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (Array.isArray(raw)) return zipKey(raw, names, table, context);
  if (!isRow(raw)) return fail('the key to be a JSON array (of primary-key values) or object', raw, context);
  const payload = raw.payload;
  const schema = raw.schema;
  if (Object.keys(raw).length !== 2 || payload === undefined || !isRow(schema)) return raw;
  if (isRow(payload)) return payload;
  if (Array.isArray(payload)) return zipKey(payload, schemaFieldNames(schema) ?? names, table, context);
  return fail('"payload" of the key to be an object or array', payload, context);
}

function zipKey(
  values: Value[],
  names: readonly string[] | undefined,
  table: string | undefined,
  context: ChangefeedValueContext,
): Row {
  if (names === undefined) return Object.fromEntries(values.map((value, index) => [String(index), value]));
  if (names.length !== values.length) {
    const of = table === undefined ? '' : ` of table ${table}`;
    return fail(
      `${names.length} key value${names.length === 1 ? '' : 's'} for the primary key (${names.join(', ')})${of}`,
      values,
      context,
    );
  }
  return Object.fromEntries(names.map((name, index) => [name, values[index]!]));
}

/** The `field` names of a Kafka Connect style struct schema, when it has them. */
function schemaFieldNames(schema: Row): string[] | undefined {
  const fields = schema.fields;
  if (!Array.isArray(fields)) return undefined;
  const names = fields.map((field) =>
    isRow(field) && typeof field.field === 'string' ? field.field : undefined,
  );
  return names.every((name) => name !== undefined) ? names : undefined;
}

/** The key columns picked from the row, when their names are known and the row has them all. */
function projectKey(names: readonly string[] | undefined, row: Row | null): Row | null {
  if (names === undefined || names.length === 0 || row === null) return null;
  if (!names.every((name) => Object.hasOwn(row, name))) return null;
  return Object.fromEntries(names.map((name) => [name, row[name]!]));
}

/** Replaces `{"__crdb_json_null__": true}` column values (JSONB holding JSON null) with null. */
function withoutJsonNullMarkers(row: Row): Row {
  let copy: Row | undefined;
  for (const column in row) {
    const value = row[column];
    if (isRow(value) && value[JSON_NULL_MARKER] === true && Object.keys(value).length === 1) {
      copy ??= Object.fromEntries(Object.entries(row));
      copy[column] = null;
    }
  }
  return copy ?? row;
}

/** Adds the enriched source block's fields (but those the decoder sets itself), HLCs canonical, `ts_ns` exact. */
function copySourceBlock(
  block: Row,
  add: (name: string, value: Value | undefined) => void,
  context: ChangefeedValueContext,
): void {
  const where = 'enriched source';
  for (const field in block) {
    if (RESERVED_SOURCE_FIELDS.has(field)) continue;
    if (field === 'ts_ns') add(field, readInteger(block, field, where, context));
    else if (field === 'ts_hlc' || field === 'mvcc_timestamp')
      add(field, readHlc(block, field, where, context)!.toString());
    else add(field, block[field]);
  }
}

function requireObject(value: Value | undefined, expected: string, context: ChangefeedValueContext): Row {
  return isRow(value) ? value : fail(expected, value, context);
}

function readRow(
  body: Row,
  field: string,
  where: string,
  context: ChangefeedValueContext,
  required: true,
): Row | null;
function readRow(
  body: Row,
  field: string,
  where: string,
  context: ChangefeedValueContext,
  required: false,
): Row | null | undefined;
function readRow(
  body: Row,
  field: string,
  where: string,
  context: ChangefeedValueContext,
  required: boolean,
): Row | null | undefined {
  const value = Object.hasOwn(body, field) ? body[field] : undefined;
  if (value === null || isRow(value) || (value === undefined && !required)) return value;
  return fail(`"${field}" of the ${where} to be an object or null`, value, context);
}

function readString(
  body: Row,
  field: string,
  where: string,
  context: ChangefeedValueContext,
): string | undefined {
  const value = body[field];
  if (value === undefined || typeof value === 'string') return value;
  return fail(`"${field}" of the ${where} to be a string`, value, context);
}

function readHlc(body: Row, field: string, where: string, context: ChangefeedValueContext): Hlc | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    return fail(`"${field}" of the ${where} to be an HLC timestamp string`, value, context);
  try {
    return Hlc.parse(value);
  } catch (cause) {
    throw new ChangefeedDecodeError(
      `expected "${field}" of the ${where} to be an HLC timestamp "<wall nanos>.<10-digit logical>", got ${describeValue(value)}`,
      context.position,
      { cause },
    );
  }
}

function readInteger(
  body: Row,
  field: string,
  where: string,
  context: ChangefeedValueContext,
): bigint | undefined {
  const value = body[field];
  if (value === undefined || typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  return fail(`"${field}" of the ${where} to be an integer`, value, context);
}

function fail(expected: string, got: Value | undefined, context: ChangefeedValueContext): never {
  throw new ChangefeedDecodeError(`expected ${expected}, got ${describeValue(got)}`, context.position);
}
