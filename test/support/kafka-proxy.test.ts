import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Kafka, { type Message } from 'node-rdkafka';
import { KafkaProducer } from '../reliability/kafka-producer.js';
import { KafkaProxy } from './kafka-proxy.js';
import { uniqueTopic, useKafka } from './kafka.js';

const kafka = useKafka();

const int16 = (value: number) => Buffer.from([(value >> 8) & 0xff, value & 0xff]);
const int32 = (value: number) => {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
};
const string = (value: string | null) =>
  value === null ? int16(-1) : Buffer.concat([int16(value.length), Buffer.from(value)]);
/** A frame: size prefix, then `parts`. */
const frame = (...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([int32(body.length), body]);
};

/** A one-broker fake on 127.0.0.1: answers the first request with `response(port, correlationId)`, a byte at a time. */
async function startFakeBroker(response: (port: number, correlationId: number) => Buffer): Promise<Server> {
  const server = createServer((socket) => {
    // The proxy resets its upstream connections when it closes.
    socket.on('error', () => undefined);
    socket.once('data', (request) => {
      const bytes = response((server.address() as { port: number }).port, request.readInt32BE(8));
      void (async () => {
        for (const byte of bytes) {
          socket.write(Buffer.from([byte]));
          await sleep(1);
        }
      })();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/**
 * Sends one request (header only) to the fake broker `server` through a {@link KafkaProxy}; returns the proxy's port
 * and the response frame as the client got it.
 */
async function exchange(
  server: Server,
  apiKey: number,
  apiVersion: number,
): Promise<{ proxyPort: number; response: Buffer }> {
  const proxy = await KafkaProxy.start(`127.0.0.1:${(server.address() as { port: number }).port}`);
  try {
    const proxyPort = Number(proxy.bootstrapServers.split(':')[1]);
    const socket = connect(proxyPort, '127.0.0.1');
    socket.write(frame(int16(apiKey), int16(apiVersion), int32(42), string('test')));
    let received = Buffer.alloc(0);
    for await (const chunk of socket) {
      received = Buffer.concat([received, chunk as Buffer]);
      if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) break;
    }
    socket.destroy();
    assert.equal(proxy.connections, 1);
    return { proxyPort, response: received };
  } finally {
    await proxy.close();
    server.close();
  }
}

describe('KafkaProxy', () => {
  test('caps the versions offered in a flexible ApiVersions response to the ones it rewrites, in place', async () => {
    const entry = (apiKey: number, min: number, max: number, tags = Buffer.from([0])) =>
      Buffer.concat([int16(apiKey), int16(min), int16(max), tags]);
    const apiVersions = (capped: boolean) => (_port: number, correlationId: number) =>
      frame(
        int32(correlationId),
        int16(0),
        Buffer.from([6]), // compact array of 5
        entry(0, 0, capped ? 9 : 10),
        entry(1, 0, capped ? 15 : 16),
        entry(3, 0, capped ? 8 : 12, Buffer.from([1, 0, 2, 0xab, 0xcd])), // one tagged field, 2 bytes
        entry(10, 0, capped ? 2 : 4),
        entry(18, 0, 3),
        int32(0),
        Buffer.from([0]),
      );
    const { response } = await exchange(await startFakeBroker(apiVersions(false)), 18, 3);
    assert.deepEqual(response, apiVersions(true)(0, 42));
  });

  test('rewrites the brokers it fronts in a Metadata response split across chunks, and leaves the rest', async () => {
    const metadata = (port: number, correlationId: number) =>
      frame(
        int32(correlationId),
        int32(0), // throttle_time_ms
        int32(2),
        int32(1),
        string('127.0.0.1'),
        int32(port),
        string(null),
        int32(2),
        string('elsewhere.example'),
        int32(9092),
        string('rack-b'),
        string('cluster-1'),
        int32(1), // controller_id
        int32(0), // topics
        int32(-2147483648), // cluster_authorized_operations
      );
    const { proxyPort, response } = await exchange(await startFakeBroker(metadata), 3, 8);
    assert.deepEqual(response, metadata(proxyPort, 42));
  });

  test('rewrites the coordinator in a FindCoordinator response', async () => {
    const coordinator = (port: number, correlationId: number) =>
      frame(
        int32(correlationId),
        int32(0),
        int16(0),
        string(null),
        int32(1),
        string('127.0.0.1'),
        int32(port),
      );
    const { proxyPort, response } = await exchange(await startFakeBroker(coordinator), 10, 2);
    assert.deepEqual(response, coordinator(proxyPort, 42));
  });

  test('a producer and a consumer group bootstrapped with its addresses: stopped by cut(), resumed by restore()', async () => {
    const proxy = await KafkaProxy.start(kafka.brokers);
    const topic = uniqueTopic('proxied');
    const producer = await KafkaProducer.connect(proxy.bootstrapServers);
    const consumer = new Kafka.KafkaConsumer(
      { 'bootstrap.servers': proxy.bootstrapServers, 'group.id': uniqueTopic('proxied-group') },
      { 'auto.offset.reset': 'earliest' },
    );
    const messages = (from: number) =>
      Array.from({ length: 50 }, (_, index) => ({ key: `k${index}`, value: `m${from + index}` }));
    const consumed: Message[] = [];
    const consumeUntil = async (count: number) => {
      const deadline = Date.now() + 30_000;
      while (consumed.length < count && Date.now() < deadline)
        consumed.push(
          ...(await new Promise<Message[]>((resolve) =>
            consumer.consume(100, (_error, batch) => resolve(batch ?? [])),
          )),
        );
      assert.equal(consumed.length, count);
    };
    try {
      await new Promise<void>((resolve, reject) =>
        consumer.connect({}, (error) => (error ? reject(new Error(error.message)) : resolve())),
      );
      consumer.setDefaultConsumeTimeout(200);
      consumer.subscribe([topic]);
      await producer.produce(topic, messages(0));
      await consumeUntil(50);
      const connections = proxy.connections;
      assert.ok(connections >= 2, `${connections} connections through the proxy`);

      proxy.cut();
      let delivered = false;
      const delivering = producer.produce(topic, messages(50)).then(() => (delivered = true));
      await sleep(1_500);
      assert.equal(delivered, false, 'nothing reached the cluster while the proxy was cut');
      proxy.restore();
      await delivering;
      await consumeUntil(100);
      assert.deepEqual(
        consumed.map((message) => message.value!.toString()).sort(),
        [...messages(0), ...messages(50)].map((message) => message.value).sort(),
      );
      assert.ok(proxy.connections > connections, 'the clients connected again through the proxy');
    } finally {
      await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
      await producer.close();
      await proxy.close();
    }
  });
});
