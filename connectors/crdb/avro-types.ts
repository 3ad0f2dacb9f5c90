import avro from 'avsc';
import { Decimal } from '../../runtime/decimal.js';

const MICROS_PER_MILLI = 1000n;
const MICROS_PER_DAY = 86_400_000_000n;
const MILLIS_PER_DAY = 86_400_000;

/**
 * Avro `long` read as a `number` when it is a safe integer, else as a `bigint`: INT8 beyond 2^53 keeps its
 * digits (avsc's own `long` would round it).
 */
const exactLong = avro.types.LongType.__with({
  fromBuffer: (buffer: Buffer): number | bigint => {
    const value = buffer.readBigInt64LE(0);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value;
  },
  toBuffer: (value: number | bigint): Buffer => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64LE(BigInt(value));
    return buffer;
  },
  fromJSON: (value: number | string): number | bigint => (typeof value === 'number' ? value : BigInt(value)),
  toJSON: (value: number | bigint): number | string => (typeof value === 'number' ? value : String(value)),
  isValid: (value: unknown): boolean =>
    typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value)),
  compare: (a: number | bigint, b: number | bigint): number => (a < b ? -1 : a > b ? 1 : 0),
});

/** A `long` value from {@link exactLong} as a bigint. */
function bigintOf(value: number | bigint): bigint {
  return typeof value === 'bigint' ? value : BigInt(value);
}

/** `decimal` on `bytes` or `fixed`: the big-endian two's-complement unscaled value, as an exact {@link Decimal}. */
class DecimalType extends avro.types.LogicalType {
  readonly #scale: number;

  constructor(schema: avro.Schema, options?: avro.ForSchemaOptions) {
    super(schema, options);
    this.#scale = (schema as { scale?: number }).scale ?? 0;
  }

  override _fromValue(bytes: Buffer): Decimal {
    let unscaled = bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
    if (bytes.length > 0 && (bytes[0]! & 0x80) !== 0) unscaled -= 1n << BigInt(bytes.length * 8);
    const negative = unscaled < 0n;
    const digits = (negative ? -unscaled : unscaled).toString().padStart(this.#scale + 1, '0');
    const whole = digits.slice(0, digits.length - this.#scale);
    const fraction = this.#scale === 0 ? '' : `.${digits.slice(digits.length - this.#scale)}`;
    return new Decimal(`${negative ? '-' : ''}${whole}${fraction}`);
  }

  override _toValue(value: Decimal): Buffer {
    const [whole, fraction = ''] = value.text.replace('-', '').split('.');
    let unscaled = BigInt(`${whole}${fraction.padEnd(this.#scale, '0')}`);
    if (value.text.startsWith('-')) unscaled = -unscaled;
    let length = 1;
    while (unscaled >= 1n << BigInt(length * 8 - 1) || unscaled < -(1n << BigInt(length * 8 - 1))) length++;
    const twos = unscaled < 0n ? (1n << BigInt(length * 8)) + unscaled : unscaled;
    return Buffer.from(twos.toString(16).padStart(length * 2, '0'), 'hex');
  }

  override _resolve(type: avro.Type): ((value: unknown) => unknown) | undefined {
    return avro.Type.isType(type, 'logical:decimal') ? (value) => value : undefined;
  }
}

/** ISO 8601 UTC text of a time in microseconds since the epoch, with all six fractional digits. */
function isoMicros(micros: bigint): string {
  const millis = micros / MICROS_PER_MILLI - (micros % MICROS_PER_MILLI < 0n ? 1n : 0n);
  const extra = micros - millis * MICROS_PER_MILLI;
  const iso = new Date(Number(millis)).toISOString();
  return `${iso.slice(0, 23)}${String(extra).padStart(3, '0')}Z`;
}

/** `timestamp-micros` (TIMESTAMP and TIMESTAMPTZ columns): ISO text keeping the microseconds a `Date` would drop. */
class TimestampMicrosType extends avro.types.LogicalType {
  override _fromValue(value: number | bigint): string {
    return isoMicros(bigintOf(value));
  }

  override _toValue(text: string): number {
    const fraction = /\.(\d{4,6})/.exec(text)?.[1] ?? '';
    return Date.parse(text) * 1000 + (fraction.length > 3 ? Number(fraction.slice(3).padEnd(3, '0')) : 0);
  }
}

/** `timestamp-millis`: ISO text. */
class TimestampMillisType extends avro.types.LogicalType {
  override _fromValue(value: number | bigint): string {
    return new Date(Number(value)).toISOString();
  }

  override _toValue(text: string): number {
    return Date.parse(text);
  }
}

/** `date` (DATE columns): days since the epoch as `YYYY-MM-DD`. */
class DateType extends avro.types.LogicalType {
  override _fromValue(days: number): string {
    return new Date(days * MILLIS_PER_DAY).toISOString().slice(0, 10);
  }

  override _toValue(text: string): number {
    return Math.round(Date.parse(`${text}T00:00:00Z`) / MILLIS_PER_DAY);
  }
}

/** `time-micros` (TIME columns): microseconds since midnight as `HH:MM:SS.ffffff`. */
class TimeMicrosType extends avro.types.LogicalType {
  override _fromValue(value: number | bigint): string {
    const micros = bigintOf(value) % MICROS_PER_DAY;
    return isoMicros(micros).slice(11, 26);
  }

  override _toValue(text: string): number {
    const [clock = '', fraction = ''] = text.split('.');
    const [hours = 0, minutes = 0, seconds = 0] = clock.split(':').map(Number);
    return ((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + Number(fraction.padEnd(6, '0').slice(0, 6));
  }
}

/**
 * How CockroachDB's Avro schemas are read: `long` exactly (number or bigint), `decimal` as {@link Decimal},
 * timestamps, dates and times as the ISO text CockroachDB's JSON format would carry (microseconds kept). Unions
 * are unwrapped, so `["null", "long"]` reads as `null` or the number. Fresh options per schema: avsc adds the
 * schema's named types to the registry it is given.
 */
export function crdbAvroOptions(): Partial<avro.ForSchemaOptions> {
  return {
    registry: { long: exactLong },
    logicalTypes: LOGICAL_TYPES,
    wrapUnions: 'auto',
  };
}

const LOGICAL_TYPES: avro.ForSchemaOptions['logicalTypes'] = {
  decimal: DecimalType,
  'timestamp-micros': TimestampMicrosType,
  'timestamp-millis': TimestampMillisType,
  date: DateType,
  'time-micros': TimeMicrosType,
};

/**
 * Parses an Avro schema (JSON text, as a schema registry stores it) with {@link crdbAvroOptions}. Throws for a
 * schema with a record field named `__proto__`: avsc would read it into the prototype and lose it.
 */
export function parseAvroSchema(schema: string): avro.Type {
  const parsed = JSON.parse(schema) as avro.Schema;
  if (hasProtoField(parsed))
    throw new Error('it has a field named __proto__, which avsc cannot read without losing it');
  return avro.Type.forSchema(parsed, crdbAvroOptions());
}

/** Whether an Avro schema (parsed JSON) has a record field named `__proto__` anywhere. */
function hasProtoField(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.some(hasProtoField);
  if (schema === null || typeof schema !== 'object') return false;
  const { fields, type, items, values } = schema as Record<string, unknown>;
  if (Array.isArray(fields) && fields.some((field) => (field as { name?: unknown }).name === '__proto__'))
    return true;
  return [fields, type, items, values].some((part) => part !== undefined && hasProtoField(part));
}
