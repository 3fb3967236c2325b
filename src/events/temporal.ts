import { DecodeError } from '../errors.js';
import { Logical, type ConnectSchema } from './schema.js';

/**
 * Exact temporal conversions, shared by every source.
 *
 * Databases hand us dates and times as text ('2024-01-02 03:04:05.123456', '-838:59:59.000000',
 * '2024-01-02 03:04:05+05:30') or as epoch numbers. Everything here is integer arithmetic on BigInt nanoseconds:
 * no Date objects, no floating point, no time-zone database and no shift by the local zone. A timestamp without a
 * zone is read as if it were UTC, which is what Debezium does for `TIMESTAMP`/`DATETIME` columns.
 *
 * Parsing (text → exact integers):
 *   parseDateText(text)            → days since 1970-01-01 (proleptic Gregorian; 'BC' suffix, zero dates → null)
 *   parseTimeText(text)            → nanoseconds since midnight (may be negative or ≥ 24 h: MySQL TIME)
 *   parseTimestampText(text)       → nanoseconds since the epoch, no zone shift (null for zero dates)
 *   parseZonedTimestampText(text)  → nanoseconds since the epoch in UTC (the text must carry an offset)
 *   parseZonedTimeText(text)       → { nanosOfDay (UTC, wrapped into one day) }
 *   timeTextToMicros / timestampTextToMicros: the same, in microseconds
 *
 * Representation (exact integers → the value a schema from `logical.ts` wants):
 *   dateValue(days, schema)              Date/Connect Date → number of days, IsoDate → '2024-01-02Z'
 *   timeValue(nanosOfDay, schema)        Time/Connect Time → number (ms), MicroTime → bigint (µs),
 *                                        NanoTime → bigint (ns), IsoTime → '03:04:05.123Z'
 *   timestampValue(epochNanos, schema)   Timestamp/Connect Timestamp → bigint (ms), MicroTimestamp → bigint (µs),
 *                                        NanoTimestamp → bigint (ns), IsoTimestamp → '2024-01-02T03:04:05.123Z'
 *
 * Formatting (Java's ISO formatters as Debezium uses them):
 *   formatZonedTimestamp(epochNanos, fractionDigits?)  io.debezium.time.ZonedTimestamp, always in UTC ('Z')
 *   formatZonedTime(nanosOfDay)                         io.debezium.time.ZonedTime, always in UTC ('Z')
 *   formatIsoDate / formatIsoTime / formatIsoTimestamp  the `isostring` precision mode
 *
 * Truncation rules follow Debezium: times (durations) divide toward zero, timestamps (instants) floor.
 */

export const NANOS_PER_MICRO = 1_000n;
export const NANOS_PER_MILLI = 1_000_000n;
export const NANOS_PER_SECOND = 1_000_000_000n;
export const NANOS_PER_DAY = 86_400n * NANOS_PER_SECOND;

/** Division rounding toward negative infinity (Java's Math.floorDiv). */
export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/** Modulo with the sign of the divisor (Java's Math.floorMod). */
export function floorMod(a: bigint, b: bigint): bigint {
  return a - floorDiv(a, b) * b;
}

// ---------------------------------------------------------------------------------------------------------------
// Calendar arithmetic (proleptic Gregorian, as java.time's ISO chronology)
// ---------------------------------------------------------------------------------------------------------------

/** Days since 1970-01-01 of a proleptic Gregorian date (year 0 = 1 BC). Works for any integer year. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The proleptic Gregorian date of a day count since 1970-01-01. */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day };
}

function invalid(kind: string, text: string, why?: string): DecodeError {
  return new DecodeError(`cannot read ${JSON.stringify(text)} as a ${kind}${why ? `: ${why}` : ''}`, {
    context: { value: text },
  });
}

/** Nine-digit nanoseconds from the digits after the decimal point ('123' → 123000000n). */
function fractionNanos(digits: string | undefined): bigint {
  if (!digits) return 0n;
  return BigInt(digits.slice(0, 9).padEnd(9, '0'));
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------------------------

const DATE_RE = /^([+-]?\d{4,})-(\d{1,2})-(\d{1,2})( BC)?$/;
const TIME_RE = /^(-)?(\d+):(\d{1,2})(?::(\d{1,2})(?:\.(\d*))?)?$/;
const TIMESTAMP_RE =
  /^([+-]?\d{4,})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d*))?)?\s*(Z|z|[+-]\d{1,2}(?::?\d{2}(?::?\d{2})?)?)?( BC)?$/;
const ZONED_TIME_RE = /^(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d*))?)?\s*(Z|z|[+-]\d{1,2}(?::?\d{2}(?::?\d{2})?)?)$/;

function yearOf(text: string, bc: boolean): number {
  const year = Number(text);
  // 1 BC is year 0 in the proleptic calendar, 2 BC is -1, ...
  return bc ? 1 - year : year;
}

/** Seconds east of UTC of an offset such as 'Z', '+02', '+0530', '-05:30', '+05:30:15'. */
export function parseOffsetSeconds(text: string): number {
  if (text === 'Z' || text === 'z') return 0;
  const m = /^([+-])(\d{1,2})(?::?(\d{2})(?::?(\d{2}))?)?$/.exec(text);
  if (!m) throw invalid('zone offset', text);
  const seconds = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
  return m[1] === '-' ? -seconds : seconds;
}

function checkDate(kind: string, text: string, month: number, day: number): void {
  if (month < 1 || month > 12) throw invalid(kind, text, 'month out of range');
  if (day < 1 || day > 31) throw invalid(kind, text, 'day out of range');
}

/**
 * Days since the epoch of a date text: 'YYYY-MM-DD', optionally with a ' BC' suffix (Postgres) and years beyond
 * 9999. A MySQL zero date ('0000-00-00', or a zero month or day) returns null: Debezium emits null for it.
 */
export function parseDateText(text: string): number | null {
  const m = DATE_RE.exec(text.trim());
  if (!m) throw invalid('date', text);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month === 0 || day === 0) return null;
  checkDate('date', text, month, day);
  return daysFromCivil(yearOf(m[1]!, m[4] !== undefined), month, day);
}

/**
 * Nanoseconds since midnight of a time text 'HH:MM[:SS[.fffffffff]]'. Hours may exceed 23 and the value may be
 * negative ('-838:59:59.000000'), as MySQL's TIME allows: the sign applies to the whole duration.
 */
export function parseTimeText(text: string): bigint {
  const m = TIME_RE.exec(text.trim());
  if (!m) throw invalid('time', text);
  const minutes = Number(m[3]);
  const seconds = Number(m[4] ?? 0);
  if (minutes > 59 || seconds > 60) throw invalid('time', text, 'minutes or seconds out of range');
  const nanos =
    (BigInt(m[2]!) * 3600n + BigInt(minutes) * 60n + BigInt(seconds)) * NANOS_PER_SECOND + fractionNanos(m[5]);
  return m[1] === '-' ? -nanos : nanos;
}

/** Microseconds since midnight of a time text (see parseTimeText), truncated toward zero like Debezium. */
export function timeTextToMicros(text: string): bigint {
  return parseTimeText(text) / NANOS_PER_MICRO;
}

interface TimestampParts {
  readonly days: number;
  readonly nanosOfDay: bigint;
  readonly offsetSeconds: number | null;
}

function parseTimestampParts(kind: string, text: string): TimestampParts | null {
  const m = TIMESTAMP_RE.exec(text.trim());
  if (!m) throw invalid(kind, text);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month === 0 || day === 0) return null;
  checkDate(kind, text, month, day);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6] ?? 0);
  if (hour > 24 || minute > 59 || second > 60) throw invalid(kind, text, 'time of day out of range');
  const days = daysFromCivil(yearOf(m[1]!, m[9] !== undefined), month, day);
  const nanosOfDay =
    (BigInt(hour) * 3600n + BigInt(minute) * 60n + BigInt(second)) * NANOS_PER_SECOND + fractionNanos(m[7]);
  return { days, nanosOfDay, offsetSeconds: m[8] === undefined ? null : parseOffsetSeconds(m[8]) };
}

/**
 * Nanoseconds since the epoch of a timestamp without time zone, 'YYYY-MM-DD HH:MM:SS[.fffffffff]' (a 'T' works
 * too, as does a ' BC' suffix), read as UTC with no shift. A MySQL zero date returns null. A text that carries an
 * offset is refused: use parseZonedTimestampText for those.
 */
export function parseTimestampText(text: string): bigint | null {
  const parts = parseTimestampParts('timestamp', text);
  if (parts === null) return null;
  if (parts.offsetSeconds !== null) throw invalid('timestamp without time zone', text, 'it carries a zone offset');
  return BigInt(parts.days) * NANOS_PER_DAY + parts.nanosOfDay;
}

/** Microseconds since the epoch of a timestamp without time zone (floor, like Debezium's MicroTimestamp). */
export function timestampTextToMicros(text: string): bigint | null {
  const nanos = parseTimestampText(text);
  return nanos === null ? null : floorDiv(nanos, NANOS_PER_MICRO);
}

/**
 * Nanoseconds since the epoch (UTC) of a timestamp with an offset: '2024-01-02 03:04:05.123456+05:30',
 * '2024-01-02T03:04:05Z', '2000-01-01 00:00:00+00 BC'. The offset is required.
 */
export function parseZonedTimestampText(text: string): bigint | null {
  const parts = parseTimestampParts('timestamp with time zone', text);
  if (parts === null) return null;
  if (parts.offsetSeconds === null) throw invalid('timestamp with time zone', text, 'no zone offset');
  return BigInt(parts.days) * NANOS_PER_DAY + parts.nanosOfDay - BigInt(parts.offsetSeconds) * NANOS_PER_SECOND;
}

/** A time with offset ('03:04:05.123+02') moved to UTC and wrapped into [0, 24 h), as an OffsetTime would be. */
export function parseZonedTimeText(text: string): bigint {
  const m = ZONED_TIME_RE.exec(text.trim());
  if (!m) throw invalid('time with time zone', text);
  const nanos =
    (BigInt(m[1]!) * 3600n + BigInt(m[2]!) * 60n + BigInt(m[3] ?? 0)) * NANOS_PER_SECOND +
    fractionNanos(m[4]) -
    BigInt(parseOffsetSeconds(m[5]!)) * NANOS_PER_SECOND;
  return floorMod(nanos, NANOS_PER_DAY);
}

// ---------------------------------------------------------------------------------------------------------------
// Formatting (java.time's ISO_* formatters)
// ---------------------------------------------------------------------------------------------------------------

function pad(n: number | bigint, width: number): string {
  return n.toString().padStart(width, '0');
}

/** ISO_LOCAL_DATE's year: four digits, a sign beyond 9999 or before year 0. */
function isoYear(year: number): string {
  if (year > 9999) return `+${year}`;
  if (year < 0) return `-${pad(-year, 4)}`;
  return pad(year, 4);
}

function isoDate(days: number): string {
  const { year, month, day } = civilFromDays(days);
  return `${isoYear(year)}-${pad(month, 2)}-${pad(day, 2)}`;
}

/**
 * ISO_LOCAL_TIME: HH:mm:ss, then as many fraction digits as needed (none when zero). With `fractionDigits` in 1..9
 * the fraction always has exactly that many digits (truncated), as Debezium's width-aware ZonedTimestamp formatter.
 */
function isoTime(nanosOfDay: bigint, fractionDigits?: number): string {
  const seconds = nanosOfDay / NANOS_PER_SECOND;
  const nanos = nanosOfDay % NANOS_PER_SECOND;
  const hms = `${pad(seconds / 3600n, 2)}:${pad((seconds / 60n) % 60n, 2)}:${pad(seconds % 60n, 2)}`;
  const nine = pad(nanos, 9);
  if (fractionDigits !== undefined && fractionDigits >= 1 && fractionDigits <= 9) {
    return `${hms}.${nine.slice(0, fractionDigits)}`;
  }
  if (nanos === 0n) return hms;
  return `${hms}.${nine.replace(/0+$/, '')}`;
}

function splitEpochNanos(epochNanos: bigint): { days: number; nanosOfDay: bigint } {
  return { days: Number(floorDiv(epochNanos, NANOS_PER_DAY)), nanosOfDay: floorMod(epochNanos, NANOS_PER_DAY) };
}

/**
 * An instant as Debezium's io.debezium.time.ZonedTimestamp writes it: UTC, ISO_OFFSET_DATE_TIME, e.g.
 * '2024-01-02T03:04:05.123456Z'. Without `fractionDigits` (or with 0) the fraction has as many digits as needed and
 * is left out when zero; with 1..9 it always has that many (Debezium passes the column's fractional precision for
 * Postgres TIMESTAMPTZ and MySQL TIMESTAMP columns).
 */
export function formatZonedTimestamp(epochNanos: bigint, fractionDigits?: number): string {
  const { days, nanosOfDay } = splitEpochNanos(epochNanos);
  return `${isoDate(days)}T${isoTime(nanosOfDay, fractionDigits)}Z`;
}

/** A zoned timestamp text ('2024-01-02 03:04:05.5+02') rewritten as Debezium's UTC ZonedTimestamp string. */
export function zonedTimestampFromText(text: string, fractionDigits?: number): string | null {
  const nanos = parseZonedTimestampText(text);
  return nanos === null ? null : formatZonedTimestamp(nanos, fractionDigits);
}

/** io.debezium.time.ZonedTime: ISO_OFFSET_TIME in UTC, e.g. '01:04:05.123Z'. */
export function formatZonedTime(nanosOfDay: bigint): string {
  return `${isoTime(floorMod(nanosOfDay, NANOS_PER_DAY))}Z`;
}

/** A time-with-offset text rewritten as Debezium's UTC ZonedTime string. */
export function zonedTimeFromText(text: string): string {
  return formatZonedTime(parseZonedTimeText(text));
}

/** io.debezium.time.IsoDate ('2024-01-02Z'): ISO_OFFSET_DATE at UTC. */
export function formatIsoDate(days: number): string {
  return `${isoDate(days)}Z`;
}

/** io.debezium.time.IsoTime ('03:04:05.123Z'); like LocalTime, values beyond one day wrap. */
export function formatIsoTime(nanosOfDay: bigint): string {
  return `${isoTime(floorMod(nanosOfDay, NANOS_PER_DAY))}Z`;
}

/** io.debezium.time.IsoTimestamp ('2024-01-02T03:04:05.123456Z'). */
export function formatIsoTimestamp(epochNanos: bigint): string {
  return formatZonedTimestamp(epochNanos);
}

// ---------------------------------------------------------------------------------------------------------------
// Representation per schema
// ---------------------------------------------------------------------------------------------------------------

function unsupported(kind: string, schema: ConnectSchema): Error {
  return new TypeError(`${kind} value asked for a schema named ${schema.name ?? '(none)'} of type ${schema.type}`);
}

/** The value of a date column for a schema built by `dateSchema` (days since the epoch in). */
export function dateValue(days: number, schema: ConnectSchema): number | string {
  switch (schema.name) {
    case Logical.Date:
    case Logical.ConnectDate:
      return days;
    case Logical.IsoDate:
      return formatIsoDate(days);
    default:
      if (schema.type === 'int32') return days;
      throw unsupported('date', schema);
  }
}

/** The value of a time column for a schema built by `timeSchema` (nanoseconds since midnight in). */
export function timeValue(nanosOfDay: bigint, schema: ConnectSchema): number | bigint | string {
  switch (schema.name) {
    case Logical.Time:
    case Logical.ConnectTime:
      return Number(nanosOfDay / NANOS_PER_MILLI);
    case Logical.MicroTime:
      return nanosOfDay / NANOS_PER_MICRO;
    case Logical.NanoTime:
      return nanosOfDay;
    case Logical.IsoTime:
      return formatIsoTime(nanosOfDay);
    default:
      throw unsupported('time', schema);
  }
}

/** The value of a timestamp column for a schema built by `timestampSchema` (nanoseconds since the epoch in). */
export function timestampValue(epochNanos: bigint, schema: ConnectSchema): bigint | string {
  switch (schema.name) {
    case Logical.Timestamp:
    case Logical.ConnectTimestamp:
      return floorDiv(epochNanos, NANOS_PER_MILLI);
    case Logical.MicroTimestamp:
      return floorDiv(epochNanos, NANOS_PER_MICRO);
    case Logical.NanoTimestamp:
      return epochNanos;
    case Logical.IsoTimestamp:
      return formatIsoTimestamp(epochNanos);
    default:
      throw unsupported('timestamp', schema);
  }
}

/** dateValue from text; null for a MySQL zero date. */
export function dateFromText(text: string, schema: ConnectSchema): number | string | null {
  const days = parseDateText(text);
  return days === null ? null : dateValue(days, schema);
}

/** timeValue from text. */
export function timeFromText(text: string, schema: ConnectSchema): number | bigint | string {
  return timeValue(parseTimeText(text), schema);
}

/** timestampValue from a timestamp-without-zone text; null for a MySQL zero date. */
export function timestampFromText(text: string, schema: ConnectSchema): bigint | string | null {
  const nanos = parseTimestampText(text);
  return nanos === null ? null : timestampValue(nanos, schema);
}

/** Epoch nanoseconds from whole epoch seconds plus a nanosecond fraction (e.g. a binlog TIMESTAMP(6)). */
export function epochNanos(seconds: bigint | number, fractionNanos: bigint | number = 0n): bigint {
  return BigInt(seconds) * NANOS_PER_SECOND + BigInt(fractionNanos);
}
