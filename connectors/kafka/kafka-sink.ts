import Kafka, { type DeliveryReport, type LibrdKafkaError } from 'node-rdkafka';
import type { Logger } from 'pino';
import type { DeadLetter } from '../../runtime/dead-letter.js';
import { NotConnectedError } from '../../runtime/errors.js';
import type { ChangeRecord } from '../../runtime/record.js';
import type { Sink, SinkContext, WriteResult } from '../../runtime/sink.js';
import type { SettingValue } from './client-settings.js';
import { connectKafkaClient } from './connect-client.js';
import { EncodeError } from './encode-error.js';
import { kafkaErrorCode, kafkaFailure } from './kafka-failure.js';
import { type MessageEncoding, recordToMessage } from './record-to-message.js';

const ERRORS = Kafka.CODES.ERRORS;

/** Everything a {@link KafkaSink} needs, already validated (see `sink.ts` for the YAML options). */
export interface KafkaSinkOptions {
  /** Bootstrap servers, `host:port[,host:port...]`. */
  readonly brokers: string;
  readonly encoding: MessageEncoding;
  /** librdkafka `compression.codec`. */
  readonly compression: 'none' | 'gzip' | 'snappy' | 'lz4';
  /** Idempotent producer: no duplicates or reordering from librdkafka's own retries. */
  readonly idempotent: boolean;
  /** Longest librdkafka tries to deliver a message before its write fails (retriably), in milliseconds. */
  readonly deliveryTimeoutMs: number;
  /** Longest `close` waits for messages still in flight, in milliseconds. */
  readonly flushTimeoutMs: number;
  /** Longest a connect waits for the cluster's metadata, in milliseconds. */
  readonly connectTimeoutMs: number;
  /** librdkafka properties passed through (TLS, SASL, tuning). Never logged. */
  readonly settings: Readonly<Record<string, SettingValue>>;
}

/** The delivery state of one `write`. */
interface PendingWrite {
  outstanding: number;
  produced: boolean;
  failure: LibrdKafkaError | undefined;
  failedTopic: string | undefined;
  /** Records Kafka refused one by one in their delivery reports. */
  readonly refused: DeadLetter[];
  settle: (() => void) | undefined;
}

/** The opaque value of one produced message: its write and its record. */
interface InFlight {
  readonly pending: PendingWrite;
  readonly record: ChangeRecord;
}

/** Delivery errors that concern one message, not the connection: the record goes to the DLQ. */
const REFUSED = new Set<number>([
  ERRORS.ERR_MSG_SIZE_TOO_LARGE,
  ERRORS.ERR_INVALID_MSG,
  ERRORS.ERR_INVALID_RECORD,
]);

/** librdkafka producer defaults for Sluice's micro-batches; `settings` may override them. */
const PRODUCER_DEFAULTS: Record<string, SettingValue> = {
  'linger.ms': 5,
  'batch.num.messages': 10_000,
  'queue.buffering.max.messages': 100_000,
  'queue.buffering.max.kbytes': 65_536,
};

/**
 * Writes records to Kafka through an (idempotent by default) librdkafka producer. A `write` resolves only when every
 * message of the batch has a successful delivery report, so the records are acknowledged to their source only once
 * Kafka has them. A failed delivery rejects the write, retriable unless librdkafka's error is one no retry fixes; a
 * record that cannot be encoded, or that Kafka refuses on its own (too large), is returned as rejected and goes to
 * the DLQ. A retried write may duplicate the messages already delivered by the failed attempt (at least once).
 */
export class KafkaSink implements Sink {
  readonly #options: KafkaSinkOptions;
  #producer: Kafka.Producer | undefined;
  #logger: Logger | undefined;
  #name = '?';
  #closed: Promise<void> | undefined;

  constructor(options: KafkaSinkOptions) {
    this.#options = options;
  }

  async connect(context: SinkContext): Promise<void> {
    const options = this.#options;
    this.#logger = context.logger;
    this.#name = context.name;
    this.#closed = undefined;
    const producer = new Kafka.Producer(
      {
        'client.id': `sluice-${context.pipeline}-${context.name}`,
        ...PRODUCER_DEFAULTS,
        'compression.codec': options.compression,
        'enable.idempotence': options.idempotent,
        ...options.settings,
        'bootstrap.servers': options.brokers,
        dr_cb: true,
      },
      { 'message.timeout.ms': options.deliveryTimeoutMs },
    );
    producer.on('delivery-report', (error, report) => this.#onDelivery(error, report));
    producer.on('event.error', (error) =>
      this.#logger?.warn({ err: error }, `kafka sink "${this.#name}": librdkafka reported an error`),
    );
    await connectKafkaClient(producer, {
      doing: `connecting sink "${context.name}" to Kafka brokers ${options.brokers}`,
      timeoutMs: options.connectTimeoutMs,
    });
    producer.setPollInterval(5);
    this.#producer = producer;
  }

  async write(records: readonly ChangeRecord[]): Promise<WriteResult> {
    const producer = this.#producer;
    if (producer === undefined || this.#closed !== undefined)
      throw new NotConnectedError(`kafka sink "${this.#name}"`);
    const rejected: DeadLetter[] = [];
    const pending: PendingWrite = {
      outstanding: 0,
      produced: false,
      failure: undefined,
      failedTopic: undefined,
      refused: [],
      settle: undefined,
    };
    const delivered = new Promise<void>((resolve) => (pending.settle = resolve));
    for (const record of records) {
      let message;
      try {
        message = recordToMessage(record, this.#options.encoding);
      } catch (error) {
        if (!(error instanceof EncodeError)) throw error;
        rejected.push(this.#deadLetter(record, error.message));
        continue;
      }
      if (message === null) continue;
      for (;;) {
        try {
          producer.produce(
            message.topic,
            null,
            message.value,
            message.key,
            null,
            { pending, record } satisfies InFlight,
            message.headers,
          );
          pending.outstanding++;
          break;
        } catch (error) {
          const code = kafkaErrorCode(error);
          if (code === ERRORS.ERR__QUEUE_FULL) {
            // librdkafka's queue is full: let deliveries drain it, then try the same message again.
            producer.poll();
            await new Promise((resolve) => setTimeout(resolve, 5));
            continue;
          }
          if (code === ERRORS.ERR_MSG_SIZE_TOO_LARGE || code === ERRORS.ERR__INVALID_ARG) {
            rejected.push(
              this.#deadLetter(
                record,
                `Kafka refused the message for topic "${message.topic}": ${(error as Error).message}`,
              ),
            );
            break;
          }
          pending.produced = true;
          if (pending.outstanding > 0) await delivered;
          throw kafkaFailure(
            'KAFKA_PRODUCE_FAILED',
            `kafka sink "${this.#name}" producing to topic "${message.topic}"`,
            error,
          );
        }
      }
    }
    pending.produced = true;
    if (pending.outstanding > 0) await delivered;
    if (pending.failure !== undefined) {
      throw kafkaFailure(
        'KAFKA_DELIVERY_FAILED',
        `kafka sink "${this.#name}" delivering a batch of ${records.length} record(s) to topic "${pending.failedTopic}"`,
        pending.failure,
      );
    }
    return { rejected: [...rejected, ...pending.refused] };
  }

  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    const producer = this.#producer;
    if (producer === undefined) return;
    this.#producer = undefined;
    await new Promise<void>((resolve) =>
      producer.flush(this.#options.flushTimeoutMs, (error) => {
        if (error)
          this.#logger?.warn(
            { err: error },
            `kafka sink "${this.#name}": messages still undelivered after ${this.#options.flushTimeoutMs} ms at close`,
          );
        resolve();
      }),
    );
    producer.setPollInterval(0);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      producer.disconnect(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #onDelivery(error: LibrdKafkaError | null | undefined, report: DeliveryReport): void {
    const inFlight = report.opaque as InFlight | undefined;
    if (inFlight === undefined) return;
    const { pending, record } = inFlight;
    if (error && REFUSED.has(error.code)) {
      pending.refused.push(
        this.#deadLetter(record, `Kafka refused the message for topic "${report.topic}": ${error.message}`),
      );
    } else if (error && pending.failure === undefined) {
      pending.failure = error;
      pending.failedTopic = report.topic;
    }
    pending.outstanding--;
    if (pending.outstanding === 0 && pending.produced) pending.settle?.();
  }

  #deadLetter(record: ChangeRecord, reason: string): DeadLetter {
    return {
      node: this.#name,
      reason,
      source: { name: record.source.name, position: record.source.position },
      record,
    };
  }
}
