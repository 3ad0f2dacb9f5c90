import { Packr } from 'msgpackr';
import { Decimal } from '../../runtime/decimal.js';
import { stringifyJson } from '../../runtime/json.js';
import type { Value } from '../../runtime/record.js';
import type { PayloadFormat } from './payload-format.js';

const packr = new Packr({ useRecords: false });

/**
 * Encodes a Sluice value as a Kafka message value or key: `json` without loss (bigint and decimals as bare numbers),
 * `msgpack` (decimals as their digits in a string, dates as timestamps), `string` (a string as UTF-8; other scalars
 * as their text), `bytes` (a `Uint8Array` as is, a string as UTF-8). Throws `TypeError` for a value the format
 * cannot hold (an object as `string` or `bytes`, NaN in JSON).
 */
export function encodePayload(format: PayloadFormat, value: Value): Buffer {
  switch (format) {
    case 'json':
      return Buffer.from(stringifyJson(value), 'utf8');
    case 'msgpack':
      return packr.pack(value);
    case 'string':
      return Buffer.from(scalarText(value, format), 'utf8');
    case 'bytes':
      return value instanceof Uint8Array
        ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
        : Buffer.from(scalarText(value, format), 'utf8');
  }
}

function scalarText(value: Value, format: PayloadFormat): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (value instanceof Decimal) return value.text;
  throw new TypeError(
    `format ${format} holds one scalar value, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object'}`,
  );
}
