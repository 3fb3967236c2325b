/**
 * A JSON parser for tests that keeps integers exact: every integer literal becomes a bigint, every other number a
 * number. JSON.parse would silently round int64 values beyond 2^53, which is exactly what the tests must catch.
 */
export type Exact = null | boolean | bigint | number | string | Exact[] | { [key: string]: Exact };

export function parseExactJson(text: string): Exact {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at ${i}: ${text.slice(Math.max(0, i - 20), i + 20)}`);
  };
  const value = (): Exact => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const out: { [key: string]: Exact } = {};
      ws();
      if (text[i] === '}') {
        i++;
        return out;
      }
      for (;;) {
        ws();
        const key = value();
        if (typeof key !== 'string') fail('object key');
        ws();
        if (text[i++] !== ':') fail('expected :');
        out[key as string] = value();
        ws();
        const sep = text[i++];
        if (sep === '}') return out;
        if (sep !== ',') fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const out: Exact[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return out;
      }
      for (;;) {
        out.push(value());
        ws();
        const sep = text[i++];
        if (sep === ']') return out;
        if (sep !== ',') fail('expected , or ]');
      }
    }
    if (c === '"') {
      const start = i;
      i++;
      while (text[i] !== '"') {
        if (text[i] === '\\') i++;
        i++;
        if (i >= text.length) fail('unterminated string');
      }
      i++;
      return JSON.parse(text.slice(start, i)) as string;
    }
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) return fail('unexpected token');
    i += m[0].length;
    return m[1] === undefined && m[2] === undefined ? BigInt(m[0]) : Number(m[0]);
  };
  const result = value();
  ws();
  if (i !== text.length) fail('trailing text');
  return result;
}

/** Pretty JSON text of an exact value (bigints as plain integers), for golden files. */
export function stringifyExact(value: Exact, indent = 2, level = 0): string {
  const pad = ' '.repeat(indent * (level + 1));
  const end = ' '.repeat(indent * level);
  if (value === null) return 'null';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => pad + stringifyExact(v, indent, level + 1)).join(',\n')}\n${end}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${pad}${JSON.stringify(k)}: ${stringifyExact(v, indent, level + 1)}`).join(',\n')}\n${end}}`;
}
