/** Options every Sluice error accepts. */
export interface SluiceErrorOptions {
  /** True when the same operation may succeed if tried again later (a lost connection, a deadlock). */
  retriable?: boolean;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * The base of every error Sluice raises on purpose. `code` is stable (match on it, not on the message);
 * `retriable` feeds the one retrier; `cause` keeps the original error. Messages say what was expected, what came,
 * and where.
 */
export class SluiceError extends Error {
  /** A stable, upper-case identifier such as `CONFIG_INVALID` or `SINK_WRITE_FAILED`. */
  readonly code: string;
  /** True when the operation may succeed if tried again. */
  readonly retriable: boolean;

  constructor(code: string, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** A connector was used before `connect()` resolved or after `close()`. */
export class NotConnectedError extends SluiceError {
  constructor(what: string) {
    super('NOT_CONNECTED', `${what} is not connected`);
  }
}

/** Asks the caller to wait before trying again (a full buffer, a busy server). Always retriable. */
export class BackOffError extends SluiceError {
  /** How long the caller should wait, in milliseconds. */
  readonly delayMs: number;

  constructor(message: string, delayMs: number, options: Omit<SluiceErrorOptions, 'retriable'> = {}) {
    super('BACK_OFF', message, { ...options, retriable: true });
    this.delayMs = delayMs;
  }
}

/**
 * Stops the pipeline on purpose (a data-quality rule with `action: fail`, a schema-drift policy of `fail`).
 * Everything before the failing record is written and checkpointed; nothing after it is.
 */
export class PipelineFailure extends SluiceError {
  constructor(code: string, message: string, options: Omit<SluiceErrorOptions, 'retriable'> = {}) {
    super(code, message, { ...options, retriable: false });
  }
}

/** True when `error` is a Sluice error marked retriable. */
export function isRetriable(error: unknown): boolean {
  return error instanceof SluiceError && error.retriable;
}

/** The message of any thrown value, for logs and DLQ reasons. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
