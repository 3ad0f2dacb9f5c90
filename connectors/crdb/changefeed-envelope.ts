/**
 * The changefeed `envelope` a decoder expects (CockroachDB's `WITH envelope=...`), or `auto` to tell it from each
 * message's shape (see `detectEnvelope`).
 */
export type ChangefeedEnvelope = 'wrapped' | 'bare' | 'key_only' | 'row' | 'enriched' | 'auto';

/** Every envelope a decoder accepts, in a fixed order (for config schemas and messages). */
export const CHANGEFEED_ENVELOPES: readonly ChangefeedEnvelope[] = [
  'wrapped',
  'bare',
  'key_only',
  'row',
  'enriched',
  'auto',
];
