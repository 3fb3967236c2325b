/**
 * GTID sets of both flavours, exact over their full numeric ranges (BigInt), immutable.
 *
 * MariaDB: a *position* is one `domain-server-sequence` triple per replication domain, e.g. `0-1-1234,1-3-45`
 * (the form of `@@gtid_binlog_pos` and `@slave_connect_state`). Within a domain the binlog order is total, so the
 * last triple stands for everything before it.
 *
 * MySQL: a *set* is, per source UUID (and, on MySQL 8.3+, per tag), a list of closed intervals of transaction
 * numbers: `3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7,uuid2:1-27:tag_a:1-3` (the form of `@@gtid_executed`).
 */

const U32_MAX = 0xffffffffn;
const U64_MAX = (1n << 64n) - 1n;
const GNO_MAX = (1n << 63n) - 1n;

function parseUnsigned(text: string, max: bigint, what: string, source: string): bigint {
  if (!/^\d+$/.test(text)) throw new Error(`invalid ${what} '${text}' in GTID '${source}'`);
  const value = BigInt(text);
  if (value > max) throw new Error(`${what} ${text} out of range in GTID '${source}'`);
  return value;
}

// ---------------------------------------------------------------------------------------------------------------
// MariaDB

export interface MariaDbGtid {
  readonly domain: number;
  readonly server: number;
  readonly seq: bigint;
}

export function parseMariaDbGtid(text: string): MariaDbGtid {
  const trimmed = text.trim();
  const parts = trimmed.split('-');
  if (parts.length !== 3) throw new Error(`invalid MariaDB GTID '${text}': expected domain-server-sequence`);
  const [d, s, n] = parts as [string, string, string];
  return {
    domain: Number(parseUnsigned(d, U32_MAX, 'domain id', text)),
    server: Number(parseUnsigned(s, U32_MAX, 'server id', text)),
    seq: parseUnsigned(n, U64_MAX, 'sequence number', text),
  };
}

export function formatMariaDbGtid(g: MariaDbGtid): string {
  return `${g.domain}-${g.server}-${g.seq}`;
}

export class MariaDbGtidPosition {
  /** domain → last GTID of that domain */
  private readonly domains: ReadonlyMap<number, MariaDbGtid>;

  private constructor(domains: ReadonlyMap<number, MariaDbGtid>) {
    this.domains = domains;
  }

  static readonly EMPTY = new MariaDbGtidPosition(new Map());

  /** `''` is the empty position. Rejects two entries for one domain, as the server does. */
  static parse(text: string): MariaDbGtidPosition {
    const domains = new Map<number, MariaDbGtid>();
    for (const entry of text.split(',')) {
      if (entry.trim() === '') continue;
      const gtid = parseMariaDbGtid(entry);
      if (domains.has(gtid.domain)) throw new Error(`GTID position '${text}' names domain ${gtid.domain} twice`);
      domains.set(gtid.domain, gtid);
    }
    return new MariaDbGtidPosition(domains);
  }

  static of(gtids: Iterable<MariaDbGtid>): MariaDbGtidPosition {
    let position = MariaDbGtidPosition.EMPTY;
    for (const g of gtids) position = position.with(g);
    return position;
  }

  isEmpty(): boolean {
    return this.domains.size === 0;
  }

  get(domain: number): MariaDbGtid | undefined {
    return this.domains.get(domain);
  }

  entries(): MariaDbGtid[] {
    return [...this.domains.values()].sort((a, b) => a.domain - b.domain);
  }

  /** This position after the transaction `gtid` (the domain's entry is replaced, as replication does). */
  with(gtid: MariaDbGtid | string): MariaDbGtidPosition {
    const g = typeof gtid === 'string' ? parseMariaDbGtid(gtid) : gtid;
    const next = new Map(this.domains);
    next.set(g.domain, g);
    return new MariaDbGtidPosition(next);
  }

  /**
   * Whether transaction `gtid` is at or before this position (`inclusive`, the default) or strictly before it.
   * A domain the position does not name is not covered. Order within a domain is by sequence number (MariaDB
   * keeps it monotonic per domain; the server id only says which server wrote the transaction).
   */
  covers(gtid: MariaDbGtid | string, options: { inclusive?: boolean } = {}): boolean {
    const g = typeof gtid === 'string' ? parseMariaDbGtid(gtid) : gtid;
    const mine = this.domains.get(g.domain);
    if (!mine) return false;
    return options.inclusive === false ? g.seq < mine.seq : g.seq <= mine.seq;
  }

  /** True when every transaction covered by `other` is covered by this position. */
  contains(other: MariaDbGtidPosition): boolean {
    for (const g of other.domains.values()) if (!this.covers(g)) return false;
    return true;
  }

  equals(other: MariaDbGtidPosition): boolean {
    return this.toString() === other.toString();
  }

  toString(): string {
    return this.entries().map(formatMariaDbGtid).join(',');
  }
}

// ---------------------------------------------------------------------------------------------------------------
// MySQL

/** A closed interval [start, end] of transaction numbers. */
export interface GnoInterval {
  readonly start: bigint;
  readonly end: bigint;
}

export interface MySqlGtid {
  readonly uuid: string;
  /** '' for untagged transactions (MySQL 8.3+ tags otherwise) */
  readonly tag: string;
  readonly gno: bigint;
}

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const TAG_RE = /^[a-z_][a-z0-9_]{0,31}$/i;

function normaliseUuid(text: string, source: string): string {
  const t = text.trim();
  if (!UUID_RE.test(t)) throw new Error(`invalid source UUID '${t}' in GTID set '${source}'`);
  const hex = t.replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function normaliseTag(text: string, source: string): string {
  const t = text.trim();
  if (!TAG_RE.test(t)) throw new Error(`invalid GTID tag '${t}' in '${source}'`);
  return t.toLowerCase();
}

export function parseMySqlGtid(text: string): MySqlGtid {
  const parts = text.trim().split(':');
  if (parts.length === 2) {
    return { uuid: normaliseUuid(parts[0]!, text), tag: '', gno: parseGno(parts[1]!, text) };
  }
  if (parts.length === 3) {
    return { uuid: normaliseUuid(parts[0]!, text), tag: normaliseTag(parts[1]!, text), gno: parseGno(parts[2]!, text) };
  }
  throw new Error(`invalid MySQL GTID '${text}': expected uuid:number or uuid:tag:number`);
}

function parseGno(text: string, source: string): bigint {
  const n = parseUnsigned(text.trim(), GNO_MAX, 'transaction number', source);
  if (n === 0n) throw new Error(`transaction number 0 in GTID '${source}'`);
  return n;
}

function mergeIntervals(intervals: readonly GnoInterval[]): GnoInterval[] {
  const sorted = [...intervals].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: GnoInterval[] = [];
  for (const iv of sorted) {
    const last = out[out.length - 1];
    if (last && iv.start <= last.end + 1n) {
      if (iv.end > last.end) out[out.length - 1] = { start: last.start, end: iv.end };
    } else {
      out.push(iv);
    }
  }
  return out;
}

function keyOf(uuid: string, tag: string): string {
  return tag === '' ? uuid : `${uuid}:${tag}`;
}

export class MySqlGtidSet {
  /** `uuid` or `uuid:tag` → merged, sorted intervals */
  private readonly sets: ReadonlyMap<string, readonly GnoInterval[]>;

  private constructor(sets: ReadonlyMap<string, readonly GnoInterval[]>) {
    this.sets = sets;
  }

  static readonly EMPTY = new MySqlGtidSet(new Map());

  /**
   * Parses `@@gtid_executed` text (whitespace and newlines tolerated). Within a uuid block, a non-numeric item is a
   * tag naming the source of the interval items that follow it.
   */
  static parse(text: string): MySqlGtidSet {
    const acc = new Map<string, GnoInterval[]>();
    const cleaned = text.replace(/\s+/g, '');
    if (cleaned === '') return MySqlGtidSet.EMPTY;
    for (const block of cleaned.split(',')) {
      if (block === '') continue;
      const items = block.split(':');
      const uuid = normaliseUuid(items[0]!, text);
      let tag = '';
      if (items.length < 2) throw new Error(`GTID set block '${block}' has no intervals`);
      for (const item of items.slice(1)) {
        if (/^[a-z_]/i.test(item)) {
          tag = normaliseTag(item, text);
          continue;
        }
        const m = /^(\d+)(?:-(\d+))?$/.exec(item);
        if (!m) throw new Error(`invalid interval '${item}' in GTID set '${text}'`);
        const start = parseGno(m[1]!, text);
        const end = m[2] === undefined ? start : parseGno(m[2], text);
        if (end < start) throw new Error(`interval '${item}' ends before it starts in GTID set '${text}'`);
        const key = keyOf(uuid, tag);
        const list = acc.get(key) ?? [];
        list.push({ start, end });
        acc.set(key, list);
      }
    }
    const sets = new Map<string, GnoInterval[]>();
    for (const [k, v] of acc) sets.set(k, mergeIntervals(v));
    return new MySqlGtidSet(sets);
  }

  isEmpty(): boolean {
    return this.sets.size === 0;
  }

  intervals(uuid: string, tag = ''): readonly GnoInterval[] {
    return this.sets.get(keyOf(normaliseUuid(uuid, uuid), tag === '' ? '' : normaliseTag(tag, tag))) ?? [];
  }

  /** This set plus transaction `gtid`. */
  with(gtid: MySqlGtid | string): MySqlGtidSet {
    const g = typeof gtid === 'string' ? parseMySqlGtid(gtid) : gtid;
    const key = keyOf(g.uuid, g.tag);
    const next = new Map(this.sets);
    next.set(key, mergeIntervals([...(this.sets.get(key) ?? []), { start: g.gno, end: g.gno }]));
    return new MySqlGtidSet(next);
  }

  contains(gtid: MySqlGtid | string): boolean {
    const g = typeof gtid === 'string' ? parseMySqlGtid(gtid) : gtid;
    const list = this.sets.get(keyOf(g.uuid, g.tag));
    if (!list) return false;
    // binary search over the sorted, disjoint intervals
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const iv = list[mid]!;
      if (g.gno < iv.start) hi = mid - 1;
      else if (g.gno > iv.end) lo = mid + 1;
      else return true;
    }
    return false;
  }

  union(other: MySqlGtidSet): MySqlGtidSet {
    const next = new Map(this.sets);
    for (const [k, v] of other.sets) next.set(k, mergeIntervals([...(next.get(k) ?? []), ...v]));
    return new MySqlGtidSet(next);
  }

  /** Every transaction of this set is in `other`. */
  isSubsetOf(other: MySqlGtidSet): boolean {
    for (const [k, mine] of this.sets) {
      const theirs = other.sets.get(k) ?? [];
      for (const iv of mine) {
        if (!theirs.some((t) => t.start <= iv.start && iv.end <= t.end)) return false;
      }
    }
    return true;
  }

  /** The superset relation, named like MariaDbGtidPosition.contains. */
  containsAll(other: MySqlGtidSet): boolean {
    return other.isSubsetOf(this);
  }

  equals(other: MySqlGtidSet): boolean {
    return this.toString() === other.toString();
  }

  /** Canonical text: uuids sorted, untagged intervals first, then tags sorted, as `@@gtid_executed` prints it. */
  toString(): string {
    const byUuid = new Map<string, { tag: string; intervals: readonly GnoInterval[] }[]>();
    for (const [key, intervals] of this.sets) {
      const [uuid, tag = ''] = key.split(/:(.*)/s) as [string, string?];
      const list = byUuid.get(uuid) ?? [];
      list.push({ tag, intervals });
      byUuid.set(uuid, list);
    }
    const ranges = (ivs: readonly GnoInterval[]) =>
      ivs.map((iv) => (iv.start === iv.end ? `${iv.start}` : `${iv.start}-${iv.end}`)).join(':');
    return [...byUuid.keys()]
      .sort()
      .map((uuid) => {
        const groups = byUuid.get(uuid)!.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
        return uuid + groups.map((g) => (g.tag === '' ? '' : `:${g.tag}`) + `:${ranges(g.intervals)}`).join('');
      })
      .join(',');
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Flavour-neutral helpers used by the source

export type Flavor = 'mysql' | 'mariadb';

/** Parses a stored GTID text for the given flavour; '' and null give the empty set. */
export function parseGtids(flavor: Flavor, text: string | null | undefined): MariaDbGtidPosition | MySqlGtidSet {
  const t = text ?? '';
  return flavor === 'mariadb' ? MariaDbGtidPosition.parse(t) : MySqlGtidSet.parse(t);
}

/** `set` plus one committed transaction. */
export function addGtid(flavor: Flavor, set: string, gtid: string): string {
  return flavor === 'mariadb'
    ? MariaDbGtidPosition.parse(set).with(gtid).toString()
    : MySqlGtidSet.parse(set).with(gtid).toString();
}

/** Whether transaction `gtid` is already part of `set` (committed at or before it). */
export function gtidCovered(flavor: Flavor, set: string, gtid: string): boolean {
  return flavor === 'mariadb' ? MariaDbGtidPosition.parse(set).covers(gtid) : MySqlGtidSet.parse(set).contains(gtid);
}

/** Whether `a` includes everything `b` includes (a is at or after b). */
export function gtidsContain(flavor: Flavor, a: string, b: string): boolean {
  return flavor === 'mariadb'
    ? MariaDbGtidPosition.parse(a).contains(MariaDbGtidPosition.parse(b))
    : MySqlGtidSet.parse(b).isSubsetOf(MySqlGtidSet.parse(a));
}
