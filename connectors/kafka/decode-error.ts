/** A Kafka message whose bytes are not in the configured format; the source sets it aside as a dead letter. */
export class DecodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DecodeError';
  }
}
