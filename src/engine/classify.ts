import { SluiceError } from '../errors.js';

/** Socket and DNS failures that a reconnect can cure. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH',
  'ENETDOWN', 'EAI_AGAIN', 'ENOTFOUND', 'ESOCKETTIMEDOUT', 'PROTOCOL_CONNECTION_LOST',
]);

/** librdkafka error types (as the Confluent client names them) meaning "the broker could not be reached". */
const KAFKA_TRANSPORT_TYPES = new Set([
  'ERR__TRANSPORT', 'ERR__ALL_BROKERS_DOWN', 'ERR__TIMED_OUT', 'ERR__MSG_TIMED_OUT', 'ERR__RESOLVE',
  'ERR_REQUEST_TIMED_OUT', 'ERR_NOT_COORDINATOR', 'ERR_COORDINATOR_NOT_AVAILABLE', 'ERR_COORDINATOR_LOAD_IN_PROGRESS',
]);
const KAFKA_TRANSPORT_CODES = new Set([-195, -187, -185, -192, -193, 7, 14, 15, 16]);
const KAFKA_FENCED_TYPES = new Set(['ERR__FENCED', 'ERR_PRODUCER_FENCED', 'ERR_TRANSACTION_COORDINATOR_FENCED', 'ERR__FATAL']);
const RETRIABLE_NAMES = new Set(['KafkaJSConnectionError', 'KafkaJSRequestTimeoutError', 'KafkaJSNoBrokerAvailableError']);
const TRANSPORT_MESSAGES = /broker transport failure|all broker connections are down|connection terminated unexpectedly|socket hang up/i;

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  type?: unknown;
  retriable?: unknown;
  fatal?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
}

function verdict(err: unknown, depth: number, seen: Set<unknown>): boolean | undefined {
  if (err === null || typeof err !== 'object' || depth > 6 || seen.has(err)) return undefined;
  seen.add(err);
  // Sluice's own errors say it themselves: ConfigError, PrerequisiteError, SchemaEvolutionError, FencedError... are not.
  if (err instanceof SluiceError) return err.retriable;
  const e = err as ErrorLike;
  if (e.fatal === true) return false;
  if (typeof e.type === 'string' && KAFKA_FENCED_TYPES.has(e.type)) return false;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (typeof e.type === 'string' && KAFKA_TRANSPORT_TYPES.has(e.type)) return true;
  if (typeof e.code === 'number' && KAFKA_TRANSPORT_CODES.has(e.code) && typeof e.name === 'string' && e.name.startsWith('KafkaJS')) return true;
  if (typeof e.name === 'string' && RETRIABLE_NAMES.has(e.name)) return true;
  if (e.retriable === true) return true;
  if (typeof e.message === 'string' && TRANSPORT_MESSAGES.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.length > 0) {
    const all = e.errors.map((x) => verdict(x, depth + 1, seen));
    if (all.every((v) => v === true)) return true;
  }
  return verdict(e.cause, depth + 1, seen);
}

/**
 * Whether restarting the connector can help: SluiceError.retriable, socket errors (ECONNREFUSED, ECONNRESET...),
 * Kafka transport errors. Anything else — including unknown errors, which are bugs until proven otherwise — stops
 * the connector with status `failed`.
 */
export function isRetriable(err: unknown): boolean {
  return verdict(err, 0, new Set()) ?? false;
}

/** `ConnectionLostError: lost the replication connection (caused by: ECONNRESET read ECONNRESET)` */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  let text = `${err.name}: ${err.message}`;
  let cause: unknown = err.cause;
  for (let i = 0; i < 3 && cause instanceof Error; i++) {
    const code = (cause as ErrorLike).code;
    text += ` (caused by: ${typeof code === 'string' ? `${code} ` : ''}${cause.message})`;
    cause = cause.cause;
  }
  return text;
}
