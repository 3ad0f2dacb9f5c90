/**
 * What a failed Postgres call means for a sink write:
 * - `unavailable`: the server or the connection failed (retry the whole batch later);
 * - `record`: a value or constraint was refused (isolate the offending records);
 * - `fatal`: anything else (bad SQL, missing privileges, a missing table): retrying will not help.
 */
export type ErrorKind = 'unavailable' | 'record' | 'fatal';

/** Node socket errors that mean the connection, not the statement, failed. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/** SQLSTATEs outside the whole classes below that are still transient. */
const TRANSIENT_STATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '57014', // query_canceled (statement timeout)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '58000', // system_error
  '58030', // io_error
]);

/**
 * Classifies an error from `pg` by its SQLSTATE (`error.code`) or, for errors that never reached the server,
 * by the socket error code or pg's own connection messages.
 */
export function errorKind(error: unknown): ErrorKind {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  if (SOCKET_CODES.has(code)) return 'unavailable';
  if (/^[0-9A-Z]{5}$/.test(code)) {
    // 08: connection exception; 53: insufficient resources (53300 too many connections).
    if (code.startsWith('08') || code.startsWith('53') || TRANSIENT_STATES.has(code)) return 'unavailable';
    // 22: data exception (22001 value too long, 22P02 invalid text); 23: integrity constraint violation;
    // 21000: one statement touching the same row twice (keys equal to Postgres, distinct to JavaScript).
    if (code.startsWith('22') || code.startsWith('23') || code === '21000') return 'record';
    return 'fatal';
  }
  const message = error instanceof Error ? error.message : '';
  if (
    /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(
      message,
    )
  ) {
    return 'unavailable';
  }
  return 'fatal';
}
