/**
 * Orders per topic: the mock cluster keeps about 5 MB per partition (4 partitions a topic), so the scenario spreads
 * its ~170-byte messages over topics of at most this many, and no message is dropped however far a consumer lags.
 */
export const ORDERS_PER_TOPIC = 50_000;

/** Topics needed for `records` orders. */
export function topicCount(records: number): number {
  return Math.max(1, Math.ceil(records / ORDERS_PER_TOPIC));
}

/** The topic index of order `sequence` (0-based) among `topics`: round robin, so every topic is live at once. */
export function topicOf(sequence: number, topics: number): number {
  return sequence % topics;
}
