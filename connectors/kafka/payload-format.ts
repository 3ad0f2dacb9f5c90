import { Type } from '@sinclair/typebox';

/** How a Kafka message value is written: lossless JSON, MessagePack, UTF-8 text, or raw bytes. */
export type PayloadFormat = 'json' | 'msgpack' | 'string' | 'bytes';

/** How a Kafka message key is written. */
export type KeyFormat = 'json' | 'string' | 'bytes';

/** The `format` option of the Kafka source and sink. */
export const payloadFormatSchema = Type.Union(
  [Type.Literal('json'), Type.Literal('msgpack'), Type.Literal('string'), Type.Literal('bytes')],
  {
    default: 'json',
    description:
      'Message value format: json (numbers kept exactly: 19-digit ids stay bigint, 26.30 stays a decimal), msgpack, ' +
      'string (UTF-8 text under the field `value`) or bytes (raw bytes under the field `value`).',
  },
);

/** The `key_format` option of the Kafka source and sink. */
export const keyFormatSchema = Type.Union(
  [Type.Literal('json'), Type.Literal('string'), Type.Literal('bytes')],
  {
    default: 'json',
    description:
      'Message key format: json (an object, or a scalar under the field `key`), string or bytes (under the field `key`).',
  },
);
