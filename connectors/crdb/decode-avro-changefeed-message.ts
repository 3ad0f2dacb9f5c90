import type { Row, Value } from '../../runtime/record.js';
import type { ChangefeedDecodeOptions } from './changefeed-decode-options.js';
import type { ChangefeedEvent } from './changefeed-event.js';
import { type ChangefeedMessage, messageContext } from './decode-changefeed-message.js';
import { decodeChangefeedValue } from './decode-changefeed-value.js';
import { isRow } from './json-shapes.js';
import { readAvroMessage } from './read-avro-message.js';
import { readResolved } from './read-resolved.js';
import type { SchemaRegistry } from './schema-registry.js';

/** Envelope metadata fields an Avro schema may carry as null when the message has none. */
const OPTIONAL_METADATA = ['updated', 'mvcc_timestamp', 'resolved', 'topic', 'key', '__crdb__'];

/**
 * Decodes one CockroachDB changefeed message in `format=avro` (the Confluent wire format, schemas in `registry`,
 * which must have loaded the message's schema ids) into a change record or a resolved timestamp, by the same rules
 * as `decodeChangefeedMessage` for JSON. The Avro forms differ from the JSON ones only in shape: the key is a
 * record of the primary-key columns, metadata fields without a value are null, a `bare` row sits under `record`,
 * and resolved messages are a record whose `resolved` field holds the HLC whatever the envelope. Values keep
 * their digits: `long` beyond 2^53 is a bigint, `decimal` an exact `Decimal`, timestamps ISO text with
 * microseconds. Throws `ChangefeedDecodeError` (code `CRDB_DECODE`).
 */
export function decodeAvroChangefeedMessage(
  message: ChangefeedMessage,
  options: ChangefeedDecodeOptions,
  registry: SchemaRegistry,
): ChangefeedEvent {
  const position = options.position;
  const key = readAvroMessage(message.key, 'key', position, registry);
  let value = readAvroMessage(message.value, 'value', position, registry);
  if (isRow(value)) {
    if (typeof value.resolved === 'string') {
      const hlc = readResolved({ resolved: value.resolved }, 'wrapped', position)!;
      return { kind: 'resolved', hlc };
    }
    value = jsonShape(value, options.envelope ?? 'wrapped');
  }
  return decodeChangefeedValue(value, key, messageContext(message, options));
}

/** The Avro value in the shape of the JSON envelope: null metadata left out, a `bare` row lifted from `record`. */
function jsonShape(value: Row, envelope: string): Value | undefined {
  const shaped: Row = {};
  for (const [name, field] of Object.entries(value))
    if (!(field === null && OPTIONAL_METADATA.includes(name))) shaped[name] = field;
  const bare = (envelope === 'bare' || envelope === 'auto') && Object.hasOwn(shaped, 'record');
  if (!bare || Object.hasOwn(shaped, 'after')) return shaped;
  const { record, ...rest } = shaped;
  if (record === null) return Object.keys(rest).length === 0 ? undefined : rest;
  return isRow(record) ? { ...record, ...rest } : shaped;
}
