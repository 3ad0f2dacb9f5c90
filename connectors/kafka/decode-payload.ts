import { Unpackr } from 'msgpackr';
import { parseJson } from '../../runtime/json.js';
import type { Value } from '../../runtime/record.js';
import type { PayloadFormat } from './payload-format.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

// `auto`: 64-bit integers become bigint only beyond 2^53 (msgpackr supports it; its typings lag behind).
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'auto' as 'bigint' });

/**
 * Decodes a Kafka message value or key into a Sluice value. `json` keeps numbers exact (runtime/json.ts), `msgpack`
 * maps to the same types (64-bit integers beyond 2^53 as bigint), `string` is strict UTF-8, `bytes` is the bytes.
 * Throws (a `SyntaxError`, `TypeError` or msgpackr error) when the bytes are not in the format.
 */
export function decodePayload(format: PayloadFormat, bytes: Buffer): Value {
  switch (format) {
    case 'json':
      return parseJson(UTF8.decode(bytes));
    case 'msgpack':
      return unpackr.unpack(bytes) as Value;
    case 'string':
      return UTF8.decode(bytes);
    case 'bytes':
      return new Uint8Array(bytes);
  }
}
