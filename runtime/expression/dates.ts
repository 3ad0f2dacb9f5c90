// Internal: timestamps for the expression language. All date parts and formats are in UTC.

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(?:\s*(?:([Zz])|([+-])(\d{2}):?(\d{2})))?$/;

/**
 * The instant an ISO 8601 / RFC 3339 text names (`2024-05-01`, `2024-05-01T10:00:00.123456+02:00`), or null when
 * the text is not one or names no real date. Without an offset the time is UTC. Digits beyond milliseconds are
 * dropped.
 */
export function parseTimestamp(text: string): Date | null {
  const match = RFC3339.exec(text);
  if (match === null) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', , sign, offsetH = '0', offsetM = '0'] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const date = new Date(
    Date.UTC(year, month - 1, day, hour, minute, second, Number(fraction.padEnd(3, '0').slice(0, 3))),
  );
  date.setUTCFullYear(year);
  if (date.getUTCDate() !== day) return null;
  if (sign !== undefined) {
    const offset = (Number(offsetH) * 60 + Number(offsetM)) * 60_000;
    date.setTime(date.getTime() - (sign === '-' ? -offset : offset));
  }
  return date;
}

const TOKENS = /YYYY|MM|DD|HH|mm|ss|SSS/g;

/**
 * `date` as text. Without a pattern: ISO 8601 in UTC (`2024-05-01T10:00:00.000Z`). A pattern replaces `YYYY`, `MM`,
 * `DD`, `HH`, `mm`, `ss` and `SSS` with the UTC year, month, day, hour, minute, second and millisecond; every other
 * character stays.
 */
export function formatDate(date: Date, pattern?: string): string {
  if (pattern === undefined) return date.toISOString();
  const two = (n: number): string => String(n).padStart(2, '0');
  return pattern.replace(TOKENS, (token) => {
    switch (token) {
      case 'YYYY':
        return String(date.getUTCFullYear()).padStart(4, '0');
      case 'MM':
        return two(date.getUTCMonth() + 1);
      case 'DD':
        return two(date.getUTCDate());
      case 'HH':
        return two(date.getUTCHours());
      case 'mm':
        return two(date.getUTCMinutes());
      case 'ss':
        return two(date.getUTCSeconds());
      default:
        return String(date.getUTCMilliseconds()).padStart(3, '0');
    }
  });
}
