import type { Message } from 'node-rdkafka';
import { messageOf } from '../../runtime/errors.js';
import { type ChangeRecord, OPERATIONS, type Operation, type Row, type Value } from '../../runtime/record.js';
import { decodePayload } from './decode-payload.js';
import { DecodeError } from './decode-error.js';
import type { KeyFormat, PayloadFormat } from './payload-format.js';

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

function decodeKey(message: Message, format: KeyFormat): Row | null {
  const raw = message.key;
  if (raw === null || raw === undefined) return null;
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  let key: Value;
  try {
    key = decodePayload(format, bytes);
  } catch (error) {
    throw new DecodeError(`message key is not ${format}: ${messageOf(error)}`, { cause: error });
  }
  return isRow(key) ? key : { key };
}

function headersOf(message: Message): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const header of message.headers ?? []) {
    for (const [name, value] of Object.entries(header))
      headers[name] = typeof value === 'string' ? value : value.toString('utf8');
  }
  return headers;
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
 * `{ value }`), `key` the decoded key (a scalar becomes `{ key }`), headers as UTF-8 text, and `source` holds
 * `topic`, `partition`, `offset`, `timestamp` and the position `topic/partition@offset`. A null value (tombstone)
 * is a delete of its key. With `records: changes` the value must be a change record and gives op, key, before and
 * after. Throws {@link DecodeError} when the message is not in the configured formats.
 */
export function messageToRecord(
  message: Message,
  decoding: MessageDecoding,
  ingestTimeMs: number,
): ChangeRecord {
  const timestamp = message.timestamp !== undefined && message.timestamp >= 0 ? message.timestamp : null;
  const source = {
    name: decoding.name,
    position: messagePosition(message),
    table: message.topic,
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    timestamp: timestamp === null ? null : new Date(timestamp),
  };
  const key = decodeKey(message, decoding.keyFormat);
  const headers = headersOf(message);
  if (message.value === null) {
    return {
      op: 'delete',
      key,
      before: null,
      after: null,
      source,
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
      source,
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
  return {
    op: operationOf(value.op),
    key: value.key === undefined ? key : rowOrNull(value.key, 'key'),
    before: rowOrNull(value.before, 'before'),
    after: rowOrNull(value.after, 'after'),
    source,
    sourceTimeMs: typeof sourceTime === 'number' ? sourceTime : timestamp,
    ingestTimeMs,
    headers,
  };
}
