import { ConfigError, ConnectionLostError, SluiceError } from '../errors.js';

/**
 * A small client for the Confluent Schema Registry REST API (the calls the Avro converter needs), on Node's fetch.
 * Several base URLs may be given (`schema.registry.url` is a comma-separated list); a request that cannot reach one
 * tries the next.
 *
 * Failures: unreachable registry or HTTP 5xx → ConnectionLostError (retriable); 401/403 → ConfigError; any other
 * error answer → SchemaRegistryHttpError carrying the HTTP status, Confluent's error_code and message (the
 * converter turns 409/422 into a SchemaEvolutionError).
 */

export interface SchemaRegistryClientOptions {
  /** one or more base URLs, e.g. 'http://localhost:8081' or 'http://a:8081,http://b:8081' */
  readonly url: string | readonly string[];
  /** basic.auth.user.info, 'user:password' */
  readonly basicAuthUserInfo?: string;
  readonly timeoutMs?: number;
}

export class SchemaRegistryHttpError extends SluiceError {
  readonly status: number;
  readonly errorCode: number | null;
  readonly registryMessage: string;

  constructor(method: string, url: string, status: number, errorCode: number | null, registryMessage: string) {
    super(`Schema Registry answered ${status}${errorCode === null ? '' : ` (error_code ${errorCode})`} to ${method} ${url}: ${registryMessage}`, {
      context: { url, status, errorCode },
    });
    this.status = status;
    this.errorCode = errorCode;
    this.registryMessage = registryMessage;
  }
}

export interface RegisteredSchema {
  readonly subject: string;
  readonly id: number;
  readonly version: number;
  readonly schema: string;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export class SchemaRegistryClient {
  readonly urls: readonly string[];
  private readonly authorization: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: SchemaRegistryClientOptions) {
    const list = typeof options.url === 'string' ? options.url.split(',') : options.url;
    this.urls = list.map((u) => u.trim().replace(/\/+$/, '')).filter((u) => u.length > 0);
    if (this.urls.length === 0) throw new ConfigError('schema.registry.url is empty: set it to the Schema Registry base URL, e.g. http://localhost:8081');
    this.authorization =
      options.basicAuthUserInfo !== undefined && options.basicAuthUserInfo.length > 0
        ? `Basic ${Buffer.from(options.basicAuthUserInfo, 'utf8').toString('base64')}`
        : undefined;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** POST /subjects/{subject}/versions → the schema's global id (registers a new version if needed). */
  async register(subject: string, schema: string): Promise<number> {
    const body = await this.request<{ id: number }>('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schema });
    return body.id;
  }

  /** POST /subjects/{subject}: the registration of exactly this schema under the subject, or null. */
  async lookup(subject: string, schema: string): Promise<RegisteredSchema | null> {
    try {
      return await this.request<RegisteredSchema>('POST', `/subjects/${encodeURIComponent(subject)}`, { schema });
    } catch (error) {
      if (error instanceof SchemaRegistryHttpError && error.status === 404) return null;
      throw error;
    }
  }

  /** GET /schemas/ids/{id} → the schema text. */
  async schemaById(id: number): Promise<string> {
    const body = await this.request<{ schema: string }>('GET', `/schemas/ids/${id}`);
    return body.schema;
  }

  /** GET /subjects/{subject}/versions/latest, or null when the subject has no schema. */
  async latest(subject: string): Promise<RegisteredSchema | null> {
    try {
      return await this.request<RegisteredSchema>('GET', `/subjects/${encodeURIComponent(subject)}/versions/latest`);
    } catch (error) {
      if (error instanceof SchemaRegistryHttpError && error.status === 404) return null;
      throw error;
    }
  }

  /** The compatibility level that applies to a subject (its own, else the global one). */
  async compatibilityLevel(subject: string): Promise<string> {
    try {
      const own = await this.request<{ compatibilityLevel?: string; compatibility?: string }>(
        'GET',
        `/config/${encodeURIComponent(subject)}?defaultToGlobal=true`,
      );
      const level = own.compatibilityLevel ?? own.compatibility;
      if (level) return level;
    } catch (error) {
      if (!(error instanceof SchemaRegistryHttpError && error.status === 404)) throw error;
    }
    const global = await this.request<{ compatibilityLevel?: string; compatibility?: string }>('GET', '/config');
    return global.compatibilityLevel ?? global.compatibility ?? 'BACKWARD';
  }

  /** POST /compatibility/subjects/{subject}/versions/latest?verbose=true → the registry's own explanation. */
  async compatibilityMessages(subject: string, schema: string): Promise<string[]> {
    const body = await this.request<{ is_compatible: boolean; messages?: unknown[] }>(
      'POST',
      `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest?verbose=true`,
      { schema },
    );
    return (body.messages ?? []).map((m) => (typeof m === 'string' ? m : JSON.stringify(m)));
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let lastError: unknown;
    for (const base of this.urls) {
      const url = `${base}${path}`;
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers: {
            accept: `${CONTENT_TYPE}, application/json`,
            ...(body === undefined ? {} : { 'content-type': CONTENT_TYPE }),
            ...(this.authorization ? { authorization: this.authorization } : {}),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (cause) {
        lastError = cause;
        continue;
      }
      const text = await response.text();
      if (response.ok) return JSON.parse(text) as T;
      let errorCode: number | null = null;
      let message = text;
      try {
        const parsed = JSON.parse(text) as { error_code?: number; message?: string };
        errorCode = typeof parsed.error_code === 'number' ? parsed.error_code : null;
        message = parsed.message ?? text;
      } catch {
        // not JSON: keep the text
      }
      if (response.status >= 500) {
        lastError = new SchemaRegistryHttpError(method, url, response.status, errorCode, message);
        continue;
      }
      if (response.status === 401 || response.status === 403) {
        throw new ConfigError(
          `the Schema Registry at ${base} refused the credentials (${response.status}): check basic.auth.user.info ` +
            `and basic.auth.credentials.source of the converter`,
          { context: { url } },
        );
      }
      throw new SchemaRegistryHttpError(method, url, response.status, errorCode, message);
    }
    throw new ConnectionLostError(
      `cannot reach the Schema Registry (${this.urls.join(', ')}) for ${method} ${path}: ${describeError(lastError)}`,
      { context: { urls: this.urls }, cause: lastError },
    );
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
