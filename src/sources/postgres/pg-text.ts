/**
 * Parsers for Postgres' text output formats, as produced by the type output functions under the session settings
 * Sluice forces on every connection it opens (see `SESSION_SETTINGS`): DateStyle ISO, IntervalStyle postgres,
 * TimeZone UTC, bytea_output hex, extra_float_digits 3. Exact: no floating point for anything that is not a float,
 * no `Date`, no local time zone.
 */
import { DecodeError } from '../../errors.js';
import { rescaleDecimal, type ExactDecimal, type IntervalParts } from '../../events/values.js';

/** GUCs set on every Sluice connection (normal and replication) so text values have one known shape. */
export const SESSION_SETTINGS: Readonly<Record<string, string>> = {
  DateStyle: 'ISO, YMD',
  IntervalStyle: 'postgres',
  TimeZone: 'UTC',
  bytea_output: 'hex',
  extra_float_digits: '3',
  client_encoding: 'UTF8',
};

/** `-c name=value` options string for the startup packet. */
export function sessionOptions(): string {
  return Object.entries(SESSION_SETTINGS)
    .map(([k, v]) => `-c ${k}=${v.replace(/([\\ ])/g, '\\$1')}`)
    .join(' ');
}

function bad(kind: string, text: string): never {
  throw new DecodeError(`cannot parse ${kind} value ${JSON.stringify(text)}`);
}

/** Parses IntervalStyle `postgres` output: `1 year 2 mons -3 days +04:05:06.78`, `00:00:00`, `-1 days`. */
export function parseInterval(text: string): IntervalParts {
  let years = 0;
  let months = 0;
  let days = 0;
  let hours = 0;
  let minutes = 0;
  let seconds = '0';
  const re = /\s*(?:([+-]?\d+) (years?|mons?|days?)|([+-])?(\d+):(\d{2}):(\d{2}(?:\.\d{1,6})?))/y;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) bad('interval', text);
    pos = re.lastIndex;
    if (m[1] !== undefined) {
      const n = Number(m[1]);
      const unit = m[2] as string;
      if (unit.startsWith('year')) years = n;
      else if (unit.startsWith('mon')) months = n;
      else days = n;
    } else {
      const negative = m[3] === '-';
      hours = (negative ? -1 : 1) * Number(m[4]);
      minutes = (negative ? -1 : 1) * Number(m[5]);
      const secs = (m[6] as string).replace(/^0(?=\d)/, '');
      seconds = negative && /[1-9]/.test(secs) ? `-${secs}` : secs;
    }
  }
  return { years, months, days, hours, minutes, seconds };
}

/**
 * Money text (`$1,234.56`, `-$1,234.56`, `($1.00)` in some locales) → decimal. The currency symbol and group
 * separators are dropped; the decimal point is `.` (Sluice sessions run with lc_monetary of the server; a server
 * with a locale that prints `,` as the decimal point is detected by the fraction length).
 */
export function parseMoney(text: string, fractionDigits: number): ExactDecimal {
  let t = text.trim();
  let neg = false;
  if (t.startsWith('(') && t.endsWith(')')) {
    neg = true;
    t = t.slice(1, -1);
  }
  if (t.includes('-')) neg = true;
  const cleaned = t.replace(/[^0-9.,]/g, '');
  // The last separator followed by exactly `fractionDigits` digits is the decimal point.
  let intPart = cleaned;
  let fracPart = '';
  if (fractionDigits > 0) {
    const idx = Math.max(cleaned.lastIndexOf('.'), cleaned.lastIndexOf(','));
    if (idx >= 0 && cleaned.length - idx - 1 === fractionDigits) {
      intPart = cleaned.slice(0, idx);
      fracPart = cleaned.slice(idx + 1);
    }
  }
  const digits = intPart.replace(/[.,]/g, '') + fracPart;
  if (!/^\d+$/.test(digits)) bad('money', text);
  const d: ExactDecimal = { unscaled: BigInt(digits) * (neg ? -1n : 1n), scale: fracPart.length };
  return rescaleDecimal(d, fractionDigits);
}

/** `\x0a0b` → bytes. */
export function parseBytea(text: string): Buffer {
  if (text.startsWith('\\x')) return Buffer.from(text.slice(2), 'hex');
  // escape format (bytea_output = escape): backslash-octal and doubled backslashes
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) {
      if (text[i + 1] === '\\') {
        out.push(0x5c);
        i++;
      } else {
        out.push(Number.parseInt(text.slice(i + 1, i + 4), 8));
        i += 3;
      }
    } else {
      out.push(...Buffer.from(text[i] as string, 'utf8'));
    }
  }
  return Buffer.from(out);
}

/** `(1.5,-2)` → [x, y]. */
export function parsePoint(text: string): [number, number] {
  const m = /^\(([^,]+),([^)]+)\)$/.exec(text.trim());
  if (!m) bad('point', text);
  return [Number.parseFloat(m[1] as string), Number.parseFloat(m[2] as string)];
}

export type ArrayElement = string | null | ArrayElement[];

/**
 * Parses an array literal (`{1,2,NULL,"a \"b\""}`, nested `{{1,2},{3,4}}`, optional `[1:2]=` bounds prefix).
 * Elements come back as their text (quotes and escapes removed) or null for an unquoted NULL.
 */
export function parseArray(text: string, delimiter = ','): ArrayElement[] {
  let pos = 0;
  if (text.startsWith('[')) {
    const eq = text.indexOf('=');
    if (eq < 0) bad('array', text);
    pos = eq + 1;
  }
  const parseLevel = (): ArrayElement[] => {
    if (text[pos] !== '{') bad('array', text);
    pos++;
    const items: ArrayElement[] = [];
    if (text[pos] === '}') {
      pos++;
      return items;
    }
    for (;;) {
      while (text[pos] === ' ') pos++;
      const c = text[pos];
      if (c === '{') {
        items.push(parseLevel());
      } else if (c === '"') {
        pos++;
        let s = '';
        for (;;) {
          const ch = text[pos];
          if (ch === undefined) bad('array', text);
          if (ch === '\\') {
            s += text[pos + 1] ?? '';
            pos += 2;
          } else if (ch === '"') {
            pos++;
            break;
          } else {
            s += ch;
            pos++;
          }
        }
        items.push(s);
      } else {
        let s = '';
        while (pos < text.length && text[pos] !== delimiter && text[pos] !== '}') {
          const ch = text[pos] as string;
          if (ch === '\\') {
            s += text[pos + 1] ?? '';
            pos += 2;
          } else {
            s += ch;
            pos++;
          }
        }
        s = s.trim();
        items.push(s.toUpperCase() === 'NULL' ? null : s);
      }
      while (text[pos] === ' ') pos++;
      if (text[pos] === delimiter) {
        pos++;
        continue;
      }
      if (text[pos] === '}') {
        pos++;
        return items;
      }
      bad('array', text);
    }
  };
  const result = parseLevel();
  return result;
}

/** Parses hstore output: `"a"=>"1", "b"=>NULL`. */
export function parseHstore(text: string): Array<[string, string | null]> {
  const out: Array<[string, string | null]> = [];
  let pos = 0;
  const skipWs = () => {
    while (pos < text.length && /\s/.test(text[pos] as string)) pos++;
  };
  const readToken = (): { value: string; quoted: boolean } => {
    skipWs();
    if (text[pos] === '"') {
      pos++;
      let s = '';
      for (;;) {
        const ch = text[pos];
        if (ch === undefined) bad('hstore', text);
        if (ch === '\\') {
          s += text[pos + 1] ?? '';
          pos += 2;
        } else if (ch === '"') {
          pos++;
          return { value: s, quoted: true };
        } else {
          s += ch;
          pos++;
        }
      }
    }
    const start = pos;
    while (pos < text.length && !/[\s,=]/.test(text[pos] as string)) pos++;
    return { value: text.slice(start, pos), quoted: false };
  };
  skipWs();
  while (pos < text.length) {
    const key = readToken();
    skipWs();
    if (text.slice(pos, pos + 2) !== '=>') bad('hstore', text);
    pos += 2;
    const value = readToken();
    out.push([key.value, !value.quoted && value.value.toUpperCase() === 'NULL' ? null : value.value]);
    skipWs();
    if (text[pos] === ',') pos++;
    skipWs();
  }
  return out;
}

/** JSON text of an hstore as Debezium's json mode writes it: `{"a":"1","b":null}`. */
export function hstoreToJson(pairs: Array<[string, string | null]>): string {
  return `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v === null ? 'null' : JSON.stringify(v)}`).join(',')}}`;
}
