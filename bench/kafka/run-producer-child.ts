import { createInterface } from 'node:readline';
import Kafka from 'node-rdkafka';

/** One message a producer child produces; a `null` partition leaves the choice to the partitioner (by key). */
export interface ChildMessage {
  readonly topic: string;
  readonly partition: number | null;
  readonly key: Buffer | null;
  readonly value: Buffer;
}

/**
 * The body of a producer child process (see `startProducerChild`): connects to `brokers`, prints READY, produces
 * every message when a line arrives on stdin, prints DONE when the cluster acknowledged them all, and exits.
 */
export async function runProducerChild(brokers: string, messages: readonly ChildMessage[]): Promise<void> {
  const producer = new Kafka.Producer({
    'bootstrap.servers': brokers,
    dr_cb: true,
    'linger.ms': 5,
    'batch.num.messages': 10_000,
    'queue.buffering.max.messages': 200_000,
  });
  await new Promise<void>((resolve, reject) =>
    producer.connect({}, (error) => (error ? reject(new Error(error.message)) : resolve())),
  );
  producer.setPollInterval(5);
  let delivered = 0;
  producer.on('delivery-report', (error) => {
    if (error) {
      console.error(`delivery failed: ${error.message}`);
      process.exit(1);
    }
    delivered++;
  });
  process.stdout.write('READY\n');
  await new Promise<void>((resolve) =>
    createInterface({ input: process.stdin }).once('line', () => resolve()),
  );
  for (let index = 0; index < messages.length;) {
    const { topic, partition, key, value } = messages[index]!;
    try {
      producer.produce(topic, partition, value, key, Date.now());
      index++;
    } catch (error) {
      if ((error as { code?: number }).code !== Kafka.CODES.ERRORS.ERR__QUEUE_FULL) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  while (delivered < messages.length) await new Promise((resolve) => setTimeout(resolve, 10));
  process.stdout.write('DONE\n');
  producer.disconnect(() => process.exit(0));
}
