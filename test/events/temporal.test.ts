import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dateSchema, timeSchema, timestampSchema } from '../../src/events/logical.js';
import { Logical } from '../../src/events/schema.js';
import {
  civilFromDays,
  dateFromText,
  daysFromCivil,
  floorDiv,
  formatIsoDate,
  formatIsoTime,
  formatZonedTime,
  formatZonedTimestamp,
  parseDateText,
  parseOffsetSeconds,
  parseTimeText,
  parseTimestampText,
  parseZonedTimestampText,
  timeFromText,
  timeTextToMicros,
  timestampFromText,
  timestampTextToMicros,
  timeValue,
  timestampValue,
  zonedTimeFromText,
  zonedTimestampFromText,
} from '../../src/events/temporal.js';

describe('calendar arithmetic', () => {
  it('matches Date.UTC over a wide range, day by day at the edges', () => {
    for (const [y, m, d] of [
      [1970, 1, 1],
      [1969, 12, 31],
      [2000, 2, 29],
      [1900, 3, 1],
      [2024, 12, 31],
      [1600, 2, 29],
      [9999, 12, 31],
      [1, 1, 1],
    ] as const) {
      const days = daysFromCivil(y, m, d);
      const utc = new Date(0);
      utc.setUTCFullYear(y, m - 1, d);
      assert.equal(days, Math.round(utc.getTime() / 86_400_000), `${y}-${m}-${d}`);
      assert.deepEqual(civilFromDays(days), { year: y, month: m, day: d });
    }
  });

  it('round-trips every day from 1600 to 2400', () => {
    const start = daysFromCivil(1600, 1, 1);
    const end = daysFromCivil(2400, 1, 1);
    for (let days = start; days < end; days++) {
      const c = civilFromDays(days);
      assert.equal(daysFromCivil(c.year, c.month, c.day), days);
    }
  });
});

describe('parseDateText', () => {
  it('reads dates as days since the epoch', () => {
    assert.equal(parseDateText('1970-01-01'), 0);
    assert.equal(parseDateText('1970-01-02'), 1);
    assert.equal(parseDateText('1969-12-31'), -1);
    assert.equal(parseDateText('2018-01-13'), 17544);
  });
  it('reads BC dates (1 BC is year 0) and years past 9999', () => {
    assert.equal(parseDateText('0001-01-01 BC'), daysFromCivil(0, 1, 1));
    assert.equal(parseDateText('0044-03-15 BC'), daysFromCivil(-43, 3, 15));
    assert.equal(parseDateText('10000-01-01'), daysFromCivil(10000, 1, 1));
  });
  it('returns null for MySQL zero dates and refuses garbage', () => {
    assert.equal(parseDateText('0000-00-00'), null);
    assert.equal(parseDateText('2020-00-10'), null);
    assert.throws(() => parseDateText('2020-13-01'), /month/);
    assert.throws(() => parseDateText('yesterday'), /cannot read/);
  });
});

describe('parseTimeText / timeTextToMicros', () => {
  it('reads times of day exactly', () => {
    assert.equal(timeTextToMicros('00:00:00'), 0n);
    assert.equal(timeTextToMicros('03:04:05.123456'), 11_045_123_456n);
    assert.equal(timeTextToMicros('23:59:59.999999'), 86_399_999_999n);
    assert.equal(timeTextToMicros('24:00:00'), 86_400_000_000n);
    assert.equal(timeTextToMicros('12:30'), 45_000_000_000n);
    assert.equal(timeTextToMicros('01:02:03.5'), 3_723_500_000n);
  });
  it('reads MySQL TIME beyond a day and negative', () => {
    assert.equal(timeTextToMicros('838:59:59.000000'), 3_020_399_000_000n);
    assert.equal(timeTextToMicros('-838:59:59.000000'), -3_020_399_000_000n);
    assert.equal(timeTextToMicros('-00:00:01.500000'), -1_500_000n);
    assert.equal(timeTextToMicros('-01:00:00'), -3_600_000_000n);
  });
  it('keeps nanoseconds and truncates toward zero for micros', () => {
    assert.equal(parseTimeText('00:00:00.123456789'), 123_456_789n);
    assert.equal(timeTextToMicros('00:00:00.123456789'), 123_456n);
    assert.equal(timeTextToMicros('-00:00:00.000000999'), 0n);
  });
  it('refuses malformed times', () => {
    assert.throws(() => parseTimeText('12:60:00'), /out of range/);
    assert.throws(() => parseTimeText('noon'), /cannot read/);
  });
});

describe('parseTimestampText / timestampTextToMicros', () => {
  it('reads a timestamp without zone as UTC, no shift, no float math', () => {
    assert.equal(timestampTextToMicros('2024-01-02 03:04:05.123456'), 1_704_164_645_123_456n);
    assert.equal(timestampTextToMicros('2024-01-02T03:04:05.123456'), 1_704_164_645_123_456n);
    assert.equal(timestampTextToMicros('1970-01-01 00:00:00'), 0n);
    assert.equal(parseTimestampText('2262-04-11 23:47:16.854775807'), 9_223_372_036_854_775_807n);
  });
  it('floors before 1970, like Instant', () => {
    assert.equal(timestampTextToMicros('1969-12-31 23:59:59.999999'), -1n);
    assert.equal(parseTimestampText('1969-12-31 23:59:59.9999995'), -500n);
    assert.equal(timestampTextToMicros('1969-12-31 23:59:59.9999995'), -1n);
    assert.equal(floorDiv(-1n, 1000n), -1n);
    assert.equal(timestampValue(-1n, timestampSchema(3, 'adaptive')), -1n);
  });
  it('reads BC and far-future years', () => {
    assert.equal(timestampTextToMicros('0001-01-01 00:00:00 BC'), BigInt(daysFromCivil(0, 1, 1)) * 86_400_000_000n);
    assert.equal(timestampTextToMicros('9999-12-31 23:59:59.999999'), 253_402_300_799_999_999n);
  });
  it('returns null for zero dates and refuses offsets', () => {
    assert.equal(timestampTextToMicros('0000-00-00 00:00:00'), null);
    assert.throws(() => parseTimestampText('2024-01-02 03:04:05+02'), /zone offset/);
  });
});

describe('zoned timestamps and times', () => {
  it('parses offsets', () => {
    assert.equal(parseOffsetSeconds('Z'), 0);
    assert.equal(parseOffsetSeconds('+02'), 7200);
    assert.equal(parseOffsetSeconds('-05:30'), -19800);
    assert.equal(parseOffsetSeconds('+0530'), 19800);
    assert.equal(parseOffsetSeconds('+05:30:15'), 19815);
  });
  it('moves zoned timestamps to UTC', () => {
    assert.equal(parseZonedTimestampText('2024-01-02 03:04:05+02'), 1_704_157_445_000_000_000n);
    assert.equal(parseZonedTimestampText('2024-01-02 03:04:05.5-05:30'), 1_704_184_445_500_000_000n);
  });
  it('formats ZonedTimestamp as ISO_OFFSET_DATE_TIME in UTC', () => {
    assert.equal(zonedTimestampFromText('2024-01-02 03:04:05.123456+00'), '2024-01-02T03:04:05.123456Z');
    assert.equal(zonedTimestampFromText('2024-01-02 03:04:05.120+00'), '2024-01-02T03:04:05.12Z');
    assert.equal(zonedTimestampFromText('2024-01-02 03:04:05+00'), '2024-01-02T03:04:05Z');
    assert.equal(zonedTimestampFromText('2024-01-02 03:04:05+05:30'), '2024-01-01T21:34:05Z');
    assert.equal(zonedTimestampFromText('2018-01-13 09:48:27+01'), '2018-01-13T08:48:27Z');
  });
  it('writes exactly the column fraction digits when asked (Debezium passes the column precision)', () => {
    assert.equal(zonedTimestampFromText('2024-01-02 03:04:05+00', 6), '2024-01-02T03:04:05.000000Z');
    assert.equal(zonedTimestampFromText('2024-01-02 03:04:05.1+00', 3), '2024-01-02T03:04:05.100Z');
    assert.equal(zonedTimestampFromText('2024-01-02 03:04:05.123456+00', 3), '2024-01-02T03:04:05.123Z');
    assert.equal(zonedTimestampFromText('2024-01-02 03:04:05.5+00', 0), '2024-01-02T03:04:05.5Z');
  });
  it('writes signed years outside 0000-9999', () => {
    assert.equal(formatZonedTimestamp(parseZonedTimestampText('10000-01-01 00:00:00Z')!), '+10000-01-01T00:00:00Z');
    assert.equal(formatZonedTimestamp(parseZonedTimestampText('0002-01-01 00:00:00+00 BC')!), '-0001-01-01T00:00:00Z');
    assert.equal(formatZonedTimestamp(-1n), '1969-12-31T23:59:59.999999999Z');
  });
  it('formats ZonedTime in UTC, wrapping around midnight', () => {
    assert.equal(zonedTimeFromText('03:04:05.123+02'), '01:04:05.123Z');
    assert.equal(zonedTimeFromText('01:00:00.5+02'), '23:00:00.5Z');
    assert.equal(zonedTimeFromText('23:30:00-01'), '00:30:00Z');
    assert.equal(formatZonedTime(0n), '00:00:00Z');
  });
});

describe('representation per time.precision.mode', () => {
  const micros = 11_045_123_456n;
  const nanos = micros * 1000n;
  it('time: adaptive picks Time/MicroTime/NanoTime by precision', () => {
    assert.equal(timeSchema(3, 'adaptive').name, Logical.Time);
    assert.equal(timeSchema(6, 'adaptive').name, Logical.MicroTime);
    assert.equal(timeSchema(9, 'adaptive').name, Logical.NanoTime);
    assert.equal(timeSchema(0, 'adaptive_time_microseconds').name, Logical.MicroTime);
    assert.equal(timeValue(nanos, timeSchema(3, 'adaptive')), 11_045_123);
    assert.equal(timeValue(nanos, timeSchema(6, 'adaptive')), micros);
    assert.equal(timeValue(nanos, timeSchema(9, 'adaptive')), nanos);
    assert.equal(timeValue(nanos, timeSchema(6, 'connect')), 11_045_123);
    assert.equal(timeValue(nanos, timeSchema(6, 'isostring')), '03:04:05.123456Z');
    assert.equal(timeFromText('-838:59:59', timeSchema(0, 'adaptive_time_microseconds')), -3_020_399_000_000n);
  });
  it('timestamp: adaptive picks Timestamp/MicroTimestamp/NanoTimestamp by precision', () => {
    const text = '2024-01-02 03:04:05.123456';
    assert.equal(timestampFromText(text, timestampSchema(3, 'adaptive')), 1_704_164_645_123n);
    assert.equal(timestampFromText(text, timestampSchema(6, 'adaptive')), 1_704_164_645_123_456n);
    assert.equal(timestampFromText(text, timestampSchema(9, 'adaptive')), 1_704_164_645_123_456_000n);
    assert.equal(timestampFromText(text, timestampSchema(6, 'connect')), 1_704_164_645_123n);
    assert.equal(timestampFromText(text, timestampSchema(6, 'isostring')), '2024-01-02T03:04:05.123456Z');
    assert.equal(timestampSchema(6, 'connect').name, Logical.ConnectTimestamp);
  });
  it('date: days, or IsoDate', () => {
    assert.equal(dateFromText('2018-01-13', dateSchema('adaptive')), 17544);
    assert.equal(dateFromText('2018-01-13', dateSchema('connect')), 17544);
    assert.equal(dateFromText('2018-01-13', dateSchema('isostring')), '2018-01-13Z');
    assert.equal(dateFromText('0000-00-00', dateSchema('adaptive')), null);
    assert.equal(formatIsoDate(0), '1970-01-01Z');
    assert.equal(formatIsoTime(25n * 3_600_000_000_000n), '01:00:00Z');
  });
});
