import { Unpackr } from 'msgpackr';
import { parseJson } from '../../runtime/json.js';
import type { Value } from '../../runtime/record.js';
import type { PayloadFormat } from './payload-format.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });
/** Strict UTF-8 that keeps a leading byte order mark, so `string` text is every byte of the payload. */
const UTF8_WITH_BOM = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// `auto`: 64-bit integers become bigint only beyond 2^53 (msgpackr supports it; its typings lag behind).
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'bigint' });

/**
 * Decodes a Kafka message value or key into a Sluice value. `json` keeps numbers exact (runtime/json.ts), `msgpack`
 * maps to the same types (64-bit integers beyond 2^53 as bigint), `string` is strict UTF-8 (a leading byte order
 * mark kept as U+FEFF), `bytes` is the bytes.
 * Throws (a `SyntaxError`, `TypeError` or msgpackr error) when the bytes are not in the format, or hold MessagePack
 * that is no Sluice value (msgpackr's `undefined` extension, an invalid timestamp).
 */
export function decodePayload(format: PayloadFormat, bytes: Buffer): Value {
  switch (format) {
    case 'json':
      return parseJson(UTF8.decode(bytes));
    case 'msgpack':
      return checkedMsgpack(unpackr.unpack(bytes));
    case 'string':
      return UTF8_WITH_BOM.decode(bytes);
    case 'bytes':
      return new Uint8Array(bytes);
  }
}

/**
 * `value` when msgpackr decoded it to a Sluice value (null, boolean, number, bigint, string, bytes, a valid
 * timestamp, arrays and plain maps of those); a `TypeError` naming the first part that is not (msgpackr's
 * `undefined`, Error, Set, Map or RegExp extensions, the reserved byte 0xC1, an invalid timestamp).
 */
function checkedMsgpack(value: unknown, path = '$'): Value {
  if (value === null || typeof value !== 'object') {
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol')
      throw new TypeError(`expected MessagePack values Sluice can hold, got ${typeof value} at ${path}`);
    return value as Value;
  }
  if (value instanceof Uint8Array) return value;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime()))
      throw new TypeError(`expected a valid MessagePack timestamp, got an invalid one at ${path}`);
    return value;
  }
  if (Array.isArray(value)) value.forEach((item, index) => checkedMsgpack(item, `${path}[${index}]`));
  else if (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)
    for (const [key, item] of Object.entries(value)) checkedMsgpack(item, `${path}.${key}`);
  else
    throw new TypeError(
      `expected MessagePack values Sluice can hold, got a ${value.constructor?.name ?? 'foreign object'} at ${path}`,
    );
  return value as Value;
}
