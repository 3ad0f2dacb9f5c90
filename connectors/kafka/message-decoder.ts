import type { Message } from 'node-rdkafka';
import type { ChangeRecord } from '../../runtime/record.js';

/** What a {@link KafkaMessageDecoder} makes of one message: a record, or a watermark of the message's partition. */
export type DecodedMessage = { readonly record: ChangeRecord } | { readonly watermark: string };

/**
 * A decoding of Kafka messages given to the Kafka source at build time by the composition root (`cli/registry.ts`
 * builds `crdb_kafka` from the Kafka source and the CockroachDB changefeed decoder), in place of the `format` /
 * `records` options. A message may be a watermark of its partition (a CockroachDB resolved timestamp): the source's
 * watermark is then the lowest of the latest watermarks of all the partitions it owns.
 */
export interface KafkaMessageDecoder {
  /**
   * Decodes one message of the source named `source`, read at `ingestTimeMs`. Throws the Kafka connector's
   * `DecodeError` for a message that is not in the expected format (it goes to the DLQ). Pure.
   */
  decode(message: Message, source: string, ingestTimeMs: number): DecodedMessage;
  /**
   * Called with each list of consumed messages before any of them is decoded, to fetch what decoding them needs
   * (Avro schemas from a registry). A rejection (the registry is down) holds the messages: the source logs it and
   * calls again with growing pauses, reading nothing more meanwhile.
   */
  prepare?(messages: readonly Message[]): Promise<void>;
  /** Orders two watermarks this decoder produced: negative, zero or positive. */
  compareWatermarks(a: string, b: string): number;
}
