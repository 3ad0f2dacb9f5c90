import Kafka from 'node-rdkafka';

/**
 * Creates topics on the mock cluster (it creates a topic when a client asks for its metadata) and waits until each
 * has `partitions` partitions, or any partition at all when `partitions` is not given.
 */
export async function createTopics(
  brokers: string,
  topics: readonly string[],
  partitions?: number,
): Promise<void> {
  const producer = new Kafka.Producer({ 'bootstrap.servers': brokers });
  await new Promise<void>((resolve, reject) =>
    producer.connect({}, (error) => (error ? reject(new Error(error.message)) : resolve())),
  );
  try {
    for (const topic of topics) {
      for (let attempt = 0; ; attempt++) {
        const ready = await new Promise<boolean>((resolve) => {
          producer.getMetadata({ topic, timeout: 2_000 }, (error, metadata) =>
            resolve(
              !error &&
                metadata.topics.some(
                  (entry) =>
                    entry.name === topic &&
                    (partitions === undefined
                      ? entry.partitions.length > 0
                      : entry.partitions.length === partitions),
                ),
            ),
          );
        });
        if (ready) break;
        if (attempt === 50) throw new Error(`topic ${topic} was not created`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
}
