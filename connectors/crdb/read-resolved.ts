import type { Value } from '../../runtime/record.js';
import { ChangefeedDecodeError } from './changefeed-decode-error.js';
import type { ChangefeedEnvelope } from './changefeed-envelope.js';
import { Hlc } from './hlc.js';
import { describeValue, isRow } from './json-shapes.js';

/**
 * The resolved timestamp, when `value` is a resolved message of the envelope: `{"resolved": "<hlc>"}` for
 * wrapped and enriched, `{"__crdb__": {"resolved": "<hlc>"}}` for bare, row and key_only, either for `auto`.
 * `undefined` for any other value; throws {@link ChangefeedDecodeError} when the shape fits but the HLC does not.
 */
export function readResolved(
  value: Value | undefined,
  envelope: ChangefeedEnvelope,
  position: string,
): Hlc | undefined {
  if (!isRow(value)) return undefined;
  const fields = Object.keys(value);
  if (fields.length !== 1) return undefined;
  const topLevel = envelope === 'wrapped' || envelope === 'enriched' || envelope === 'auto';
  const nested = !(envelope === 'wrapped' || envelope === 'enriched');
  if (topLevel && fields[0] === 'resolved') return parseResolved(value.resolved, 'resolved', position);
  const meta = value.__crdb__;
  if (nested && isRow(meta) && Object.hasOwn(meta, 'resolved'))
    return parseResolved(meta.resolved, '__crdb__.resolved', position);
  return undefined;
}

function parseResolved(text: Value | undefined, field: string, position: string): Hlc {
  const expected = `expected "${field}" of the resolved message to be an HLC timestamp "<wall nanos>.<10-digit logical>"`;
  if (typeof text !== 'string')
    throw new ChangefeedDecodeError(`${expected}, got ${describeValue(text)}`, position);
  try {
    return Hlc.parse(text);
  } catch (cause) {
    throw new ChangefeedDecodeError(`${expected}, got ${describeValue(text)}`, position, { cause });
  }
}
