import { Type } from '@sinclair/typebox';
import Kafka, { type LibrdKafkaError } from 'node-rdkafka';
import { SluiceError } from '../../runtime/errors.js';
import { kafkaErrorCode, kafkaFailure } from './kafka-failure.js';

const ERRORS = Kafka.CODES.ERRORS;

/** Errors librdkafka reports while connecting that mean the brokers refused the client's credentials. */
const REFUSED_CREDENTIALS = new Set<number>([ERRORS.ERR__AUTHENTICATION, ERRORS.ERR_SASL_AUTHENTICATION_FAILED]);
/**
 * The same, by message: node-rdkafka reports librdkafka's client errors with code -1 and the text only
 * ("authentication failure"; from a broker "SASL authentication error: Authentication failed ...").
 */
const REFUSED_CREDENTIALS_TEXT = /authentication (failure|failed|error)/i;

/** Longest a Kafka client's connect waits for the cluster's metadata, unless `connect_timeout_ms` says otherwise. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

/** The `connect_timeout_ms` option of the Kafka source and sink. */
export const connectTimeoutSchema = Type.Optional(
  Type.Integer({
    minimum: 1000,
    default: DEFAULT_CONNECT_TIMEOUT_MS,
    description:
      'Longest a connect waits for the brokers before it fails (and the supervisor tries again, or gives up).',
  }),
);

/** What {@link connectKafkaClient} says when it fails. */
export interface KafkaConnectAttempt {
  /** What is being connected, for the error: `connecting source "orders" to Kafka brokers b:9092`. */
  readonly doing: string;
  /** Longest wait for the cluster's metadata, in milliseconds. */
  readonly timeoutMs: number;
}

/** How long a failed connect waits for the client's error events, which node-rdkafka delivers around its callback. */
const ERROR_EVENTS_GRACE_MS = 50;

/**
 * Connects a node-rdkafka client. Rejects with `KAFKA_AUTHENTICATION_FAILED`, not retriable, when the connect failed
 * and the client reported that the brokers refused its credentials (trying again with the same settings cannot
 * help); otherwise with `KAFKA_CONNECT_FAILED` (retriable unless librdkafka's error is permanent). node-rdkafka
 * delivers a client's error events only once the connect ends, so neither comes sooner than the timeout.
 */
export function connectKafkaClient(
  client: Kafka.KafkaConsumer | Kafka.Producer,
  attempt: KafkaConnectAttempt,
): Promise<void> {
  // Both clients are event emitters with the same `event.error`; their typed `on` overloads do not unite.
  const events = client as unknown as NodeJS.EventEmitter;
  let refused: LibrdKafkaError | undefined;
  const onError = (error: LibrdKafkaError): void => {
    const code = kafkaErrorCode(error);
    if ((code !== undefined && REFUSED_CREDENTIALS.has(code)) || REFUSED_CREDENTIALS_TEXT.test(error.message))
      refused ??= error;
  };
  events.on('event.error', onError);
  return new Promise<void>((resolve, reject) => {
    client.connect({ timeout: attempt.timeoutMs }, (error) => {
      if (!error) {
        events.off('event.error', onError);
        resolve();
        return;
      }
      setTimeout(() => {
        events.off('event.error', onError);
        reject(
          refused === undefined
            ? kafkaFailure('KAFKA_CONNECT_FAILED', attempt.doing, error)
            : new SluiceError(
                'KAFKA_AUTHENTICATION_FAILED',
                `${attempt.doing} failed: the brokers refused the credentials (${refused.message}); check the SASL settings`,
                { retriable: false, cause: refused },
              ),
        );
      }, ERROR_EVENTS_GRACE_MS);
    });
  });
}
