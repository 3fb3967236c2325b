/** A real pino logger writing into memory, so tests can read what would have been logged. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../../src/observability/logger.js';

export interface CapturedLogger {
  readonly logger: Logger;
  /** Raw JSON lines written so far. */
  text(): string;
  records(): Array<Record<string, unknown>>;
}

export function captureLogger(level = 'trace'): CapturedLogger {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  // no pino-level redaction here: tests check that Sluice's own code keeps secrets out
  const logger = pino({ level }, stream);
  return {
    logger,
    text: () => lines.join(''),
    records: () =>
      lines
        .join('')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
