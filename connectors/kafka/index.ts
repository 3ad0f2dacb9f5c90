export { kafkaSource, KAFKA_CONSUMER_PROPERTIES, kafkaConsumerIssues, kafkaSourceOptions } from './source.js';
export type { KafkaConsumerConfig } from './source.js';
export { kafkaSink } from './sink.js';
export { KafkaSource } from './kafka-source.js';
export type { KafkaSourceOptions, KafkaPartitionLag } from './kafka-source.js';
export type { KafkaSink, KafkaSinkOptions } from './kafka-sink.js';
export { DecodeError } from './decode-error.js';
export { messagePosition } from './message-to-record.js';
export type { KafkaMessageDecoder, DecodedMessage } from './message-decoder.js';
