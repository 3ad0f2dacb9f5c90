// Child process of the `crdb-kafka-pg` bench: produces the scenario's changefeed into Kafka, in its own process so
// the system under measurement keeps its CPU. Usage: node --import tsx bench/crdb/produce-feed.ts BROKERS CHANGES TOPIC...
// Prints READY once connected with every message built, produces when a line arrives on stdin, prints DONE when
// the cluster acknowledged every message.
import { type ChildMessage, runProducerChild } from '../kafka/run-producer-child.js';
import { accountFeed } from './account-feed.js';

const [brokers, changesText, ...topics] = process.argv.slice(2);
const messages: ChildMessage[] = [];
accountFeed(Number(changesText), (message) =>
  messages.push({
    topic: topics[message.topic]!,
    partition: message.partition,
    key: message.key === null ? null : Buffer.from(message.key),
    value: Buffer.from(message.value),
  }),
);
await runProducerChild(brokers!, messages);
