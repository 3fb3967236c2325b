import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { redactConfig } from '../observability/logger.js';

export type PathSegment = string | number;

/** `['connectors', 0, 'config', 'snapshot.mode']` → `connectors[0].config.snapshot.mode` */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

/** One thing wrong with a config file: where (file + field path) and what. */
export interface ConfigProblem {
  readonly file: string;
  readonly path: readonly PathSegment[];
  readonly message: string;
}

export function describeProblem(p: ConfigProblem): string {
  const where = formatPath(p.path);
  return where === '' ? `${p.file}: ${p.message}` : `${p.file}: ${where}: ${p.message}`;
}

/** The ConfigError thrown by the loader; `problems` lists every problem found, in file order. */
export class ConfigProblemsError extends ConfigError {
  readonly problems: readonly string[];
  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map(describeProblem);
    super(
      lines.length === 1
        ? `invalid configuration: ${lines[0]}`
        : `invalid configuration (${lines.length} problems):\n${lines.map((l) => `  - ${l}`).join('\n')}`,
      { context: { problems: lines } },
    );
    this.problems = lines;
  }
}

function lastKey(path: readonly PathSegment[]): string {
  for (let i = path.length - 1; i >= 0; i--) {
    const s = path[i];
    if (typeof s === 'string') return s;
  }
  return '';
}

/** A value is shown in a message only when it is short, scalar and its key does not look secret. */
function shown(key: string, input: unknown): string | undefined {
  if (typeof input !== 'string' && typeof input !== 'number' && typeof input !== 'boolean') return undefined;
  if (redactConfig({ [key]: input })[key] !== input) return undefined;
  const text = JSON.stringify(input);
  return text.length > 80 ? undefined : text;
}

function describeType(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a map';
  return `a ${typeof input}`;
}

/** Turns one zod issue into a sentence that follows a field path. */
export function issueMessage(issue: z.core.$ZodIssue, path: readonly PathSegment[]): string {
  const hasInput = 'input' in issue && issue.input !== undefined;
  const input = hasInput ? (issue as { input?: unknown }).input : undefined;
  const got = hasInput ? shown(lastKey(path), input) : undefined;
  const suffix = got === undefined ? '' : ` (got ${got})`;
  switch (issue.code) {
    case 'invalid_type':
      if (!hasInput) return 'is required';
      if (/^[a-z]/.test(issue.message)) return issue.message + suffix;
      return `must be ${issue.expected === 'object' ? 'a map' : `a ${issue.expected}`} (got ${describeType(input)})`;
    case 'invalid_value':
      return `must be one of: ${issue.values.map((v) => String(v)).join(', ')}${suffix}`;
    default:
      return (/^[a-z]/.test(issue.message) ? issue.message : issue.message.charAt(0).toLowerCase() + issue.message.slice(1)) + suffix;
  }
}
