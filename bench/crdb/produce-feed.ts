// Child process of the `crdb-kafka-pg` bench: produces the scenario's changefeed into Kafka, in its own process so
// the system under measurement keeps its CPU. Usage: node --import tsx bench/crdb/produce-feed.ts BROKERS CHANGES TOPIC...
// Prints READY once connected with every message built, produces when a line arrives on stdin, prints DONE when
// the cluster acknowledged every message.
import { createInterface } from 'node:readline';
import Kafka from 'node-rdkafka';
import { accountFeed } from './account-feed.js';

const [brokers, changesText, ...topics] = process.argv.slice(2);
const messages: { topic: string; partition: number; key: Buffer | null; value: Buffer }[] = [];
accountFeed(Number(changesText), (message) =>
  messages.push({
    topic: topics[message.topic]!,
    partition: message.partition,
    key: message.key === null ? null : Buffer.from(message.key),
    value: Buffer.from(message.value),
  }),
);
const producer = new Kafka.Producer({
  'bootstrap.servers': brokers!,
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
await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));
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
