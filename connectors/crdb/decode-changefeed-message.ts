import type { ChangefeedDecodeOptions } from './changefeed-decode-options.js';
import type { ChangefeedEvent } from './changefeed-event.js';
import { type ChangefeedValueContext, decodeChangefeedValue } from './decode-changefeed-value.js';
import { readJsonMessage } from './read-json-message.js';

/** One changefeed message as a transport received it. */
export interface ChangefeedMessage {
  /** The message key (a JSON array of primary-key values; a JSON object for `enriched`), or null. */
  readonly key: Uint8Array | string | null;
  /** The message value; null or empty for a tombstone (`row` delete, `key_only`). */
  readonly value: Uint8Array | string | null;
  /** The Kafka topic, when it came from Kafka. */
  readonly topic?: string;
  /** The table, when the transport names it (the sinkless `table` column). */
  readonly table?: string;
  /** Transport headers to keep on the record (Kafka headers, kept HTTP headers). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Decodes one CockroachDB changefeed message (`format=json`, any envelope) into a change record or a resolved
 * timestamp. Pure: no I/O. Every transport calls it (webhook bodies through `decodeWebhookBody`, sinkless rows
 * through `decodeSinklessRow`). Throws {@link ChangefeedDecodeError} (code `CRDB_DECODE`) for malformed input.
 *
 * - JSON is parsed losslessly: INT8 beyond 2^53 is a `bigint`, `26.30` is `Decimal('26.30')`.
 * - **op**: a delete when `after` is null (wrapped, enriched), the value is empty or `null` (row and bare
 *   tombstones) or a bare value has only `__crdb__`; an update when `before` is an object (`diff`) or enriched
 *   `op` is `u`; otherwise an insert. Without `diff` a wrapped, bare or row update arrives as an insert: the
 *   Postgres sink upserts, so the row ends the same. `key_only` messages are inserts with `after: null`: they
 *   say only which key changed.
 * - **key**: the key in the value (`key_in_value`, `__crdb__.key`, enriched `key`; always the primary key) before
 *   the message key (which CockroachDB's `key_column` option may change). Array keys are zipped with the
 *   `keyColumns` option, else enriched `source.primary_keys`, else numbered `{"0": v0, "1": v1}`; object keys
 *   (enriched) are kept; an enriched-with-schema key `{"payload", "schema"}` gives its payload. With no key at
 *   all, the key columns are picked from the row when their names are known; else the key is null.
 * - **table** (`source.table`): enriched `source` `database_name.schema_name.table_name`, else the transport's
 *   `table`, else the topic in the value (`topic_in_value`, `__crdb__.topic`), else the Kafka topic, as is
 *   (a `topic_prefix` stays; column-family topics read `table.family`).
 * - **source**: `name`, `position`, `table`, `topic`, the transport's `sourceFields` (Kafka `partition` and
 *   `offset`), `envelope` (the one used), `hlc` (the change's version:
 *   `updated`, else `mvcc_timestamp`, else enriched `source.ts_hlc`, then `source.mvcc_timestamp`, as canonical
 *   text), `mvcc_timestamp`, every field of the enriched `source` block (`cluster_id`, `job_id`,
 *   `primary_keys`, ...; `ts_ns` as bigint) and `processed_ts_ns` (enriched top-level `ts_ns`, processing time).
 * - **sourceTimeMs** is the HLC's wall time; null when the message carries no HLC (no `updated` option).
 * - A JSONB column holding JSON null, sent as `{"__crdb_json_null__": true}` under
 *   `encode_json_value_null_as_object`, becomes null like SQL NULL: a record has one null.
 */
export function decodeChangefeedMessage(
  message: ChangefeedMessage,
  options: ChangefeedDecodeOptions,
): ChangefeedEvent {
  const position = options.position;
  const key = readJsonMessage(message.key, 'key', position);
  const value = readJsonMessage(message.value, 'value', position);
  return decodeChangefeedValue(value, key, messageContext(message, options));
}

/** What the transport says of a message besides its key and value, for `decodeChangefeedValue`. */
export function messageContext(
  message: ChangefeedMessage,
  options: ChangefeedDecodeOptions,
): ChangefeedValueContext {
  return {
    options,
    position: options.position,
    topic: message.topic,
    table: message.table,
    headers: message.headers,
  };
}
