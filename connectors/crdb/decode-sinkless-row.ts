import { ChangefeedDecodeError } from './changefeed-decode-error.js';
import type { ChangefeedDecodeOptions } from './changefeed-decode-options.js';
import type { ChangefeedEvent } from './changefeed-event.js';
import { decodeChangefeedMessage } from './decode-changefeed-message.js';
import { describeValue } from './json-shapes.js';
import { readJsonMessage } from './read-json-message.js';
import { readResolved } from './read-resolved.js';

/** One result row of a sinkless changefeed (`CREATE CHANGEFEED FOR t WITH ...` without `INTO`). */
export interface SinklessRow {
  /** The `table` column; NULL on resolved rows. */
  readonly table: string | null;
  /** The `key` column (BYTES: a JSON array of primary-key values); NULL on resolved rows. */
  readonly key: Uint8Array | string | null;
  /** The `value` column (BYTES: the envelope's JSON; empty for `key_only` and `row` deletes). */
  readonly value: Uint8Array | string | null;
}

/**
 * Decodes one row of a sinkless changefeed. A row whose `table` and `key` are NULL is a resolved timestamp (its
 * value in either resolved form, whatever the envelope); any other row is a change of `table`, decoded as by
 * `decodeChangefeedMessage`. Throws {@link ChangefeedDecodeError}.
 */
export function decodeSinklessRow(row: SinklessRow, options: ChangefeedDecodeOptions): ChangefeedEvent {
  if (row.table !== null)
    return decodeChangefeedMessage({ key: row.key, value: row.value, table: row.table }, options);
  const value = readJsonMessage(row.value, 'value', options.position);
  const hlc = row.key === null ? readResolved(value, 'auto', options.position) : undefined;
  if (hlc) return { kind: 'resolved', hlc };
  throw new ChangefeedDecodeError(
    `expected a resolved timestamp {"resolved": "<hlc>"} in a sinkless row whose table is NULL, got key ${row.key === null ? 'NULL' : 'not NULL'} and value ${describeValue(value)}`,
    options.position,
  );
}
