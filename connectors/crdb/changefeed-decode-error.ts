import { SluiceError } from '../../runtime/errors.js';

/**
 * A changefeed message (Kafka record, webhook body, sinkless row) that cannot be decoded. Code `CRDB_DECODE`,
 * never retriable: the same bytes fail the same way. Callers turn it into a dead letter carrying the raw input.
 */
export class ChangefeedDecodeError extends SluiceError {
  /** The position of the offending message in its source, as given to the decoder. */
  readonly position: string;

  /** `message` says what was expected and what came; the position is appended. */
  constructor(message: string, position: string, options: { cause?: unknown } = {}) {
    super('CRDB_DECODE', `${message} (changefeed message at ${position})`, { ...options, retriable: false });
    this.position = position;
  }
}
