import type { PathSegment } from './problems.js';

export interface FlattenProblem {
  readonly path: readonly PathSegment[];
  readonly message: string;
}

/** Where problems go (an array works). */
export interface ProblemSink {
  push(problem: FlattenProblem): unknown;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);
}

/**
 * Nested YAML maps → Debezium's dotted keys: `{database: {hostname: h}}` → `{'database.hostname': h}`.
 * Lists and scalars are leaves. Two spellings of one key (`snapshot.mode` and `snapshot: {mode}`) are a problem.
 * A YAML date (`2024-01-01` unquoted) becomes its ISO text.
 */
export function flattenConfig(
  tree: Record<string, unknown>,
  problems: ProblemSink,
  basePath: readonly PathSegment[] = [],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const visit = (node: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(node)) {
      const key = prefix === '' ? k : `${prefix}.${k}`;
      if (isMap(v)) {
        visit(v, key);
        continue;
      }
      if (Object.hasOwn(out, key)) {
        problems.push({ path: [...basePath, key], message: 'is set twice (once as a dotted key, once nested); keep one' });
        continue;
      }
      out[key] = v instanceof Date ? v.toISOString() : v;
    }
  };
  visit(tree, '');
  return out;
}

export { isMap };
