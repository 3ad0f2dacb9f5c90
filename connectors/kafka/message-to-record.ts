import type { Message } from 'node-rdkafka';
import { messageOf } from '../../runtime/errors.js';
import { type ChangeRecord, OPERATIONS, type Operation, type Row, type Value } from '../../runtime/record.js';
import { decodePayload } from './decode-payload.js';
import { DecodeError } from './decode-error.js';
import type { KeyFormat, PayloadFormat } from './payload-format.js';

/** Strict UTF-8 that keeps a leading byte order mark, so the text is exactly the header's bytes. */
const UTF8_WITH_BOM = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** How the Kafka source turns messages into records. */
export interface MessageDecoding {
  /** The source node's name. */
  readonly name: string;
  readonly format: PayloadFormat;
  readonly keyFormat: KeyFormat;
  /** `rows`: the value is the row (`after`); `changes`: the value is a Sluice change record `{ op, key, before, after, ... }`. */
  readonly records: 'rows' | 'changes';
}

/** `topic/partition@offset`: a Kafka message's place, as records and dead letters show it. */
export function messagePosition(message: Pick<Message, 'topic' | 'partition' | 'offset'>): string {
  return `${message.topic}/${message.partition}@${message.offset}`;
}

function isRow(value: Value | undefined): value is Row {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array) &&
    !(value instanceof Date) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

function rowOrNull(value: Value | undefined, field: string): Row | null {
  if (value === undefined || value === null) return null;
  if (isRow(value)) return value;
  throw new DecodeError(
    `change record field "${field}" must be an object or null, got ${Array.isArray(value) ? 'an array' : typeof value}`,
  );
}

/** Decodes the message key; `wrapped` when it was no object and `key` holds it as `{ key }`. */
function decodeKey(message: Message, format: KeyFormat): { key: Row | null; wrapped: boolean } {
  const raw = message.key;
  if (raw === null || raw === undefined) return { key: null, wrapped: false };
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  let key: Value;
  try {
    key = decodePayload(format, bytes);
  } catch (error) {
    throw new DecodeError(`message key is not ${format}: ${messageOf(error)}`, { cause: error });
  }
  return isRow(key) ? { key, wrapped: false } : { key: { key }, wrapped: true };
}

/** The headers as text, and the original bytes of those that are no valid UTF-8 (the last header of a name wins). */
function headersOf(message: Message): { text: Record<string, string>; binary: Row | null } {
  const values = new Map<string, string | Buffer>();
  for (const header of message.headers ?? [])
    for (const [name, value] of Object.entries(header)) values.set(name, value);
  const text: [string, string][] = [];
  const binary: [string, Uint8Array][] = [];
  for (const [name, value] of values) {
    if (typeof value === 'string') {
      text.push([name, value]);
      continue;
    }
    try {
      text.push([name, UTF8_WITH_BOM.decode(value)]);
    } catch {
      text.push([name, value.toString('utf8')]);
      binary.push([name, new Uint8Array(value)]);
    }
  }
  // fromEntries defines own fields, so a header named __proto__ stays a header.
  return { text: Object.fromEntries(text), binary: binary.length === 0 ? null : Object.fromEntries(binary) };
}

function operationOf(value: Value | undefined): Operation {
  if (typeof value === 'string' && (OPERATIONS as readonly string[]).includes(value))
    return value as Operation;
  throw new DecodeError(
    `change record field "op" must be one of ${OPERATIONS.join(', ')}, got ${JSON.stringify(value ?? null)}`,
  );
}

/**
 * Turns one Kafka message into a change record: `after` is the decoded value (a non-object value becomes
 * `{ value }`), `key` the decoded key, headers as UTF-8 text, and `source` holds `topic`, `partition`, `offset`,
 * `timestamp` and the position `topic/partition@offset`. A null value (tombstone) is a delete of its key. With
 * `records: changes` the value must be a change record and gives op, key, before and after.
 *
 * Two `source` fields let the Kafka sink write the message's key and headers back unchanged:
 * - a key that decodes to no object (a string, bytes, a JSON scalar or array) becomes `{ key }` and sets
 *   `source.key_wrapped: true`; a JSON object key, even `{"key": ...}`, is the record key as is and sets nothing;
 * - a header value that is not valid UTF-8 is kept in `headers` as text with U+FFFD for the invalid bytes (as any
 *   reader of `headers` saw before), and its original bytes go to `source.binary_headers` under the header's name.
 *   A valid UTF-8 value (a leading byte order mark included) is never there.
 *
 * Throws {@link DecodeError} when the message is not in the configured formats.
 */
export function messageToRecord(
  message: Message,
  decoding: MessageDecoding,
  ingestTimeMs: number,
): ChangeRecord {
  const timestamp = message.timestamp !== undefined && message.timestamp >= 0 ? message.timestamp : null;
  const { key, wrapped } = decodeKey(message, decoding.keyFormat);
  const { text: headers, binary } = headersOf(message);
  const source = {
    name: decoding.name,
    position: messagePosition(message),
    table: message.topic,
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    timestamp: timestamp === null ? null : new Date(timestamp),
    ...(binary === null ? {} : { binary_headers: binary }),
  };
  // For a record whose key is the message key.
  const keySource = wrapped ? { ...source, key_wrapped: true } : source;
  if (message.value === null) {
    return {
      op: 'delete',
      key,
      before: null,
      after: null,
      source: keySource,
      sourceTimeMs: timestamp,
      ingestTimeMs,
      headers,
    };
  }
  let value: Value;
  try {
    value = decodePayload(decoding.format, message.value);
  } catch (error) {
    throw new DecodeError(`message value is not ${decoding.format}: ${messageOf(error)}`, { cause: error });
  }
  if (decoding.records === 'rows') {
    return {
      op: 'insert',
      key,
      before: null,
      after: isRow(value) ? value : { value },
      source: keySource,
      sourceTimeMs: timestamp,
      ingestTimeMs,
      headers,
    };
  }
  if (!isRow(value))
    throw new DecodeError(
      `a change record must be an object, got ${Array.isArray(value) ? 'an array' : typeof value}`,
    );
  const sourceTime = value.source_time_ms;
  const ownKey = value.key !== undefined;
  return {
    op: operationOf(value.op),
    key: ownKey ? rowOrNull(value.key, 'key') : key,
    before: rowOrNull(value.before, 'before'),
    after: rowOrNull(value.after, 'after'),
    source: ownKey ? source : keySource,
    sourceTimeMs: typeof sourceTime === 'number' ? sourceTime : timestamp,
    ingestTimeMs,
    headers,
  };
}
