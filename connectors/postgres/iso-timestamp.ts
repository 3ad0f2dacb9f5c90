/**
 * `YYYY-MM-DD`, `T` or a space, `HH:MM:SS`, up to six fraction digits, then `Z`, `±HH:MM` or nothing: the ISO 8601
 * forms JSON sources and CockroachDB changefeeds send, which Postgres reads the same way for every setting.
 */
const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:(Z)|([+-])(\d{2}):(\d{2}))?$/;
/** Milliseconds from the Unix epoch to the Postgres epoch, 2000-01-01 UTC. */
const POSTGRES_EPOCH_MS = Date.UTC(2000, 0, 1);
/** Postgres reads zone offsets up to 15:59 either way. */
const MAX_OFFSET_MINUTES = 15 * 60 + 59;

/**
 * Microseconds since 2000-01-01 00:00 of an ISO 8601 timestamp text, as Postgres reads it into `timestamp with
 * time zone` (`withZone`: the text's `Z` or offset applies, and a text without one is not read here, since
 * Postgres would read it in the session's `TimeZone`) or into `timestamp without time zone` (the wall clock as
 * written: Postgres ignores a zone there). Undefined for any text this does not read exactly as Postgres would:
 * another form, more than six fraction digits, a day or time out of range (`02-30`, `24:00`, `:60`), a year
 * outside 1000 to 9999, or microseconds beyond 2^53 (before about 1715 or after about 2285).
 */
export function isoTimestampMicros(text: string, withZone: boolean): number | undefined {
  const match = ISO_TIMESTAMP.exec(text);
  if (match === null) return undefined;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  const hour = Number(match[4]);
  const minute = Number(match[5]);
  const second = Number(match[6]);
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (withZone) {
    if (match[8] === undefined && match[9] === undefined) return undefined;
    if (match[9] !== undefined) {
      const offsetHours = Number(match[10]);
      const offsetOfHour = Number(match[11]);
      if (offsetOfHour > 59) return undefined;
      offsetMinutes = (match[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetOfHour);
      if (Math.abs(offsetMinutes) > MAX_OFFSET_MINUTES) return undefined;
    }
  }
  const fraction = match[7] === undefined ? 0 : Number(match[7].padEnd(6, '0'));
  const ms = Date.UTC(year, month - 1, day, hour, minute - offsetMinutes, second);
  const micros = (ms - POSTGRES_EPOCH_MS) * 1000 + fraction;
  return Number.isSafeInteger(micros) ? micros : undefined;
}

/** Days in a month of the proleptic Gregorian calendar (Postgres's too). */
function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
