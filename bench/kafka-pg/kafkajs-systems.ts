import { Kafka, logLevel, type Consumer } from 'kafkajs';
import type { Row } from '../../runtime/record.js';
import type { SystemParams, SystemResult } from '../scenario.js';
import type { KafkaPgEnvironment } from './environment.js';
import type { StartedKafkaSystem } from '../kafka/measure-live-kafka.js';
import { measureKafkaPg } from './measure.js';
import { orderChain } from './order-chain.js';

/** A KafkaJS consumer subscribed to the scenario's topics, resolved once its group joined. */
async function joinedConsumer(environment: KafkaPgEnvironment, group: string): Promise<Consumer> {
  const kafka = new Kafka({
    clientId: group,
    brokers: environment.brokers.split(','),
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [...environment.topics], fromBeginning: true });
  return consumer;
}

/** Resolves when `consumer` has joined its group (call before `run`). */
function joined(consumer: Consumer): Promise<void> {
  return new Promise((resolve) => {
    const remove = consumer.on(consumer.events.GROUP_JOIN, () => {
      remove();
      resolve();
    });
  });
}

/**
 * What a Node developer writes today: KafkaJS `eachBatch`, JSON.parse, the chain by hand, one multi-row upsert per
 * batch, offsets resolved after the write (at least once).
 */
export function runKafkaJsBatch(params: SystemParams): Promise<SystemResult> {
  return measureKafkaPg(params, 'kafkajs-batch', async (environment): Promise<StartedKafkaSystem> => {
    const consumer = await joinedConsumer(environment, 'bench-kafkajs-batch');
    const ready = joined(consumer);
    let written = 0;
    await consumer.run({
      eachBatch: async (payload) => {
        const { batch } = payload;
        const rows: Row[] = [];
        for (const message of batch.messages) {
          const row = orderChain(JSON.parse(message.value!.toString()) as Row);
          if (row !== null) rows.push(row);
        }
        if (rows.length > 0) await environment.table.upsertBatch(rows);
        written += rows.length;
        payload.resolveOffset(batch.lastOffset());
        await payload.heartbeat();
      },
    });
    await ready;
    return { done: () => written, stop: () => consumer.disconnect() };
  });
}

/** The naive consumer: KafkaJS `eachMessage`, one INSERT … ON CONFLICT per message. */
export function runKafkaJsNaive(params: SystemParams): Promise<SystemResult> {
  return measureKafkaPg(params, 'naive-per-message', async (environment): Promise<StartedKafkaSystem> => {
    const consumer = await joinedConsumer(environment, 'bench-naive');
    const ready = joined(consumer);
    let written = 0;
    await consumer.run({
      eachMessage: async ({ message }) => {
        const row = orderChain(JSON.parse(message.value!.toString()) as Row);
        if (row === null) return;
        await environment.table.upsertOne(row);
        written++;
      },
    });
    await ready;
    return { done: () => written, stop: () => consumer.disconnect() };
  });
}
