import Kafka from 'node-rdkafka';
import { SluiceError } from '../../runtime/errors.js';

const ERRORS = Kafka.CODES.ERRORS;

/** librdkafka errors that trying again will not fix: bad settings, refused access, messages Kafka never accepts. */
const PERMANENT = new Set<number>([
  ERRORS.ERR__INVALID_ARG,
  ERRORS.ERR__UNKNOWN_TOPIC,
  ERRORS.ERR__UNKNOWN_PARTITION,
  ERRORS.ERR__AUTHENTICATION,
  ERRORS.ERR__FATAL,
  ERRORS.ERR__FENCED,
  ERRORS.ERR_INVALID_MSG,
  ERRORS.ERR_MSG_SIZE_TOO_LARGE,
  ERRORS.ERR_TOPIC_EXCEPTION,
  ERRORS.ERR_RECORD_LIST_TOO_LARGE,
  ERRORS.ERR_INVALID_REQUIRED_ACKS,
  ERRORS.ERR_TOPIC_AUTHORIZATION_FAILED,
  ERRORS.ERR_GROUP_AUTHORIZATION_FAILED,
  ERRORS.ERR_CLUSTER_AUTHORIZATION_FAILED,
  ERRORS.ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  ERRORS.ERR_SASL_AUTHENTICATION_FAILED,
  ERRORS.ERR_UNSUPPORTED_SASL_MECHANISM,
  ERRORS.ERR_INVALID_RECORD,
]);

/** The numeric librdkafka error code of a thrown or reported value, or undefined when it has none. */
export function kafkaErrorCode(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'number')
    return error.code;
  return undefined;
}

/**
 * Wraps a librdkafka error (a `LibrdKafkaError`, a thrown `Error`, or a bare code) as a {@link SluiceError} with the
 * given stable `code`, saying what was being done; retriable unless librdkafka marks it fatal or it is one of the
 * errors that no retry fixes (authorization, sizes, unknown topics, bad arguments).
 */
export function kafkaFailure(code: string, doing: string, error: unknown): SluiceError {
  const number = kafkaErrorCode(error);
  const fatal = typeof error === 'object' && error !== null && 'isFatal' in error && error.isFatal === true;
  const message =
    error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error)
      ? String(error.message)
      : String(error);
  const retriable = !fatal && (number === undefined || !PERMANENT.has(number));
  return new SluiceError(
    code,
    `${doing} failed: ${message}${number === undefined ? '' : ` (librdkafka error ${number})`}`,
    { retriable, cause: error },
  );
}
