import { Decimal } from '../../runtime/decimal.js';
import { parseJson } from '../../runtime/json.js';
import type { Value } from '../../runtime/record.js';
import { parseArrayLiteral, type ArrayLiteral } from './cdc-array-literal.js';

/** Built-in type OIDs (`pg_type.oid`) that decode to something other than text. */
const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  timestamptz: 1184,
  numeric: 1700,
  jsonb: 3802,
} as const;

/** Built-in array type OIDs and their element type OIDs. */
const ELEMENT_OF: ReadonlyMap<number, number> = new Map([
  [1000, OID.bool],
  [1001, OID.bytea],
  [1016, OID.int8],
  [1005, OID.int2],
  [1007, OID.int4],
  [1028, OID.oid],
  [199, OID.json],
  [1021, OID.float4],
  [1022, OID.float8],
  [1185, OID.timestamptz],
  [1231, OID.numeric],
  [3807, OID.jsonb],
  // Arrays of types kept as text (text, varchar, bpchar, uuid, date, timestamp, time, interval, inet, ...).
  [1009, 25],
  [1015, 1043],
  [1014, 1042],
  [2951, 2950],
  [1182, 1082],
  [1115, 1114],
  [1183, 1083],
  [1187, 1186],
  [1041, 869],
]);

const TIMESTAMPTZ = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?([+-]\d\d)(?::(\d\d))?(?::(\d\d))?$/;
const NUMERIC = /^-?\d+(?:\.\d+)?$/;

/**
 * Decodes a column value from its Postgres text form (as pgoutput and a text-mode query send it) without loss.
 * Both the snapshot and the stream go through here, so a row reads the same either way:
 * - `bool` → boolean; `int2`/`int4`/`oid` → number; `int8` → number, or `bigint` beyond 2^53;
 * - `float4`/`float8` → number (`NaN` and `±Infinity` included);
 * - `numeric` → {@link Decimal} with the digits as stored (`26.30`); `NaN`/`±Infinity` → number;
 * - `json`/`jsonb` → the parsed value, numbers kept exact (runtime/json.ts);
 * - `bytea` (hex output) → `Uint8Array`;
 * - `timestamptz` → `Date` when it has at most millisecond precision; with microseconds, the ISO-8601 UTC text
 *   with all six digits (`2024-05-01T10:00:00.123456Z`), so no digit is lost and any sink can parse it;
 *   `infinity` stays text;
 * - arrays of the above (nested, NULL elements kept) → arrays;
 * - everything else (text, uuid, date, timestamp without time zone, time, interval, enums, user-defined
 *   arrays) → the text unchanged.
 * The session must use `DateStyle=ISO` (Sluice's connections set it, with `TimeZone=UTC`).
 */
export function decodeTextValue(typeOid: number, text: string): Value {
  const element = ELEMENT_OF.get(typeOid);
  if (element !== undefined) return decodeArray(parseArrayLiteral(text), element);
  switch (typeOid) {
    case OID.bool:
      return text === 't' || text === 'true';
    case OID.int2:
    case OID.int4:
    case OID.oid:
    case OID.float4:
    case OID.float8:
      return Number(text);
    case OID.int8: {
      const number = Number(text);
      return Number.isSafeInteger(number) ? number : BigInt(text);
    }
    case OID.numeric:
      return NUMERIC.test(text) ? new Decimal(text) : Number(text);
    case OID.json:
    case OID.jsonb:
      return parseJson(text);
    case OID.bytea:
      return decodeBytea(text);
    case OID.timestamptz:
      return decodeTimestamptz(text);
    default:
      return text;
  }
}

function decodeArray(elements: ArrayLiteral, elementOid: number): Value[] {
  return elements.map((element) =>
    element === null ? null : typeof element === 'string' ? decodeTextValue(elementOid, element) : decodeArray(element, elementOid),
  );
}

function decodeBytea(text: string): Uint8Array {
  if (text.startsWith('\\x')) return new Uint8Array(Buffer.from(text.slice(2), 'hex'));
  // The old `escape` output format: printable bytes as themselves, others as \ooo, a backslash as \\.
  const bytes: number[] = [];
  for (let index = 0; index < text.length; index++) {
    if (text[index] === '\\') {
      if (text[index + 1] === '\\') {
        bytes.push(0x5c);
        index++;
      } else {
        bytes.push(parseInt(text.slice(index + 1, index + 4), 8));
        index += 3;
      }
    } else bytes.push(text.charCodeAt(index));
  }
  return new Uint8Array(bytes);
}

function decodeTimestamptz(text: string): Value {
  const match = TIMESTAMPTZ.exec(text);
  if (!match) return text;
  const [, year, month, day, hour, minute, second, fraction = '', zoneHours, zoneMinutes = '00', zoneSeconds = '00'] = match;
  // Date.UTC maps years below 100 to the 1900s: keep such rare values as text.
  if (Number(year) < 100) return text;
  const sign = zoneHours!.startsWith('-') ? -1 : 1;
  const offsetSeconds = sign * (Math.abs(Number(zoneHours)) * 3600 + Number(zoneMinutes) * 60 + Number(zoneSeconds));
  const wholeMs = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)) - offsetSeconds * 1000;
  const digits = fraction.padEnd(6, '0');
  if (digits.endsWith('000')) return new Date(wholeMs + Number(digits.slice(0, 3)));
  return `${new Date(wholeMs).toISOString().slice(0, 19)}.${digits}Z`;
}
