import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { SourceOffset } from '../events/change-event.js';
import { fsyncDirectory, type LocalOffsetStore } from '../offsets/file-offset-store.js';
import type { SerializedRecord, Sink } from './sink.js';
import { formatRecordLine } from './stdout-sink.js';

/**
 * One open append handle per file, shared by every connector of this process that writes to it, so commits of
 * different connectors never interleave inside a cycle (each commit appends whole lines under a per-file lock).
 */
interface SharedFile {
  handle: FileHandle;
  refs: number;
  chain: Promise<unknown>;
}
const openFiles = new Map<string, Promise<SharedFile>>();

async function acquire(path: string): Promise<SharedFile> {
  let pending = openFiles.get(path);
  if (!pending) {
    pending = (async () => {
      await mkdir(dirname(path), { recursive: true });
      const handle = await open(path, 'a', 0o644);
      await fsyncDirectory(dirname(path)); // the file's creation is durable too
      return { handle, refs: 0, chain: Promise.resolve() };
    })();
    openFiles.set(path, pending);
    pending.catch(() => openFiles.delete(path));
  }
  const shared = await pending;
  shared.refs += 1;
  return shared;
}

async function release(path: string, shared: SharedFile): Promise<void> {
  shared.refs -= 1;
  if (shared.refs > 0) return;
  openFiles.delete(path);
  await shared.chain.catch(() => undefined);
  await shared.handle.close();
}

export interface FileSinkOptions {
  readonly connector: string;
  readonly path: string;
  readonly offsets: LocalOffsetStore;
}

/**
 * Appends each commit cycle's records to a file as JSON lines (the stdout sink's format), fsyncs the file, and
 * only then stores the offset (atomically, in the offset store). At-least-once: a crash between the fsync and
 * the offset write replays that cycle on the next start, so the file may hold it twice.
 */
export class FileSink implements Sink {
  readonly path: string;
  private shared: SharedFile | null = null;

  constructor(private readonly o: FileSinkOptions) {
    this.path = resolve(o.path);
  }

  async open(): Promise<SourceOffset | null> {
    const offset = await this.o.offsets.get(this.o.connector);
    this.shared ??= await acquire(this.path);
    return offset;
  }

  async commit(records: readonly SerializedRecord[], offset: SourceOffset): Promise<void> {
    const shared = this.shared;
    if (!shared) throw new Error('FileSink.commit before open');
    if (records.length > 0) {
      let chunk = '';
      for (const r of records) chunk += formatRecordLine(r);
      const buffer = Buffer.from(chunk, 'utf8');
      const append = async () => {
        const { size } = await shared.handle.stat();
        try {
          let written = 0;
          while (written < buffer.length) {
            const { bytesWritten } = await shared.handle.write(buffer, written, buffer.length - written);
            written += bytesWritten;
          }
          await shared.handle.sync();
        } catch (err) {
          // leave no half-written line behind: the cycle is not committed and will be written again
          await shared.handle.truncate(size).catch(() => undefined);
          throw err;
        }
      };
      const run = shared.chain.then(append, append);
      shared.chain = run.catch(() => undefined);
      await run;
    }
    await this.o.offsets.set(this.o.connector, offset);
  }

  async close(): Promise<void> {
    const shared = this.shared;
    this.shared = null;
    if (shared) await release(this.path, shared);
  }
}

export function createFileSink(options: FileSinkOptions): Sink {
  return new FileSink(options);
}
