import { Decimal } from '../../runtime/decimal.js';
import { messageOf } from '../../runtime/errors.js';
import { objectFromFields } from '../../runtime/object-from-fields.js';
import type { Value } from '../../runtime/record.js';
import { ChangefeedDecodeError } from './changefeed-decode-error.js';
import type { SchemaRegistry } from './schema-registry.js';

/** The Confluent wire format's first byte. */
const MAGIC = 0;
/** Magic byte and 4-byte schema id. */
const HEADER_BYTES = 5;

/**
 * The schema id of a message part in the Confluent wire format (magic byte 0, then the id as 4 bytes big-endian),
 * or undefined when the part is absent, empty or not in that format.
 */
export function confluentSchemaId(data: Uint8Array | string | null | undefined): number | undefined {
  if (data === null || data === undefined || typeof data === 'string') return undefined;
  if (data.length < HEADER_BYTES || data[0] !== MAGIC) return undefined;
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(1);
}

/**
 * Decodes one part of a message (a Kafka key or value) in the Confluent wire format with its schema from
 * `registry` (which must have loaded the id). Returns `undefined` for an absent or empty part (a tombstone);
 * throws {@link ChangefeedDecodeError} for a part without the wire format's header, an id the registry has no
 * usable schema for, or bytes the schema does not read exactly. `what` names the part in messages.
 */
export function readAvroMessage(
  data: Uint8Array | string | null | undefined,
  what: string,
  position: string,
  registry: SchemaRegistry,
): Value | undefined {
  if (data === null || data === undefined || data.length === 0) return undefined;
  const id = confluentSchemaId(data);
  if (id === undefined) {
    throw new ChangefeedDecodeError(
      `expected the ${what} in the Confluent Avro wire format (magic byte 0 and a 4-byte schema id), got ${describeStart(data)}`,
      position,
    );
  }
  const type = registry.typeOf(id);
  if (typeof type === 'string')
    throw new ChangefeedDecodeError(`cannot decode the ${what}: ${type}`, position);
  const bytes = data as Uint8Array;
  const body = Buffer.from(bytes.buffer, bytes.byteOffset + HEADER_BYTES, bytes.byteLength - HEADER_BYTES);
  let decoded: unknown;
  try {
    decoded = type.fromBuffer(body);
  } catch (cause) {
    throw new ChangefeedDecodeError(
      `expected the ${what} to be Avro of schema ${id}, got ${body.length} bytes it does not read (${messageOf(cause)})`,
      position,
      { cause },
    );
  }
  return toValue(decoded);
}

/**
 * An avsc value as a record value: plain objects (fast-mode, a column named `__proto__` an own property) and arrays,
 * bytes copied out of the message.
 */
function toValue(decoded: unknown): Value {
  if (
    decoded === null ||
    typeof decoded === 'string' ||
    typeof decoded === 'number' ||
    typeof decoded === 'bigint' ||
    typeof decoded === 'boolean' ||
    decoded instanceof Decimal
  )
    return decoded;
  if (decoded instanceof Uint8Array) return new Uint8Array(decoded);
  if (Array.isArray(decoded)) return decoded.map(toValue);
  const names = Object.keys(decoded as object);
  return objectFromFields(
    names,
    names.map((name) => toValue((decoded as Record<string, unknown>)[name])),
  );
}

function describeStart(data: Uint8Array | string): string {
  if (typeof data === 'string') return `text ${JSON.stringify(data.slice(0, 40))}`;
  return `${data.length} bytes starting ${Buffer.from(data.subarray(0, 8)).toString('hex')}`;
}
