import { Type } from '@sinclair/typebox';
import { CHANGEFEED_ENVELOPES } from './changefeed-envelope.js';

/** The YAML options every CockroachDB changefeed source shares: how its messages are decoded. */
export const CHANGEFEED_DECODE_PROPERTIES = {
  envelope: Type.Optional(
    Type.Union(
      CHANGEFEED_ENVELOPES.map((envelope) => Type.Literal(envelope)),
      {
        default: 'wrapped',
        description:
          "The changefeed's envelope (its `WITH envelope=...`); `auto` tells it from each message's shape.",
      },
    ),
  ),
  key_columns: Type.Optional(
    Type.Record(Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }), {
      description:
        'Primary-key column names by table, to name the values of JSON-array keys: { orders: [region, id] }.',
    }),
  ),
};
