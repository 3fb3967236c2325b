/**
 * Classification of binlog QUERY events: transaction control, DDL (which tables it creates, alters, renames or
 * drops) and everything else. Sluice does not need a full DDL parser: after a DDL it re-reads the affected tables'
 * definitions from information_schema, and rows are decoded with the TABLE_MAP metadata of their own event.
 */

export type TableAction =
  | { readonly action: 'create' | 'alter' | 'drop' | 'truncate'; readonly db: string; readonly table: string }
  | { readonly action: 'rename'; readonly db: string; readonly table: string; readonly toDb: string; readonly toTable: string };

export type QueryInfo =
  | { readonly kind: 'begin' | 'commit' | 'rollback' | 'savepoint' | 'xa' | 'dml' | 'other' }
  | { readonly kind: 'table'; readonly actions: readonly TableAction[] }
  | { readonly kind: 'database'; readonly action: 'create' | 'alter' | 'drop'; readonly db: string };

/** Strips comments, keeping the text of MySQL/MariaDB executable comments (`/*!50100 ... *\/`, `/*M! ... *\/`). */
export function stripComments(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === '\\' && c !== '`') {
          j += 2;
          continue;
        }
        if (sql[j] === c) {
          if (sql[j + 1] === c) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      const body = sql.slice(i + 2, end < 0 ? sql.length : end);
      const exec = /^(?:M?!\d*)/.exec(body);
      if (exec && exec[0].length > 0) out += ' ' + body.slice(exec[0].length) + ' ';
      else out += ' ';
      i = end < 0 ? sql.length : end + 2;
      continue;
    }
    if ((c === '-' && sql[i + 1] === '-' && /\s/.test(sql[i + 2] ?? ' ')) || c === '#') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
      out += ' ';
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

class Tokens {
  private i = 0;
  constructor(private readonly s: string) {}

  private skipSpace(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }

  /** The next token without consuming it (upper-cased words; quoted identifiers keep their text). */
  peek(): string | null {
    const save = this.i;
    const t = this.next();
    this.i = save;
    return t;
  }

  peekWord(): string {
    const t = this.peek();
    return t === null ? '' : t.toUpperCase();
  }

  next(): string | null {
    this.skipSpace();
    if (this.i >= this.s.length) return null;
    const c = this.s[this.i]!;
    if (c === '`' || c === '"') {
      let j = this.i + 1;
      let text = '';
      while (j < this.s.length) {
        if (this.s[j] === c) {
          if (this.s[j + 1] === c) {
            text += c;
            j += 2;
            continue;
          }
          break;
        }
        text += this.s[j];
        j++;
      }
      this.i = j + 1;
      return '\u0001' + text;
    }
    const m = /^[A-Za-z0-9_$\u0080-\uffff]+/.exec(this.s.slice(this.i));
    if (m) {
      this.i += m[0].length;
      return m[0];
    }
    this.i++;
    return c;
  }

  accept(...words: string[]): boolean {
    const t = this.peek();
    if (t !== null && !t.startsWith('\u0001') && words.includes(t.toUpperCase())) {
      this.next();
      return true;
    }
    return false;
  }

  /** An identifier, optionally qualified: returns [db | null, name]. */
  qualifiedName(): [string | null, string] | null {
    const first = this.next();
    if (first === null) return null;
    const name1 = first.startsWith('\u0001') ? first.slice(1) : first;
    if (this.peek() === '.') {
      this.next();
      const second = this.next();
      if (second === null) return null;
      return [name1, second.startsWith('\u0001') ? second.slice(1) : second];
    }
    return [null, name1];
  }

  rest(): string {
    return this.s.slice(this.i);
  }
}

/** Classifies one QUERY event statement; `defaultDb` is the event's current database. */
export function classifyQuery(sql: string, defaultDb: string): QueryInfo {
  const t = new Tokens(stripComments(sql));
  const first = t.peekWord();
  const qualify = (n: [string | null, string]) => ({ db: n[0] ?? defaultDb, table: n[1] });
  switch (first) {
    case 'BEGIN':
      return { kind: 'begin' };
    case 'START':
      return { kind: 'begin' };
    case 'COMMIT':
      return { kind: 'commit' };
    case 'ROLLBACK': {
      t.next();
      t.accept('WORK');
      return t.peekWord() === 'TO' ? { kind: 'savepoint' } : { kind: 'rollback' };
    }
    case 'SAVEPOINT':
    case 'RELEASE':
      return { kind: 'savepoint' };
    case 'XA':
      return { kind: 'xa' };
    case 'INSERT':
    case 'UPDATE':
    case 'DELETE':
    case 'REPLACE':
    case 'LOAD':
      return { kind: 'dml' };
    case 'TRUNCATE': {
      t.next();
      t.accept('TABLE');
      const n = t.qualifiedName();
      return n ? { kind: 'table', actions: [{ action: 'truncate', ...qualify(n) }] } : { kind: 'other' };
    }
    case 'RENAME': {
      t.next();
      if (!t.accept('TABLE', 'TABLES')) return { kind: 'other' };
      const actions: TableAction[] = [];
      for (;;) {
        t.accept('IF');
        t.accept('EXISTS');
        const from = t.qualifiedName();
        if (!from) break;
        t.accept('WAIT', 'NOWAIT');
        if (t.peekWord() === 'WAIT') {
          t.next();
          t.next();
        }
        if (!t.accept('TO')) break;
        const to = t.qualifiedName();
        if (!to) break;
        const a = qualify(from);
        const b = qualify(to);
        actions.push({ action: 'rename', db: a.db, table: a.table, toDb: b.db, toTable: b.table });
        if (t.peek() !== ',') break;
        t.next();
      }
      return actions.length ? { kind: 'table', actions } : { kind: 'other' };
    }
    case 'CREATE':
    case 'ALTER':
    case 'DROP':
      break;
    default:
      return { kind: 'other' };
  }
  const verb = first;
  t.next();
  if (verb === 'CREATE' && t.accept('OR')) t.accept('REPLACE');
  // Modifiers that may stand between the verb and the object kind
  while (t.accept('ONLINE', 'OFFLINE', 'IGNORE', 'TEMPORARY', 'UNIQUE', 'FULLTEXT', 'SPATIAL')) {
    /* skip */
  }
  const object = t.peekWord();
  if (object === 'DATABASE' || object === 'SCHEMA') {
    t.next();
    t.accept('IF');
    t.accept('NOT');
    t.accept('EXISTS');
    const n = t.qualifiedName();
    const db = n ? n[1] : defaultDb;
    return { kind: 'database', action: verb === 'CREATE' ? 'create' : verb === 'DROP' ? 'drop' : 'alter', db };
  }
  if (object === 'INDEX' || object === 'KEY') {
    // CREATE INDEX i ON t (...), DROP INDEX i ON t
    const rest = t.rest();
    const m = /\bON\s+((?:`(?:[^`]|``)+`|[A-Za-z0-9_$\u0080-\uffff]+)(?:\s*\.\s*(?:`(?:[^`]|``)+`|[A-Za-z0-9_$\u0080-\uffff]+))?)/i.exec(rest);
    if (!m) return { kind: 'other' };
    const n = new Tokens(m[1]!).qualifiedName();
    return n ? { kind: 'table', actions: [{ action: 'alter', ...qualify(n) }] } : { kind: 'other' };
  }
  if (object !== 'TABLE' && object !== 'TABLES') return { kind: 'other' };
  t.next();
  t.accept('IF');
  t.accept('NOT');
  t.accept('EXISTS');
  if (verb === 'DROP') {
    const actions: TableAction[] = [];
    for (;;) {
      const n = t.qualifiedName();
      if (!n) break;
      actions.push({ action: 'drop', ...qualify(n) });
      if (t.peek() !== ',') break;
      t.next();
    }
    return actions.length ? { kind: 'table', actions } : { kind: 'other' };
  }
  const n = t.qualifiedName();
  if (!n) return { kind: 'other' };
  const target = qualify(n);
  if (verb === 'CREATE') return { kind: 'table', actions: [{ action: 'create', ...target }] };
  // ALTER TABLE t ... [RENAME [TO|AS] u]
  const rest = t.rest();
  const rename =
    /(?:^|,)\s*RENAME\s+(?:TO\s+|AS\s+)?(?!COLUMN\b|INDEX\b|KEY\b)((?:`(?:[^`]|``)+`|[A-Za-z0-9_$\u0080-\uffff]+)(?:\s*\.\s*(?:`(?:[^`]|``)+`|[A-Za-z0-9_$\u0080-\uffff]+))?)/i.exec(
      rest,
    );
  if (rename) {
    const to = new Tokens(rename[1]!).qualifiedName();
    if (to) {
      const b = qualify(to);
      return { kind: 'table', actions: [{ action: 'rename', ...target, toDb: b.db, toTable: b.table }] };
    }
  }
  return { kind: 'table', actions: [{ action: 'alter', ...target }] };
}
