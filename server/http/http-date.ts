/**
 * HTTP dates as a recipient must read them (RFC 9110 §5.6.7, formerly RFC 7231 §7.1.1.1), plus the
 * two variants that mainstream standard libraries write:
 *
 * - IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT` (what every HTTP client should send);
 * - obsolete RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT` (two-digit years read as the RFC says: a year
 *   more than 50 years in the future is in the past century);
 * - ANSI C asctime `Sun Nov  6 08:49:37 1994`;
 * - RFC 1123/5322 variants: a one-digit day (`Tue, 1 Dec 2026 …`, Java's
 *   `DateTimeFormatter.RFC_1123_DATE_TIME`) and a numeric zone (`+0000`, `-0000`, `+0100`, Python's
 *   `email.utils.formatdate()`), also `UT`/`UTC` for GMT.
 *
 * Strict otherwise: the weekday must be the date's, the date must exist, hours 00–23, minutes and
 * seconds 00–59 (60 for a leap second is read as 59). Anything else is null. The License API's
 * signature is computed over the raw header, so accepting a form changes nothing about what is signed.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
const MONTH = `(${MONTHS.join('|')})`;
/** IMF-fixdate and its RFC 1123 relatives: `Sun, 06 Nov 1994 08:49:37 GMT`, `Tue, 1 Dec 2026 10:00:00 +0000`. */
const RFC1123 = new RegExp(`^(${DAYS.join('|')}), (\\d{1,2}) ${MONTH} (\\d{4}) ${TIME} (GMT|UTC|UT|[+-]\\d{4})$`);
/** Obsolete RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`. */
const RFC850 = new RegExp(`^(${LONG_DAYS.join('|')}), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
/** asctime: `Sun Nov  6 08:49:37 1994` (a one-digit day is padded with a space). */
const ASCTIME = new RegExp(`^(${DAYS.join('|')}) ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`);

interface Parts {
  weekday: number;
  day: number;
  month: number;
  year: number;
  hour: number;
  minute: number;
  second: number;
  offsetMinutes: number;
}

function offsetOf(zone: string): number | null {
  if (zone === 'GMT' || zone === 'UTC' || zone === 'UT') return 0;
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(3, 5));
  if (hours > 23 || minutes > 59) return null;
  return (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
}

/** A two-digit RFC 850 year: the most recent year with those digits that is not more than 50 years ahead of `now`. */
function fullYear(twoDigits: number, now: Date): number {
  const current = now.getUTCFullYear();
  let year = Math.floor(current / 100) * 100 + twoDigits;
  if (year > current + 50) year -= 100;
  return year;
}

function partsOf(value: string, now: Date): Parts | null {
  let m = RFC1123.exec(value);
  if (m) {
    const offsetMinutes = offsetOf(m[8]!);
    if (offsetMinutes === null) return null;
    return { weekday: DAYS.indexOf(m[1]!), day: Number(m[2]), month: MONTHS.indexOf(m[3]!), year: Number(m[4]), hour: Number(m[5]), minute: Number(m[6]), second: Number(m[7]), offsetMinutes };
  }
  m = RFC850.exec(value);
  if (m) {
    return { weekday: LONG_DAYS.indexOf(m[1]!), day: Number(m[2]), month: MONTHS.indexOf(m[3]!), year: fullYear(Number(m[4]), now), hour: Number(m[5]), minute: Number(m[6]), second: Number(m[7]), offsetMinutes: 0 };
  }
  m = ASCTIME.exec(value);
  if (m) {
    return { weekday: DAYS.indexOf(m[1]!), month: MONTHS.indexOf(m[2]!), day: Number(m[3]!.trim()), hour: Number(m[4]), minute: Number(m[5]), second: Number(m[6]), year: Number(m[7]), offsetMinutes: 0 };
  }
  return null;
}

/** The instant an HTTP date names, or null when `value` is not one of the forms above. */
export function parseHttpDate(value: string, now: Date = new Date()): Date | null {
  const p = partsOf(value, now);
  if (!p || p.hour > 23 || p.minute > 59 || p.second > 60) return null;
  const local = new Date(Date.UTC(p.year, p.month, p.day, p.hour, p.minute, Math.min(p.second, 59)));
  // The calendar date must exist (Date.UTC rolls 31 Feb over into March) and be the weekday named.
  if (local.getUTCDate() !== p.day || local.getUTCMonth() !== p.month || local.getUTCFullYear() !== p.year) return null;
  if (local.getUTCDay() !== p.weekday) return null;
  return new Date(local.getTime() - p.offsetMinutes * 60_000);
}
