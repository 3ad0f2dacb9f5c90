import { Packr, addExtension } from 'msgpackr';
import { Decimal } from './decimal.js';

/** The msgpack extension type Sluice uses for {@link Decimal}: its digits as a string. */
const DECIMAL_EXTENSION = 0x44;

addExtension({
  Class: Decimal,
  type: DECIMAL_EXTENSION,
  write: (decimal: Decimal) => decimal.text,
  read: (text: string) => new Decimal(text),
});

/**
 * Binary encoding of change records (and of anything built of {@link Value}s: operator results, dead letters) for
 * the worker-thread boundary, with msgpackr. Round trips are exact for every `Value`: `bigint` of any size stays
 * `bigint` (msgpack int64 and msgpackr's big-integer extension; plain numbers never use int64, so a number never
 * comes back as a bigint), `Decimal` keeps its digits (extension 0x44), `Date` keeps its milliseconds, `Uint8Array`
 * stays `Uint8Array`, nested rows and lists nest, and a `null` field stays distinct from a missing one. Three
 * narrowings: a `Buffer` comes back as a plain `Uint8Array` with the same bytes, `-0` as `0` (as through JSON), and a
 * field named `__proto__` as `__proto_` (msgpackr's guard against prototype pollution).
 *
 * `encode` returns bytes that own a fresh `ArrayBuffer` of exactly their length, so the buffer can be transferred
 * to another thread without detaching msgpackr's reusable scratch buffer. Each thread keeps its own codec.
 */
export class RecordCodec {
  readonly #packr = new Packr({ useRecords: true, moreTypes: true, int64AsType: 'bigint' });

  /** Encodes `value` into bytes whose `buffer` holds nothing else (safe to transfer). */
  encode(value: unknown): Uint8Array<ArrayBuffer> {
    const packed = this.#packr.pack(value);
    const owned = new Uint8Array(packed.length);
    owned.set(packed);
    return owned;
  }

  /** Decodes bytes written by {@link RecordCodec.encode} (in any thread). */
  decode<T>(bytes: Uint8Array): T {
    return this.#packr.unpack(bytes) as T;
  }
}
