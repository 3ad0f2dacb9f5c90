// Child process of the `kafka-pg` bench: produces the scenario's orders into Kafka, in its own process so the
// system under measurement keeps its CPU. Usage: node --import tsx bench/kafka-pg/produce-orders.ts BROKERS RECORDS TOPIC...
// Prints READY once connected with every message built, produces when a line arrives on stdin, prints DONE when
// the cluster acknowledged every message.
import { createInterface } from 'node:readline';
import Kafka from 'node-rdkafka';
import { stringifyJson } from '../../runtime/json.js';
import { generatedBatches } from '../generated-orders.js';
import { ORDER_INVALID_RATIO, ORDER_SEED } from './order-chain.js';
import { topicOf } from './order-topics.js';

const [brokers, recordsText, ...topics] = process.argv.slice(2);
const records = Number(recordsText);
const messages: { topic: string; key: Buffer; value: Buffer }[] = [];
for (const batch of generatedBatches(records, ORDER_SEED, ORDER_INVALID_RATIO)) {
  for (const record of batch) {
    const id = record.after!.id as number;
    messages.push({
      topic: topics[topicOf(id - 1, topics.length)]!,
      key: Buffer.from(stringifyJson({ id })),
      value: Buffer.from(stringifyJson(record.after)),
    });
  }
}
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
  const { topic, key, value } = messages[index]!;
  try {
    producer.produce(topic, null, value, key, Date.now());
    index++;
  } catch (error) {
    if ((error as { code?: number }).code !== Kafka.CODES.ERRORS.ERR__QUEUE_FULL) throw error;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
while (delivered < messages.length) await new Promise((resolve) => setTimeout(resolve, 10));
process.stdout.write('DONE\n');
producer.disconnect(() => process.exit(0));
