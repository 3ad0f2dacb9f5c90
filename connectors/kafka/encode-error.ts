/** A record the Kafka sink cannot turn into a message (no table for `{table}`, a value the format cannot hold); it goes to the DLQ. */
export class EncodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EncodeError';
  }
}
