import type { Writable } from 'node:stream';
import type { SourceOffset } from '../events/change-event.js';
import { SluiceError } from '../errors.js';
import type { LocalOffsetStore } from '../offsets/file-offset-store.js';
import type { SerializedRecord, Sink } from './sink.js';

/**
 * The line format shared by the stdout and file sinks — one record per line, UTF-8:
 *
 *   {"topic":"shop.public.orders","key":{...},"value":{...}}
 *
 * `key` / `value` hold the converter's bytes as they would go to Kafka. With the JSON converter (the default)
 * those bytes are a JSON document and are embedded as is (with `schemas.enable` it is `{"schema":…,"payload":…}`,
 * as Kafka Connect writes it); a tombstone's value is `null`. Bytes that are not JSON text (the Avro converter's
 * Confluent wire format) are written as base64 in `key_base64` / `value_base64` instead. `headers` appears when
 * the record has headers; `timestamp` (ms) when the event set one.
 */
export function formatRecordLine(record: SerializedRecord): string {
  let line = `{"topic":${JSON.stringify(record.topic)}`;
  line += field('key', record.key);
  line += field('value', record.value);
  if (record.headers && Object.keys(record.headers).length > 0) line += `,"headers":${JSON.stringify(record.headers)}`;
  if (record.timestampMs !== undefined) line += `,"timestamp":${record.timestampMs}`;
  return `${line}}\n`;
}

function field(name: 'key' | 'value', bytes: Buffer | null): string {
  if (bytes === null) return `,"${name}":null`;
  const json = asJsonText(bytes);
  return json === null ? `,"${name}_base64":${JSON.stringify(bytes.toString('base64'))}` : `,"${name}":${json}`;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The bytes as one-line JSON text, or null when they are not UTF-8 JSON. Never re-serializes (int64 stays exact). */
function asJsonText(bytes: Buffer): string | null {
  if (bytes.length === 0) return null;
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return null;
  }
  try {
    JSON.parse(text);
  } catch {
    return null;
  }
  // Raw CR/LF can only be whitespace between JSON tokens (inside strings they are escaped): flatten to one line.
  return /[\r\n]/.test(text) ? text.replace(/[\r\n]+/g, ' ') : text;
}

export interface StdoutSinkOptions {
  readonly connector: string;
  /** A FileOffsetStore (offsets survive restarts) or a MemoryOffsetStore (each start is a fresh start). */
  readonly offsets: LocalOffsetStore;
  /** Defaults to process.stdout. */
  readonly out?: Writable;
}

/** Resolves once `chunk` was handed to the OS (or rejects with the stream's error). */
export function writeChunk(out: Writable, chunk: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    out.once('error', onError);
    out.write(chunk, (err) => {
      out.off('error', onError);
      if (err) reject(err);
      else resolve();
    });
  });
}

/**
 * Writes each commit cycle's records to stdout as JSON lines, then stores the offset.
 * Delivery is at-least-once: a crash after the lines are written and before the offset is stored replays that
 * cycle on the next start, and what went to stdout cannot be taken back.
 */
export class StdoutSink implements Sink {
  private readonly out: Writable;

  constructor(private readonly o: StdoutSinkOptions) {
    this.out = o.out ?? process.stdout;
  }

  async open(): Promise<SourceOffset | null> {
    return this.o.offsets.get(this.o.connector);
  }

  async commit(records: readonly SerializedRecord[], offset: SourceOffset): Promise<void> {
    if (records.length > 0) {
      let chunk = '';
      for (const r of records) chunk += formatRecordLine(r);
      try {
        await writeChunk(this.out, chunk);
      } catch (err) {
        // a closed pipe (`sluice run … | head`) will not come back: not retriable
        throw new SluiceError(`cannot write to stdout: ${(err as Error).message}`, { cause: err, context: { connector: this.o.connector } });
      }
    }
    await this.o.offsets.set(this.o.connector, offset);
  }

  async close(): Promise<void> {
    // stdout belongs to the process; nothing to close
  }
}

export function createStdoutSink(options: StdoutSinkOptions): Sink {
  return new StdoutSink(options);
}
