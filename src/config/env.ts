/**
 * `${ENV_VAR}` substitution in config values (strings only, never keys).
 *
 *   ${NAME}            the variable; a ConfigError problem when it is not set
 *   ${NAME:-fallback}  the variable, or `fallback` when it is unset or empty (as in a POSIX shell)
 *   ${env:NAME}        Kafka Connect's EnvVarConfigProvider syntax, same as ${NAME}
 *   $${...}            a literal `${...}`
 * Other Kafka Connect config providers (`${file:...}`, `${directory:...}`...) are not supported: a problem.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export interface SubstitutionProblem {
  /** Path of the value, as segments (see `formatPath`). */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

const PLACEHOLDER = /\$(\$?)\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function substituteString(value: string, env: Env, path: readonly (string | number)[], problems: SubstitutionProblem[]): string {
  if (!value.includes('${')) return value;
  return value.replace(PLACEHOLDER, (whole, escape: string, body: string) => {
    if (escape === '$') return whole.slice(1);
    let name = body;
    let fallback: string | undefined;
    const dash = body.indexOf(':-');
    if (dash >= 0) {
      name = body.slice(0, dash);
      fallback = body.slice(dash + 2);
    } else if (body.startsWith('env:')) {
      name = body.slice(4);
    } else if (/^[A-Za-z][\w.-]*:/.test(body)) {
      const provider = body.slice(0, body.indexOf(':'));
      problems.push({
        path,
        message: `uses Kafka Connect's \${${provider}:...} config provider, which Sluice does not support; use \${ENV_VAR} instead`,
      });
      return '';
    }
    if (!NAME.test(name)) {
      problems.push({ path, message: `has an invalid placeholder \${${body}} (expected \${ENV_VAR} or \${ENV_VAR:-default})` });
      return '';
    }
    const found = env[name];
    if (found !== undefined && (fallback === undefined || found !== '')) return found;
    if (fallback !== undefined) return fallback;
    problems.push({ path, message: `environment variable ${name} is not set` });
    return '';
  });
}

/** A copy of `tree` with every placeholder replaced; problems are appended to `problems`. */
export function substituteEnv(
  tree: unknown,
  env: Env,
  problems: SubstitutionProblem[],
  path: readonly (string | number)[] = [],
): unknown {
  if (typeof tree === 'string') return substituteString(tree, env, path, problems);
  if (Array.isArray(tree)) return tree.map((item, i) => substituteEnv(item, env, problems, [...path, i]));
  if (tree !== null && typeof tree === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(tree)) out[k] = substituteEnv(v, env, problems, [...path, k]);
    return out;
  }
  return tree;
}
