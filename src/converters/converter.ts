import type { ChangeEvent } from '../events/change-event.js';
import type { ConnectSchema } from '../events/schema.js';

/**
 * Converters turn a ChangeEvent's key and value (Connect schema + value) into the bytes written to Kafka, as Kafka
 * Connect's `key.converter` / `value.converter` do. The engine calls `serializeKey` and `serializeValue` for every
 * record; both return null for a null key or a tombstone. Schema translation and registration are cached per schema
 * object, so the per-record cost is the encoding alone.
 *
 * Implementations: JSON (json.ts, Kafka's JsonConverter) and Avro with a Confluent Schema Registry (avro.ts,
 * Confluent's AvroConverter). `createConverter` (factory.ts) builds the pair from a connector config.
 */
export interface Converter {
  serializeKey(event: ChangeEvent): Promise<Buffer | null>;
  serializeValue(event: ChangeEvent): Promise<Buffer | null>;
}

/** One side of a converter (key or value), like Kafka Connect's Converter.fromConnectData. */
export interface DataConverter {
  fromConnectData(topic: string, schema: ConnectSchema | null, value: unknown): Promise<Buffer | null>;
}

/** A key converter and a value converter combined into the engine's Converter. */
export class KeyValueConverter implements Converter {
  constructor(
    readonly key: DataConverter,
    readonly value: DataConverter,
  ) {}

  serializeKey(event: ChangeEvent): Promise<Buffer | null> {
    return this.key.fromConnectData(event.topic, event.keySchema, event.key);
  }

  serializeValue(event: ChangeEvent): Promise<Buffer | null> {
    return this.value.fromConnectData(event.topic, event.valueSchema, event.value);
  }
}
