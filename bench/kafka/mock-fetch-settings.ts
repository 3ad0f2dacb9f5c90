/**
 * librdkafka settings every librdkafka consumer in the benchmarks uses (Sluice through `settings:`, the ceilings
 * directly). librdkafka's mock cluster answers a fetch that finds no new data only after the request's wait time,
 * `fetch.wait.max.ms` (500 ms by default), even when messages arrive meanwhile; a real broker answers as soon as
 * `fetch.min.bytes` arrived. A consumer that caught up with a live producer would otherwise measure the mock's
 * timer (`kafka-pg --quick`: consume-and-parse took 0.70 s for 20 000 orders with the default, 0.32 s with this).
 * The KafkaJS consumers set their own wait (`maxWaitTimeInMs`).
 */
export const MOCK_FETCH_SETTINGS = { 'fetch.wait.max.ms': 10 } as const;

/** {@link MOCK_FETCH_SETTINGS} as a YAML flow mapping, for a Kafka source's `settings:`. */
export const MOCK_FETCH_SETTINGS_YAML = `{ ${Object.entries(MOCK_FETCH_SETTINGS)
  .map(([name, value]) => `${name}: ${value}`)
  .join(', ')} }`;
