import { ConfigError } from '../errors.js';

/**
 * Debezium's `*.include.list` / `*.exclude.list` semantics: each entry is a regular expression that must match the
 * whole identifier (anchored at both ends), case-insensitively. Null for an absent or empty list.
 */
export function compileRegexList(patterns: readonly string[] | undefined | null, property: string): RegExp[] | null {
  if (!patterns || patterns.length === 0) return null;
  return patterns.map((p) => {
    try {
      return new RegExp(`^(?:${p})$`, 'i');
    } catch (cause) {
      throw new ConfigError(`${property}: ${JSON.stringify(p)} is not a valid regular expression`, { cause });
    }
  });
}
