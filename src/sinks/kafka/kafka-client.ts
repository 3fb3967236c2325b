import { createRequire } from 'node:module';
import type * as RdKafkaTypes from '@confluentinc/kafka-javascript/types/rdkafka.js';
import { ConnectionLostError, FencedError, SluiceError } from '../../errors.js';

// The client is CommonJS with a native binding; load it once through require.
const require = createRequire(import.meta.url);
export const RdKafka = require('@confluentinc/kafka-javascript') as {
  Producer: typeof RdKafkaTypes.Producer;
  KafkaConsumer: typeof RdKafkaTypes.KafkaConsumer;
  AdminClient: typeof RdKafkaTypes.AdminClient;
  CODES: { ERRORS: Record<string, number> };
};
export type LibrdKafkaError = RdKafkaTypes.LibrdKafkaError;
export type { RdKafkaTypes };

/** librdkafka properties a user may pass through (security, timeouts...). */
export type ClientProperties = Record<string, string | number | boolean>;

export const ERR = {
  PARTITION_EOF: -191,
  QUEUE_FULL: -184,
  FENCED: -144,
  INVALID_PRODUCER_EPOCH: 47,
  PRODUCER_FENCED: 90,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
  TOPIC_ALREADY_EXISTS: 36,
} as const;

export function isFencing(err: unknown): boolean {
  const code = (err as { code?: number } | null)?.code;
  return code === ERR.FENCED || code === ERR.PRODUCER_FENCED || code === ERR.INVALID_PRODUCER_EPOCH;
}

/** Maps a librdkafka error to Sluice's typed errors: fencing stops the connector, everything else may be retried. */
export function toSluiceError(what: string, err: unknown, context: Record<string, unknown>): SluiceError {
  if (err instanceof SluiceError) return err;
  const e = err as Partial<LibrdKafkaError> | null;
  const detail = `${e?.message ?? String(err)}${e?.code === undefined ? '' : ` (librdkafka code ${e.code})`}`;
  if (isFencing(err)) {
    return new FencedError(
      `${what}: this instance was fenced — another instance of the connector started with the same transactional.id ` +
        `and took over. This instance stops without writing anything more. ${detail}`,
      { context, cause: err },
    );
  }
  const brokers = typeof context.bootstrapServers === 'string' ? ` (${context.bootstrapServers})` : '';
  return new ConnectionLostError(
    `${what} failed: ${detail}. Check that the brokers in bootstrap.servers${brokers} are reachable; the connector will retry.`,
    { context, cause: err },
  );
}

export function promisify0(fn: (cb: (err: LibrdKafkaError | null | undefined) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
}

export function createAdmin(bootstrapServers: string, extra: ClientProperties = {}): RdKafkaTypes.IAdminClient {
  return RdKafka.AdminClient.create({
    'bootstrap.servers': bootstrapServers,
    'client.id': 'sluice-admin',
    ...extra,
  } as RdKafkaTypes.GlobalConfig);
}

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly config?: Record<string, string>;
}

/** Creates a topic unless it exists. Brokers that do not take topic configs get the topic without them. */
export async function ensureTopic(admin: RdKafkaTypes.IAdminClient, spec: TopicSpec, timeoutMs = 10_000): Promise<void> {
  const create = (config?: Record<string, string>) =>
    promisify0((cb) =>
      admin.createTopic(
        {
          topic: spec.name,
          num_partitions: spec.partitions,
          replication_factor: spec.replicationFactor,
          ...(config ? { config: config as RdKafkaTypes.NewTopic['config'] } : {}),
        },
        timeoutMs,
        cb,
      ),
    );
  try {
    await create(spec.config);
  } catch (err) {
    if ((err as LibrdKafkaError).code === ERR.TOPIC_ALREADY_EXISTS) return;
    throw err;
  }
}
