import type { MessageHeader } from 'node-rdkafka';
import { recordRow } from '../../runtime/dead-letter.js';
import type { CompiledExpression } from '../../runtime/expression/index.js';
import { messageOf } from '../../runtime/errors.js';
import type { ChangeRecord, Row, SourceInfo, Value } from '../../runtime/record.js';
import { traceHeaders } from '../../runtime/telemetry/trace-headers.js';
import { encodePayload } from './encode-payload.js';
import { EncodeError } from './encode-error.js';
import type { KeyFormat, PayloadFormat } from './payload-format.js';

/** Where a Kafka message key comes from: the record's key, nothing, a field of the row, or an expression's value. */
export type KeySource =
  | 'record'
  | 'none'
  | { readonly field: string }
  | { readonly expression: CompiledExpression };

/** What to write for a delete: a tombstone (null value), nothing, or the change record as the value. */
export type DeleteMode = 'tombstone' | 'skip' | 'record';

/** How the Kafka sink turns records into messages. */
export interface MessageEncoding {
  /** The topic: a name where `{table}` is replaced by the record's `source.table`, or an expression giving the name. */
  readonly topic: string | CompiledExpression;
  readonly key: KeySource;
  readonly keyFormat: KeyFormat;
  readonly format: PayloadFormat;
  /** `rows`: the value is `after`; `changes`: the value is the whole change record. */
  readonly records: 'rows' | 'changes';
  readonly deletes: DeleteMode;
  /** Headers added to every message (they win over the record's own headers of the same name). */
  readonly headers: Readonly<Record<string, string>>;
}

/** A message ready for `produce`. */
export interface OutgoingMessage {
  readonly topic: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: MessageHeader[];
}

function fieldOf(row: Row | null, path: readonly string[]): Value | undefined {
  let current: Value | undefined = row;
  for (const part of path) {
    if (
      typeof current !== 'object' ||
      current === null ||
      Array.isArray(current) ||
      current instanceof Uint8Array ||
      current instanceof Date
    )
      return undefined;
    current = (current as Row)[part];
  }
  return current;
}

/**
 * What a record key is written as: the value a Kafka source wrapped as `{ key }` because the message key was no
 * object (the source marks such a record `source.key_wrapped: true`), when the key is still that one field `key`:
 * a string or bytes key goes back out byte for byte, a JSON one as the same value. Otherwise the key itself:
 * without the mark, a key `{ key }` (a table whose primary key column is named `key`, a JSON object key) stays an
 * object.
 */
function recordKeyValue(key: Row, source: SourceInfo): Value {
  const fields = Object.keys(key);
  return source.key_wrapped === true && fields.length === 1 && fields[0] === 'key' ? (key.key ?? null) : key;
}

/** The message key as a value, or `undefined` for a message without a key. */
function keyValue(record: ChangeRecord, key: KeySource): Value | undefined {
  if (key === 'none') return undefined;
  if (key === 'record') return record.key === null ? undefined : recordKeyValue(record.key, record.source);
  if ('expression' in key) {
    let value: Value;
    try {
      value = key.expression.evaluate(record);
    } catch (error) {
      throw new EncodeError(`the key expression failed: ${messageOf(error)}`, { cause: error });
    }
    return value === null ? undefined : value;
  }
  const path = key.field.split('.');
  const value = fieldOf(record.after, path) ?? fieldOf(record.before, path) ?? fieldOf(record.key, path);
  if (value === undefined) throw new EncodeError(`the key field "${key.field}" is missing from the record`);
  return value === null ? undefined : value;
}

/**
 * Refuses a record whose headers node-rdkafka cannot produce unchanged: it sends a header value as the C string of
 * its UTF-8 text (Blizzard/node-rdkafka#1006), so a value a Kafka source read as no valid UTF-8
 * (`source.binary_headers`, the text still the one the source made of it) or one holding a NUL would change.
 */
function checkWritableHeaders(record: ChangeRecord): void {
  const binary = record.source.binary_headers;
  for (const [name, text] of Object.entries(record.headers)) {
    const bytes =
      typeof binary === 'object' && binary !== null && Object.hasOwn(binary, name) ? (binary as Row)[name] : undefined;
    if (bytes instanceof Uint8Array && Buffer.from(bytes).toString('utf8') === text)
      throw new EncodeError(
        `header "${name}" holds bytes that are no UTF-8 (source.binary_headers), which the Kafka producer (node-rdkafka, Blizzard/node-rdkafka#1006) would change: it writes header values as text`,
      );
    if (text.includes('\u0000'))
      throw new EncodeError(
        `header "${name}" holds a NUL character, where the Kafka producer (node-rdkafka, Blizzard/node-rdkafka#1006) would cut the value`,
      );
  }
}

function topicOf(record: ChangeRecord, template: string | CompiledExpression): string {
  if (typeof template !== 'string') {
    let topic: Value;
    try {
      topic = template.evaluate(record);
    } catch (error) {
      throw new EncodeError(`topic_expression failed: ${messageOf(error)}`, { cause: error });
    }
    if (typeof topic !== 'string' || topic === '') {
      const got =
        topic === '' ? 'an empty string' : topic === null ? 'null' : `a value of type ${typeof topic}`;
      throw new EncodeError(`topic_expression "${template.text}" gave ${got}, not a topic name`);
    }
    return topic;
  }
  if (!template.includes('{table}')) return template;
  const table = record.source.table;
  if (table === undefined || table === '')
    throw new EncodeError(
      `topic "${template}" needs the record's table, and source "${record.source.name}" gave none`,
    );
  return template.replaceAll('{table}', table);
}

function encode(format: PayloadFormat, value: Value, what: string): Buffer {
  try {
    return encodePayload(format, value);
  } catch (error) {
    throw new EncodeError(`the ${what} cannot be written as ${format}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Turns a record into a Kafka message: the topic (with `{table}` filled in, or the expression's value), the key (JSON of the record key by
 * default; a message key a Kafka source wrapped as `{ key }` is written as the value it wraps), the value
 * (`after`, or the whole change record with `records: changes`; for a delete a tombstone, nothing, or the change
 * record, per `deletes`) and the headers (the record's, the active span's `traceparent` when tracing is on, plus
 * the configured ones). Returns `null` for a delete that `deletes: skip` drops. Throws {@link EncodeError} for a
 * record that cannot be written, also one whose headers the producer would change (see `checkWritableHeaders`).
 */
export function recordToMessage(record: ChangeRecord, encoding: MessageEncoding): OutgoingMessage | null {
  const deleting = record.op === 'delete';
  if (deleting && encoding.deletes === 'skip') return null;
  const topic = topicOf(record, encoding.topic);
  const key = keyValue(record, encoding.key);
  const keyBytes = key === undefined ? null : encode(encoding.keyFormat, key, 'key');
  let value: Buffer | null;
  if (deleting && encoding.deletes === 'tombstone') {
    if (keyBytes === null)
      throw new EncodeError('a delete is written as a tombstone, which needs a key, and the record has none');
    value = null;
  } else if (encoding.records === 'changes' || deleting) {
    value = encode(encoding.format, recordRow(record), 'change record');
  } else {
    if (record.after === null) throw new EncodeError(`a ${record.op} record has no row (after) to write`);
    value = encode(
      encoding.format,
      encoding.format === 'json' || encoding.format === 'msgpack'
        ? record.after
        : (record.after.value ?? null),
      'row',
    );
  }
  checkWritableHeaders(record);
  const headers: MessageHeader[] = [];
  // The write's own trace context replaces the producer's, so consumers link to this hop.
  for (const [name, text] of Object.entries({ ...record.headers, ...traceHeaders(), ...encoding.headers }))
    headers.push({ [name]: text });
  return { topic, key: keyBytes, value, headers };
}
