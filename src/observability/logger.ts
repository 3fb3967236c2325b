import { pino, type Logger } from 'pino';

/**
 * The process logger. JSON lines on stderr (stdout is reserved for the stdout sink's envelopes).
 * Secrets never reach it: config objects are logged only through `redactConfig`.
 */
export const logger: Logger = pino(
  {
    name: 'sluice',
    level: process.env.SLUICE_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info',
    redact: {
      paths: ['*.password', '*["database.password"]', '*["sasl.password"]', '*["ssl.key.password"]', 'password'],
      censor: '***',
    },
  },
  pino.destination({ fd: 2, sync: false }),
);

export type { Logger };

const SECRET_KEY = /(password|secret|token|credentials|sasl\.jaas|key\.password|basic\.auth\.user\.info)/i;

/** A copy of a flat config with every secret-looking value replaced, safe to log or print. */
export function redactConfig(config: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) out[k] = SECRET_KEY.test(k) && v !== undefined && v !== '' ? '***' : v;
  return out;
}
