import Kafka from 'node-rdkafka';

/** A message to produce, keyed so that every message of one key lands in one partition, in order. */
export interface KeyedMessage {
  readonly key: string;
  readonly value: string;
}

/**
 * A producer for reliability scenarios (used by the tests and by `scripts/soak.ts`, so it does not depend on
 * node:test hooks): `produce` resolves with each message's `topic/partition@offset`, the position Sluice reports.
 */
export class KafkaProducer {
  readonly #producer: Kafka.Producer;
  readonly #pending = new Map<
    number,
    { resolve: (position: string) => void; reject: (error: Error) => void }
  >();
  #nextId = 0;

  private constructor(producer: Kafka.Producer) {
    this.#producer = producer;
    producer.on('delivery-report', (error, report) => {
      const waiter = this.#pending.get(report.opaque as number);
      if (waiter === undefined) return;
      this.#pending.delete(report.opaque as number);
      if (error) waiter.reject(new Error(`delivery failed: ${error.message}`));
      else waiter.resolve(`${report.topic}/${report.partition}@${report.offset}`);
    });
  }

  /** Connects to `brokers`. */
  static async connect(brokers: string): Promise<KafkaProducer> {
    const producer = new Kafka.Producer({ 'bootstrap.servers': brokers, dr_cb: true, 'linger.ms': 5 });
    await new Promise<void>((resolve, reject) =>
      producer.connect({}, (error) => (error ? reject(new Error(error.message)) : resolve())),
    );
    producer.setPollInterval(5);
    return new KafkaProducer(producer);
  }

  /** Produces `messages` to `topic`; resolves with their positions, in the same order, once all are acknowledged. */
  async produce(topic: string, messages: readonly KeyedMessage[]): Promise<string[]> {
    const deliveries = messages.map((message) => {
      const id = this.#nextId++;
      const delivered = new Promise<string>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
      this.#producer.produce(topic, null, Buffer.from(message.value), message.key, null, id);
      return delivered;
    });
    return Promise.all(deliveries);
  }

  /** Disconnects. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#producer.disconnect(() => resolve()));
  }
}
