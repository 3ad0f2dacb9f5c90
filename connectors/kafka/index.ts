export { kafkaSource } from './source.js';
export { kafkaSink } from './sink.js';
export type { KafkaSource, KafkaSourceOptions, KafkaPartitionLag } from './kafka-source.js';
export type { KafkaSink, KafkaSinkOptions } from './kafka-sink.js';
