import type { Value } from '../../runtime/record.js';
import type { ChangefeedEnvelope } from './changefeed-envelope.js';

/** How to decode changefeed messages; every transport (Kafka, webhook, sinkless SQL) passes the same options. */
export interface ChangefeedDecodeOptions {
  /**
   * The envelope the changefeed was created with; `wrapped` (CockroachDB's default) when omitted. `auto` tells it
   * from each message's shape, with the ambiguities `detectEnvelope` documents.
   */
  readonly envelope?: ChangefeedEnvelope;
  /** The source node's name, copied into each record's `source.name`. */
  readonly sourceName: string;
  /** The message's place in its source (`orders/3@1187`), copied into `source.position` and error messages. */
  readonly position: string;
  /**
   * Primary-key column names by table, for keys that arrive as JSON arrays (every envelope but `enriched`):
   * `{ orders: ['region', 'id'] }` turns the key `["eu", 7]` into `{ region: 'eu', id: 7 }`. Looked up by the
   * record's table, then by its shorter dotted suffixes (`shop.public.orders`, `public.orders`, `orders`).
   * Without an entry (and without enriched `source.primary_keys`) array keys become positional objects
   * `{ "0": "eu", "1": 7 }`. With CockroachDB's `key_column` option, name that column here.
   */
  readonly keyColumns?: Readonly<Record<string, readonly string[]>>;
  /** Facts of the transport added to each record's `source` (Kafka `partition` and `offset`). */
  readonly sourceFields?: Readonly<Record<string, Value>>;
  /** The record's `ingestTimeMs`; `Date.now()` when omitted. */
  readonly ingestTimeMs?: number;
}
