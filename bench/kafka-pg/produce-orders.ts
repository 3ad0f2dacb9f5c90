// Child process of the `kafka-pg` bench: produces the scenario's orders into Kafka, in its own process so the
// system under measurement keeps its CPU. Usage: node --import tsx bench/kafka-pg/produce-orders.ts BROKERS RECORDS TOPIC...
// Prints READY once connected with every message built, produces when a line arrives on stdin, prints DONE when
// the cluster acknowledged every message.
import { stringifyJson } from '../../runtime/json.js';
import { generatedBatches } from '../generated-orders.js';
import { type ChildMessage, runProducerChild } from '../kafka/run-producer-child.js';
import { ORDER_INVALID_RATIO, ORDER_SEED } from './order-chain.js';
import { topicOf } from './order-topics.js';

const [brokers, recordsText, ...topics] = process.argv.slice(2);
const records = Number(recordsText);
const messages: ChildMessage[] = [];
for (const batch of generatedBatches(records, ORDER_SEED, ORDER_INVALID_RATIO)) {
  for (const record of batch) {
    const id = record.after!.id as number;
    messages.push({
      topic: topics[topicOf(id - 1, topics.length)]!,
      partition: null,
      key: Buffer.from(stringifyJson({ id })),
      value: Buffer.from(stringifyJson(record.after)),
    });
  }
}
await runProducerChild(brokers!, messages);
